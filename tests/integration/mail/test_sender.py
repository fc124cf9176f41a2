"""Delivery over a real SMTP server (aiosmtpd) that refuses connections for a while."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket

from aiosmtpd.controller import Controller

from ecp import clock
from ecp.mail.outbox import queue_email
from ecp.mail.sender import backoff, deliver_due
from ecp.mail.tables import OutboxEmail


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


class Refusing:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "550 Aucune boîte à ce nom"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(settings, port):
    return settings.with_(smtp_host="127.0.0.1", smtp_port=port)


async def _queue(n):
    for i in range(n):
        await queue_email(
            to=f"parent{i}@example.org",
            subject=f"Message {i}",
            text=f"Bonjour {i}",
            html=f"<p>Bonjour {i}</p>",
            kind="test",
        )


async def test_messages_wait_while_the_server_is_down_then_arrive_once(settings):
    start = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
    port = _free_port()
    smtp = _settings(settings, port)
    with clock.frozen(start):
        await _queue(5)
        assert await deliver_due(smtp) == 0  # nothing listens: connection refused
    rows = await OutboxEmail.select().order_by(OutboxEmail.id)
    assert {r["status"] for r in rows} == {"en_attente"}
    assert all(r["attempts"] == 1 and "injoignable" in r["last_error"] for r in rows)
    assert all(r["next_attempt_at"] == start + backoff(1) for r in rows)
    with clock.frozen(start + dt.timedelta(seconds=90)):
        assert await deliver_due(smtp) == 0  # second failure, back-off doubles
    assert {r["attempts"] for r in await OutboxEmail.select(OutboxEmail.attempts)} == {2}
    assert backoff(2) == 2 * backoff(1) and backoff(30) == dt.timedelta(hours=1)

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with clock.frozen(start + dt.timedelta(seconds=100)):
            assert await deliver_due(smtp) == 0  # back-off not over yet
        with clock.frozen(start + dt.timedelta(minutes=10)):
            sent = await asyncio.gather(deliver_due(smtp), deliver_due(smtp), deliver_due(smtp))
            assert sum(sent) == 5
            assert await deliver_due(smtp) == 0
        # The server's handler stored each message before it answered 250: no wait needed.
        assert sorted(e.rcpt_tos[0] for e in inbox.messages) == [
            f"parent{i}@example.org" for i in range(5)
        ]
        first = inbox.messages[0].content.decode()
        assert "Message-ID: <ecp-outbox-" in first and "text/html" in first
    finally:
        controller.stop()
    rows = await OutboxEmail.select()
    assert {r["status"] for r in rows} == {"envoye"} and all(r["sent_at"] for r in rows)


async def test_one_call_delivers_more_than_one_batch(settings):
    port = _free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        await _queue(60)  # more than BATCH (50)
        assert await deliver_due(_settings(settings, port)) == 60
    finally:
        controller.stop()
    assert len(inbox.messages) == 60


async def test_permanent_refusal_is_marked_failed_not_retried(settings):
    port = _free_port()
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        await _queue(1)
        assert await deliver_due(_settings(settings, port)) == 0
    finally:
        controller.stop()
    row = await OutboxEmail.select().first()
    assert row["status"] == "echec" and "550" in row["last_error"]


async def test_without_smtp_host_messages_stay_in_the_outbox(settings):
    await _queue(2)
    assert await deliver_due(settings.with_(smtp_host=None)) == 0
    rows = await OutboxEmail.select()
    assert {r["status"] for r in rows} == {"en_attente"} and {r["attempts"] for r in rows} == {0}
