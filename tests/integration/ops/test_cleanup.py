"""The clean-up job deletes sessions past idle or absolute expiry and expired reset tokens."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.auth.tables import AuthSession, PasswordResetToken
from ecp.ops.jobs import clean_expired
from tests.factories import make_family


async def test_expired_sessions_and_tokens_are_deleted(settings):
    family = await make_family()
    now = clock.now()
    ago = lambda **kw: now - dt.timedelta(**kw)  # noqa: E731
    for name, created, seen in (("fresh", ago(hours=1), ago(minutes=5)),
                                ("idle", ago(hours=1), ago(minutes=31)),
                                ("old", ago(hours=12, minutes=1), ago(minutes=1))):
        await AuthSession(token_hash=name.ljust(64, "0"), kind="family", family=family.id,
                          created_at=created, last_seen_at=seen).save()
    for name, expires in (("valid", now + dt.timedelta(minutes=30)),
                          ("expired", ago(minutes=1))):
        await PasswordResetToken(token_hash=name.ljust(64, "0"), family=family.id,
                                 created_at=ago(hours=1), expires_at=expires).save()

    assert await clean_expired(settings, now) == 3
    assert [r["token_hash"][:5] for r in await AuthSession.select(AuthSession.token_hash)] == [
        "fresh"]
    assert [r["token_hash"][:5] for r in await PasswordResetToken.select(
        PasswordResetToken.token_hash)] == ["valid"]


async def test_the_jobs_call_the_mail_and_retention_features(settings):
    from ecp.ops.jobs import apply_retention, send_mail

    # The modules exist: the jobs call them (an empty commune: nothing to do, no SMTP host).
    assert await apply_retention(settings, clock.now()) == 0
    assert await send_mail(settings, clock.now()) == 0
