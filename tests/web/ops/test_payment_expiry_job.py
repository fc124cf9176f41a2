"""The payment_expiry job under the job runner: registered with the app's jobs, run by one
process per period whatever the number of runners, and harmless when run again."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.jobs.tables import JobLease
from ecp.ops.jobs import PAYMENT_EXPIRY_SECONDS, JobRunner, default_jobs
from ecp.payments.tables import PaymentAttempt
from tests.factories import make_family

T0 = dt.datetime(2026, 11, 30, 18, 0, tzinfo=clock.PARIS)


async def attempt(family, reference: str, started: dt.datetime, **fields) -> None:
    values = dict(
        reference=reference,
        family=family.id,
        amount_cents=4250,
        provider="paybox",
        status="en_attente",
        created_at=started,
        expires_at=started + dt.timedelta(minutes=20),
    )
    values.update(fields)
    await PaymentAttempt(**values).save()


async def statuses() -> dict[str, str]:
    return {
        r["reference"]: r["status"]
        for r in await PaymentAttempt.select(PaymentAttempt.reference, PaymentAttempt.status)
    }


def runners(settings) -> tuple[JobRunner, JobRunner]:
    jobs = [j for j in default_jobs(settings) if j.name == "payment_expiry"]
    return (
        JobRunner(settings, jobs, holder="A", ttl=30),
        JobRunner(settings, jobs, holder="B", ttl=30),
    )


async def test_the_job_is_one_of_the_apps_jobs(settings):
    job = next(j for j in default_jobs(settings) if j.name == "payment_expiry")
    assert job.period == PAYMENT_EXPIRY_SECONDS == 600


async def test_two_processes_expire_each_attempt_once_per_period(settings):
    family = await make_family("F00001")
    await attempt(family, "ECP-old", T0)
    await attempt(family, "ECP-recent", T0 + dt.timedelta(hours=2))
    await attempt(family, "ECP-bank-pending", T0, error_code="99999")
    await attempt(family, "ECP-paid", T0, status="payee", error_code="00000")
    a, b = runners(settings)

    clock.set_now(T0 + dt.timedelta(hours=2, minutes=30))
    ran = [await a.run_pending(), await b.run_pending()]
    assert ran == [["payment_expiry"], []]  # B finds the lease held by A
    assert await statuses() == {
        "ECP-old": "expiree",
        "ECP-recent": "en_attente",
        "ECP-bank-pending": "en_attente",
        "ECP-paid": "payee",
    }
    lease = await JobLease.select().where(JobLease.name == "payment_expiry").first()
    assert lease["holder"] == "A" and lease["last_error"] == ""

    # Within the period nobody runs it again, even once A's lease has lapsed.
    clock.set_now(T0 + dt.timedelta(hours=2, minutes=35))
    assert [await b.run_pending(), await a.run_pending()] == [[], []]

    # Next period: whoever holds the lease runs it; the recent attempt's turn has come.
    clock.set_now(T0 + dt.timedelta(hours=4, minutes=21))
    ran = [await b.run_pending(), await a.run_pending()]
    assert ran == [["payment_expiry"], []]
    assert (await statuses())["ECP-recent"] == "expiree"
    # Each attempt journalled once, by the system.
    logs = (
        await AuditLog.select(AuditLog.target, AuditLog.actor)
        .where(AuditLog.action == "payment_attempt_expired")
        .order_by(AuditLog.id)
    )
    assert logs == [
        {"target": "tentative ECP-old", "actor": "système"},
        {"target": "tentative ECP-recent", "actor": "système"},
    ]

    # Run again later with nothing left: no change, no journal line.
    clock.set_now(T0 + dt.timedelta(hours=6))
    assert await a.run_pending() == ["payment_expiry"]
    assert await AuditLog.count().where(AuditLog.action == "payment_attempt_expired") == 2
    await a.stop()
    await b.stop()
