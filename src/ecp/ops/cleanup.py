"""Clean-up job: login sessions past their idle or absolute expiry, reset tokens and staff
logins waiting for their TOTP code past expiry, refused payment notifications past retention."""

from __future__ import annotations

import datetime as dt

from ecp.auth.tables import AuthSession, PasswordResetToken, PendingLogin


async def delete_expired(settings, now: dt.datetime) -> int:
    idle = now - dt.timedelta(minutes=settings.session_idle_minutes)
    absolute = now - dt.timedelta(hours=settings.session_absolute_hours)
    sessions = (
        await AuthSession.delete()
        .where((AuthSession.last_seen_at < idle) | (AuthSession.created_at < absolute))
        .returning(AuthSession.id)
    )
    tokens = (
        await PasswordResetToken.delete()
        .where(PasswordResetToken.expires_at < now)
        .returning(PasswordResetToken.id)
    )
    # A pending login holds an encrypted enrolment secret: no reason to keep it past its use.
    pending = (
        await PendingLogin.delete().where(PendingLogin.expires_at < now).returning(PendingLogin.id)
    )
    from ecp.mail.outbox import wipe_stale_secrets
    from ecp.payments.refusals import purge

    # Sealed personal links of e-mails that never left are not kept beyond a bounded delay.
    sealed = await wipe_stale_secrets(now)
    # Requests refused at the Paybox notification URL are kept for a bounded time only.
    refused = await purge(now)
    return len(sessions) + len(tokens) + len(pending) + sealed + refused
