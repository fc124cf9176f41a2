"""The clean-up job deletes what has expired and nothing else."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.auth.tables import AuthSession, PasswordResetToken, PendingLogin
from ecp.ops.cleanup import delete_expired
from ecp.settings import Settings
from tests import factories


async def test_expired_sessions_tokens_and_pending_logins_go_the_rest_stays():
    now = clock.now()
    family = await factories.make_family("F00001")
    staff = await factories.make_staff()
    old, fresh = now - dt.timedelta(hours=13), now - dt.timedelta(minutes=1)
    for n, when in enumerate((old, fresh)):
        await AuthSession(
            token_hash=f"s{n}".ljust(64, "0"),
            kind="family",
            family=family.id,
            created_at=when,
            last_seen_at=when,
        ).save()
        await PasswordResetToken(
            token_hash=f"t{n}".ljust(64, "0"),
            family=family.id,
            created_at=when,
            expires_at=when + dt.timedelta(hours=1),
        ).save()
        await PendingLogin(
            token_hash=f"p{n}".ljust(64, "0"),
            staff=staff.id,
            created_at=when,
            expires_at=when + dt.timedelta(minutes=5),
        ).save()
    assert await delete_expired(Settings(), now) == 3
    assert [r["token_hash"][:2] for r in await AuthSession.select(AuthSession.token_hash)] == ["s1"]
    assert await PasswordResetToken.count() == 1
    assert [r["token_hash"][:2] for r in await PendingLogin.select(PendingLogin.token_hash)] == [
        "p1"
    ]
