"""Delivering the outbox over SMTP (aiosmtplib), with exponential back-off.

Every message is claimed before it is sent: one conditional UPDATE moves it from "en_attente"
to "envoi" with a lease, so two senders (two processes, or a slow run overlapping the next) never
take the same row. After the server accepts it the row becomes "envoye". If the server is down
(connection refused, timeout, 4xx) the message goes back to "en_attente" with its next attempt
pushed back exponentially (1 min, 2 min, 4 min... capped at 1 h): it is never dropped. A
permanent refusal (5xx) marks it "echec" with the server's answer, for staff to see.

A sender that dies between the server's acceptance and the "envoye" update leaves the row in
"envoi"; it is retried once its lease expires. That window is a few milliseconds; the stable
Message-ID lets the receiving server recognise the rare duplicate.
"""

from __future__ import annotations

import datetime as dt
import logging
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import aiosmtplib

from ecp import clock
from ecp.mail.tables import OutboxEmail

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=5)
BASE_DELAY = dt.timedelta(minutes=1)
MAX_DELAY = dt.timedelta(hours=1)
BATCH = 50


def backoff(attempts: int) -> dt.timedelta:
    """Delay before the next try after `attempts` failed ones (1 -> 1 min, 2 -> 2 min...)."""
    # The exponent is bounded: a message retried for days must not overflow timedelta.
    return min(BASE_DELAY * (2 ** min(max(attempts - 1, 0), 16)), MAX_DELAY)


def _due(now: dt.datetime):
    return ((OutboxEmail.status == "en_attente") | (OutboxEmail.status == "envoi")) & (
        OutboxEmail.next_attempt_at <= now)


async def claim(now: dt.datetime, limit: int = BATCH) -> list[dict]:
    """Takes up to `limit` due messages for this sender; a row is claimed by one sender only."""
    ids = [r["id"] for r in await OutboxEmail.select(OutboxEmail.id).where(_due(now)).order_by(
        OutboxEmail.id).limit(limit)]
    if not ids:
        return []
    # The WHERE is evaluated again on each row as it is updated, so a row another sender has
    # just claimed (now "envoi" with a lease in the future) is skipped.
    return await OutboxEmail.update({
        OutboxEmail.status: "envoi",
        OutboxEmail.next_attempt_at: now + LEASE,
        OutboxEmail.attempts: OutboxEmail.attempts + 1,
    }).where(OutboxEmail.id.is_in(ids) & _due(now)).returning(
        OutboxEmail.id, OutboxEmail.to_address, OutboxEmail.subject, OutboxEmail.body_text,
        OutboxEmail.body_html, OutboxEmail.attempts, OutboxEmail.created_at)


def build_message(row: dict, settings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = row["to_address"]
    message["Subject"] = row["subject"]
    message["Date"] = format_datetime(row["created_at"])
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<ecp-outbox-{row['id']}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(row["body_text"])
    if row["body_html"]:
        message.add_alternative(row["body_html"], subtype="html")
    return message


async def _release(rows: list[dict], error: str) -> None:
    """Back to the queue, to be tried again after the back-off."""
    now = clock.now()
    for row in rows:
        await OutboxEmail.update({
            OutboxEmail.status: "en_attente",
            OutboxEmail.next_attempt_at: now + backoff(row["attempts"]),
            OutboxEmail.last_error: error[:500],
        }).where((OutboxEmail.id == row["id"]) & (OutboxEmail.status == "envoi"))


async def deliver_due(settings, max_batches: int = 20) -> int:
    """Sends what is due, BATCH messages per SMTP connection and at most `max_batches` batches
    per call (the job runner calls again); returns how many messages the server accepted.

    Without an SMTP host (the demo) nothing is sent: messages stay in the outbox, readable by
    staff at /agents/courriels.
    """
    if not settings.smtp_host:
        return 0
    sent = 0
    for _ in range(max_batches):
        rows = await claim(clock.now())
        if not rows:
            break
        accepted, server_up = await _deliver_batch(rows, settings)
        sent += accepted
        if not server_up:
            break
    return sent


async def _deliver_batch(rows: list[dict], settings) -> tuple[int, bool]:
    """Returns (messages accepted, whether the server stayed reachable)."""
    sent = 0
    smtp = aiosmtplib.SMTP(hostname=settings.smtp_host, port=settings.smtp_port,
                           start_tls=settings.smtp_starttls, timeout=20)
    try:
        await smtp.connect()
        if settings.smtp_user:
            await smtp.login(settings.smtp_user, settings.smtp_password or "")
    except (aiosmtplib.SMTPException, OSError) as exc:
        log.warning("SMTP server unavailable: %s", exc)
        await _release(rows, f"Serveur de courriel injoignable\u00a0: {exc}")
        return 0, False
    try:
        for index, row in enumerate(rows):
            try:
                await smtp.send_message(build_message(row, settings))
            except aiosmtplib.SMTPRecipientsRefused as exc:
                await _fail(row, f"Adresse refusée\u00a0: {exc}")
                continue
            except aiosmtplib.SMTPResponseException as exc:
                if exc.code >= 500:
                    await _fail(
                        row, f"Refus définitif du serveur ({exc.code})\u00a0: {exc.message}")
                    continue
                await _release([row], f"Refus temporaire ({exc.code})\u00a0: {exc.message}")
                continue
            except (aiosmtplib.SMTPException, OSError) as exc:
                # The connection broke: this message and the rest wait for the next run.
                await _release(rows[index:], f"Connexion interrompue\u00a0: {exc}")
                return sent, False
            await OutboxEmail.update({
                OutboxEmail.status: "envoye", OutboxEmail.sent_at: clock.now(),
                OutboxEmail.last_error: "",
            }).where(OutboxEmail.id == row["id"])
            sent += 1
    finally:
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            pass
    return sent, True


async def _fail(row: dict, error: str) -> None:
    await OutboxEmail.update({OutboxEmail.status: "echec", OutboxEmail.last_error: error[:500]}
                             ).where(OutboxEmail.id == row["id"])
