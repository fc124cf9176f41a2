"""Building the SMTP message and the back-off schedule (pure)."""

from __future__ import annotations

import datetime as dt

from ecp.mail.notices import render_invoice_notice
from ecp.mail.sender import backoff, build_message
from ecp.settings import Settings


def test_backoff_doubles_then_caps_at_one_hour():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert backoff(6) == dt.timedelta(minutes=32) and backoff(7) == dt.timedelta(hours=1)
    assert backoff(5000) == dt.timedelta(hours=1)


def test_message_has_text_and_html_and_a_stable_id():
    row = {
        "id": 42,
        "to_address": "claire@example.org",
        "subject": "Votre facture",
        "body_text": "Bonjour",
        "body_html": "<p>Bonjour</p>",
        "created_at": dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC),
    }
    message = build_message(row, Settings())
    assert message["Message-ID"] == "<ecp-outbox-42@villebelle-sur-seine.fr>"
    assert message["To"] == "claire@example.org" and message["Auto-Submitted"] == "auto-generated"
    types = [part.get_content_type() for part in message.iter_parts()]
    assert types == ["text/plain", "text/html"]


def test_invoice_notice_is_french_without_tracking():
    subject, text, html = render_invoice_notice(
        {
            "family_name": "Martin",
            "number": "FAC-2026-000007",
            "month": dt.date(2026, 11, 1),
            "total_cents": 4250,
            "due_on": dt.date(2026, 12, 31),
            "invoice_id": 7,
        },
        Settings(base_url="https://portail.example.fr"),
    )
    assert subject == "Votre facture de novembre 2026 est disponible"
    assert "42,50" in text and "31/12/2026" in text
    assert "https://portail.example.fr/famille/factures/7" in text
    assert "<img" not in html and 'lang="fr"' in html
    assert html.count("href=") == 1
