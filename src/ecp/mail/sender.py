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

A message holding a personal secret is sent from its sealed body (ecp.mail.sealing), opened
here only, and the sealed body is wiped as soon as the message is delivered or refused for good.

Without an SMTP host, ECP_MAIL_DIR (the local demo; refused in production) makes the sender
"deliver" each message as an .eml file in that directory: the family's mailbox on the
developer's machine, and never a staff page.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import aiosmtplib

from ecp import clock
from ecp.mail.sealing import Sealer
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
        OutboxEmail.next_attempt_at <= now
    )


async def claim(now: dt.datetime, limit: int = BATCH) -> list[dict]:
    """Takes up to `limit` due messages for this sender; a row is claimed by one sender only."""
    ids = [
        r["id"]
        for r in await OutboxEmail.select(OutboxEmail.id)
        .where(_due(now))
        .order_by(OutboxEmail.id)
        .limit(limit)
    ]
    if not ids:
        return []
    # The WHERE is evaluated again on each row as it is updated, so a row another sender has
    # just claimed (now "envoi" with a lease in the future) is skipped.
    return (
        await OutboxEmail.update(
            {
                OutboxEmail.status: "envoi",
                OutboxEmail.next_attempt_at: now + LEASE,
                OutboxEmail.attempts: OutboxEmail.attempts + 1,
            }
        )
        .where(OutboxEmail.id.is_in(ids) & _due(now))
        .returning(
            OutboxEmail.id,
            OutboxEmail.to_address,
            OutboxEmail.subject,
            OutboxEmail.body_text,
            OutboxEmail.body_html,
            OutboxEmail.attempts,
            OutboxEmail.created_at,
            OutboxEmail.kind,
            OutboxEmail.sealed_body,
        )
    )


UNREADABLE = (
    "Texte personnel illisible (clé secrète changée ou donnée altérée)\u00a0: message non envoyé."
)


def unseal(row: dict, settings) -> dict | None:
    """The row with its real text when it was sealed; None when the seal does not open (the
    message must then not go out masked)."""
    if not row.get("sealed_body"):
        return row
    opened = Sealer(settings.secret_key).open(
        row["sealed_body"], to=row["to_address"], kind=row.get("kind", "")
    )
    if opened is None:
        return None
    return {**row, "body_text": opened[0], "body_html": opened[1]}


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
        await OutboxEmail.update(
            {
                OutboxEmail.status: "en_attente",
                OutboxEmail.next_attempt_at: now + backoff(row["attempts"]),
                OutboxEmail.last_error: error[:500],
            }
        ).where((OutboxEmail.id == row["id"]) & (OutboxEmail.status == "envoi"))


async def deliver_due(settings, max_batches: int = 20) -> int:
    """Sends what is due, BATCH messages per SMTP connection and at most `max_batches` batches
    per call (the job runner calls again); returns how many messages the server accepted.

    Without an SMTP host nothing is sent (messages wait in the outbox, their secrets masked),
    unless ECP_MAIL_DIR names a directory for the local demo's mailbox files.
    """
    if not settings.smtp_host and not _mail_dir(settings):
        return 0
    sent = 0
    for _ in range(max_batches):
        rows = await claim(clock.now())
        if not rows:
            break
        if settings.smtp_host:
            accepted, server_up = await _deliver_batch(rows, settings)
        else:
            accepted, server_up = await _deliver_to_files(rows, settings)
        sent += accepted
        if not server_up:
            break
    return sent


async def _deliver_batch(rows: list[dict], settings) -> tuple[int, bool]:
    """Returns (messages accepted, whether the server stayed reachable)."""
    sent = 0
    smtp = aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        start_tls=settings.smtp_starttls,
        timeout=20,
    )
    try:
        await smtp.connect()
        if settings.smtp_user:
            await smtp.login(settings.smtp_user, settings.smtp_password or "")
    except (aiosmtplib.SMTPException, OSError) as exc:
        log.warning("SMTP server unavailable: %s", exc)
        await _release(rows, f"Serveur de courriel injoignable\u00a0: {exc}")
        return 0, False
    try:
        for index, claimed in enumerate(rows):
            row = unseal(claimed, settings)
            if row is None:
                await _fail(claimed, UNREADABLE)
                continue
            try:
                await smtp.send_message(build_message(row, settings))
            except aiosmtplib.SMTPRecipientsRefused as exc:
                await _fail(row, f"Adresse refusée\u00a0: {exc}")
                continue
            except aiosmtplib.SMTPResponseException as exc:
                if exc.code >= 500:
                    await _fail(
                        row, f"Refus définitif du serveur ({exc.code})\u00a0: {exc.message}"
                    )
                    continue
                await _release([row], f"Refus temporaire ({exc.code})\u00a0: {exc.message}")
                continue
            except (aiosmtplib.SMTPException, OSError) as exc:
                # The connection broke: this message and the rest wait for the next run.
                await _release(rows[index:], f"Connexion interrompue\u00a0: {exc}")
                return sent, False
            await _delivered(row)
            sent += 1
    finally:
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            pass
    return sent, True


async def _delivered(row: dict) -> None:
    # The family has its copy: the sealed secret has no further use here.
    await OutboxEmail.update(
        {
            OutboxEmail.status: "envoye",
            OutboxEmail.sent_at: clock.now(),
            OutboxEmail.last_error: "",
            OutboxEmail.sealed_body: "",
        }
    ).where(OutboxEmail.id == row["id"])


async def _fail(row: dict, error: str) -> None:
    # Refused for good: the secret will never be delivered, so it is not kept either.
    await OutboxEmail.update(
        {
            OutboxEmail.status: "echec",
            OutboxEmail.last_error: error[:500],
            OutboxEmail.sealed_body: "",
        }
    ).where(OutboxEmail.id == row["id"])


def _mail_dir(settings) -> str | None:
    # Production refuses to start with ECP_MAIL_DIR (Settings.production_problems); checked
    # again here so that a misconfigured process never writes personal links to disk.
    directory = getattr(settings, "mail_dir", None)
    return directory if directory and not settings.is_production else None


async def _deliver_to_files(rows: list[dict], settings) -> tuple[int, bool]:
    """The local demo's mailbox: one .eml file per message, readable by the owner only."""
    directory = _mail_dir(settings)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError as exc:
        log.warning("mail directory unavailable: %s", exc.strerror)
        await _release(rows, "Dossier des courriels (ECP_MAIL_DIR) inaccessible.")
        return 0, False
    sent = 0
    for claimed in rows:
        row = unseal(claimed, settings)
        if row is None:
            await _fail(claimed, UNREADABLE)
            continue
        path = os.path.join(directory, f"{row['id']:08d}.eml")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(build_message(row, settings).as_bytes())
        except OSError as exc:
            log.warning("mail file not written: %s", exc.strerror)
            await _release([claimed], "Écriture du fichier de courriel impossible.")
            continue
        await _delivered(row)
        sent += 1
    return sent, True
