"""Queueing e-mail: every message is first written to the outbox, in the caller's transaction,
so that nothing is lost if the SMTP server is down; the sender job delivers it later."""

from __future__ import annotations

from ecp import clock
from ecp.mail.tables import OutboxEmail


async def queue_email(*, to: str, subject: str, text: str, html: str = "", kind: str = "",
                      family_id: int | None = None) -> int:
    now = clock.now()
    row = OutboxEmail(to_address=to, subject=subject, body_text=text, body_html=html, kind=kind,
                      family=family_id, status="en_attente", attempts=0, next_attempt_at=now,
                      created_at=now)
    await row.save()
    return row.id
