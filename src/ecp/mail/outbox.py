"""Queueing e-mail: every message is first written to the outbox, in the caller's transaction,
so that nothing is lost if the SMTP server is down; the sender job delivers it later.

A message carrying a personal secret (a reset link...) names it in `secrets`: the outbox then
keeps the text masked and the real one sealed (ecp.mail.sealing), so no staff page, export or
database reader sees the secret; only the family's delivered copy holds it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from ecp import clock
from ecp.mail import sealing
from ecp.mail.tables import OutboxEmail

EXPIRED_ERROR = (
    "Lien personnel effacé sans avoir été envoyé (délai dépassé)\u00a0: la famille "
    "peut en redemander un."
)


async def queue_email(
    *,
    to: str,
    subject: str,
    text: str,
    html: str = "",
    kind: str = "",
    family_id: int | None = None,
    secrets: Sequence[str] = (),
    settings=None,
) -> int:
    now = clock.now()
    sealed = ""
    if secrets:
        if settings is None:
            raise ValueError("queue_email: sealing secrets needs the settings (secret key)")
        if any(not s or (s not in text and s not in html) for s in secrets):
            # A secret the text does not hold is a caller's mistake; masking nothing would
            # hide it and leave the real secret wherever it ended up.
            raise ValueError("queue_email: every secret must appear in the message")
        sealed = sealing.Sealer(settings.secret_key).seal(
            text=text, html_body=html, to=to, kind=kind
        )
        text = sealing.mask(text, secrets)
        html = sealing.mask(html, secrets, is_html=True)
    row = OutboxEmail(
        to_address=to,
        subject=subject,
        body_text=text,
        body_html=html,
        kind=kind,
        family=family_id,
        status="en_attente",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        sealed_body=sealed,
    )
    await row.save()
    return row.id


async def wipe_stale_secrets(now: dt.datetime) -> int:
    """Sealed bodies older than sealing.MAX_AGE are erased; a message still waiting then
    cannot go out (its masked text would be useless) and is marked failed. Run by the clean-up
    job; returns how many rows it wiped."""
    limit = now - sealing.MAX_AGE
    stale = (OutboxEmail.sealed_body != "") & (OutboxEmail.created_at < limit)
    await OutboxEmail.update(
        {OutboxEmail.status: "echec", OutboxEmail.last_error: EXPIRED_ERROR}
    ).where(stale & OutboxEmail.status.is_in(["en_attente", "envoi"]))
    wiped = (
        await OutboxEmail.update({OutboxEmail.sealed_body: ""})
        .where(stale)
        .returning(OutboxEmail.id)
    )
    return len(wiped)
