"""Plain-text e-mail parts carry the raw characters (« L'Hôte & Fils », not « L&#39;Hôte &amp;
Fils »); HTML parts stay escaped, so a name holding markup is never markup."""

from __future__ import annotations

import datetime as dt
import email
import socket
from email import policy

from aiosmtpd.controller import Controller

from ecp.mail.notices import queue_credit_note_notice, queue_invoice_notices, render_invoice_notice
from ecp.mail.sender import build_message, deliver_due
from ecp.mail.tables import OutboxEmail
from ecp.settings import Settings
from tests import factories

NAME = "L'Hôte & Fils <b>gras</b>"


def _invoice(**extra) -> dict:
    return {
        "family_name": NAME,
        "number": "FAC-2026-000007",
        "month": dt.date(2026, 11, 1),
        "total_cents": 4250,
        "due_on": dt.date(2026, 12, 31),
        "invoice_id": 7,
        **extra,
    }


def _parts(message) -> dict[str, str]:
    parsed = email.message_from_bytes(message.as_bytes(), policy=policy.default)
    return {part.get_content_type(): part.get_content() for part in parsed.iter_parts()}


def test_text_part_has_raw_characters_and_html_part_is_escaped():
    settings = Settings(base_url="https://portail.example.fr", commune_name="Saint-Jean & Co")
    subject, text, html = render_invoice_notice(_invoice(), settings)
    assert NAME in text and "Saint-Jean & Co" in text
    assert "&amp;" not in text and "&#39;" not in text and "&lt;" not in text
    assert "L&#39;Hôte &amp; Fils &lt;b&gt;gras&lt;/b&gt;" in html
    assert "<b>gras" not in html and "Saint-Jean &amp; Co" in html
    parts = _parts(
        build_message(
            {
                "id": 1,
                "to_address": "a@example.org",
                "subject": subject,
                "body_text": text,
                "body_html": html,
                "created_at": dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
            },
            settings,
        )
    )
    assert NAME in parts["text/plain"] and "&amp;" not in parts["text/plain"]
    assert "&lt;b&gt;" in parts["text/html"] and "<b>gras" not in parts["text/html"]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


async def test_delivered_invoice_and_credit_note_mails_read_as_written(settings):
    family = await factories.make_family("F00001", email="hote@example.org")
    await queue_invoice_notices([_invoice(email="hote@example.org", family_id=family.id)], settings)
    await queue_credit_note_notice(
        {
            "family_name": NAME,
            "number": "AV-2026-000001",
            "invoice_number": "FAC-2026-000007",
            "month": dt.date(2026, 11, 1),
            "amount_cents": 1250,
            "refund_cents": 0,
            "reason": "Absence « justifiée » & <i>certificat</i>",
            "credit_id": 3,
            "email": "hote@example.org",
            "family_id": family.id,
        },
        settings,
    )
    stored = await OutboxEmail.select(OutboxEmail.body_text).order_by(OutboxEmail.id)
    assert all(NAME in row["body_text"] for row in stored)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert await deliver_due(settings.with_(smtp_host="127.0.0.1", smtp_port=port)) == 2
    finally:
        controller.stop()
    invoice, credit = (
        _parts(email.message_from_bytes(m.content, policy=policy.default)) for m in inbox.messages
    )
    assert NAME in invoice["text/plain"] and "&#39;" not in invoice["text/plain"]
    assert "Absence « justifiée » & <i>certificat</i>" in credit["text/plain"]
    assert "&amp; &lt;i&gt;certificat&lt;/i&gt;" in credit["text/html"]
