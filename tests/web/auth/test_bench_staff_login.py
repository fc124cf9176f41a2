"""The benchmark logs its agent in over HTTP with MFA obligatoire: bench.seed enrols
bench-agent with a known secret, bench.staff computes the codes (issue: docs/security.md A10)."""

from __future__ import annotations

import datetime as dt

from bench import staff as bench_staff
from bench.seed import BENCH_STAFF_TOTP_SECRET, seed_bench
from ecp import clock
from ecp.auth.tables import AuthSession, StaffTotp
from tests.conftest import DATABASE_URL, make_client

TODAY = dt.date(2026, 11, 30)


async def test_the_bench_agent_is_enrolled_and_logs_in_twice_within_one_time_step(settings, app):
    clock.set_now(dt.datetime(2026, 11, 30, 18, 0, 5, tzinfo=clock.PARIS))
    summary = await seed_bench(
        DATABASE_URL, families=6, schools=3, today=TODAY, secret_key=settings.secret_key
    )
    assert BENCH_STAFF_TOTP_SECRET in summary.text()
    row = await StaffTotp.select().first()
    assert row is not None and BENCH_STAFF_TOTP_SECRET not in row["secret_encrypted"]
    for ip in ("127.0.0.5", "127.0.0.6"):  # the probe, then the load run
        async with make_client(app, ip) as c:
            assert await bench_staff.login(c) == 303
            assert (await c.get("/agents/")).status_code == 200
    assert await AuthSession.count() == 2
