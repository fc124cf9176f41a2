"""Job leases: one row per job in JobLease, taken and renewed with a conditional UPDATE.

A process may run a job only while it holds the lease: the UPDATE succeeds when the row is free,
expired, or already ours, which is atomic on both engines (one statement, row-level on
PostgreSQL, database-level write lock on SQLite), so two processes never both win.
"""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.jobs.tables import JobLease

EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


async def ensure(names: list[str]) -> None:
    """Create the missing lease rows; a concurrent creator is harmless (ON CONFLICT DO NOTHING)."""
    for name in names:
        await JobLease.insert(
            JobLease(name=name, holder="", lease_until=EPOCH, last_run_at=None, last_error="")
        ).on_conflict(target=JobLease.name, action="DO NOTHING")


async def acquire(name: str, holder: str, ttl: dt.timedelta) -> dict | None:
    """Take or renew the lease; returns the row (with last_run_at) when we hold it, else None."""
    now = clock.now()
    rows = (
        await JobLease.update({JobLease.holder: holder, JobLease.lease_until: now + ttl})
        .where(
            (JobLease.name == name) & ((JobLease.holder == holder) | (JobLease.lease_until < now))
        )
        .returning(JobLease.id, JobLease.last_run_at, JobLease.lease_until)
    )
    return rows[0] if rows else None


async def renew(name: str, holder: str, ttl: dt.timedelta) -> bool:
    """Extend a lease we hold (heartbeat while a job runs); False if someone took it."""
    rows = (
        await JobLease.update({JobLease.lease_until: clock.now() + ttl})
        .where((JobLease.name == name) & (JobLease.holder == holder))
        .returning(JobLease.id)
    )
    return bool(rows)


async def record_run(name: str, holder: str, started: dt.datetime, error: str = "") -> bool:
    """Remember when the job last ran, so the next holder (or a restart) keeps the schedule."""
    rows = (
        await JobLease.update({JobLease.last_run_at: started, JobLease.last_error: error[:500]})
        .where((JobLease.name == name) & (JobLease.holder == holder))
        .returning(JobLease.id)
    )
    return bool(rows)


async def release(names: list[str], holder: str) -> None:
    """On a clean stop, free our leases at once so another process need not wait for expiry."""
    if names:
        await JobLease.update({JobLease.holder: "", JobLease.lease_until: EPOCH}).where(
            (JobLease.name.is_in(names)) & (JobLease.holder == holder)
        )
