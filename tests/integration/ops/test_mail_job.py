"""The real e-mail sender as a job of two runners: every message reaches the SMTP server once,
including after the runner that held the job is killed and the other takes over."""

from __future__ import annotations

import socket
from collections import Counter

from aiosmtpd.controller import Controller

from ecp.mail.outbox import queue_email
from ecp.mail.tables import OutboxEmail
from ecp.ops.jobs import Job, JobRunner, send_mail
from tests.manual_clock import ManualClock


class Collector:
    def __init__(self) -> None:
        self.ids: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        for line in envelope.content.decode("utf-8", "replace").splitlines():
            if line.lower().startswith("message-id:"):
                self.ids.append(line.split(":", 1)[1].strip())
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _wait_sent(mc: ManualClock, n: int, within: float) -> None:
    """Clock time passes, tick by tick, until n messages are sent (each tick's SMTP talk is
    over before the next: see ManualClock)."""
    end = mc.monotonic() + within
    while await OutboxEmail.count().where(OutboxEmail.status == "envoye") < n:
        assert mc.monotonic() < end, "messages not delivered in time"
        await mc.advance(0.1)


async def test_each_message_is_sent_once_across_two_runners_and_a_crash(settings):
    collector = Collector()
    port = _free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    smtp = settings.with_(smtp_host="127.0.0.1", smtp_port=port)
    mc = ManualClock()
    runners = [
        JobRunner(smtp, [Job("mail", 0.3, send_mail)], holder=h, tick=0.1, ttl=1.0, clock=mc)
        for h in ("A", "B")
    ]
    try:
        for i in range(15):
            await queue_email(to=f"parent{i}@example.org", subject="Reçu", text="Merci.")
        for runner in runners:
            await runner.start()
            mc.watch(runner.task)
            await mc.settle()
        await _wait_sent(mc, 15, 20)
        holder = next(r for r in runners if "mail" in r.held)
        other = next(r for r in runners if r is not holder)
        await holder.stop(release=False)  # dies holding the lease
        for i in range(15, 30):
            await queue_email(to=f"parent{i}@example.org", subject="Reçu", text="Merci.")
        await _wait_sent(mc, 30, 20)
        assert "mail" in other.held
    finally:
        for runner in runners:
            await runner.stop()
        controller.stop()
    counts = Counter(collector.ids)
    assert len(counts) == 30
    assert max(counts.values()) == 1, "an e-mail was sent twice"
