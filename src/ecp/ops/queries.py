"""Reads of the operations pages: the database side of /metrics."""

from __future__ import annotations

from piccolo.query.functions.aggregate import Count, Sum

from ecp.booking.tables import Booking
from ecp.db import aware
from ecp.jobs.tables import JobLease
from ecp.mail.tables import OutboxEmail
from ecp.payments.tables import Payment, PaymentAttempt


async def _grouped(table, column) -> list[tuple[dict, float]]:
    rows = await table.select(column.as_alias("key"), Count(alias="n")).group_by(column)
    return [({"state": row["key"] or ""}, row["n"]) for row in rows]


async def database_gauges() -> dict:
    """A handful of GROUP BY counts: cheap whatever the data, same answer from every process."""
    payments = await Payment.select(
        Payment.method.as_alias("key"), Count(alias="n"), Sum(Payment.amount_cents, alias="cents")
    ).group_by(Payment.method)
    leases = await JobLease.select(JobLease.name, JobLease.last_run_at, JobLease.last_error)
    return {
        "ecp_bookings": ("Bookings by state.", await _grouped(Booking, Booking.state)),
        "ecp_payments": (
            "Payments recorded, by method.",
            [({"method": r["key"]}, r["n"]) for r in payments],
        ),
        "ecp_payments_cents": (
            "Sum of payments recorded, by method, in cents.",
            [({"method": r["key"]}, r["cents"] or 0) for r in payments],
        ),
        "ecp_payment_attempts": (
            "Card payment attempts by status.",
            await _grouped(PaymentAttempt, PaymentAttempt.status),
        ),
        "ecp_outbox_emails": (
            "E-mails in the outbox by status (en_attente = backlog).",
            await _grouped(OutboxEmail, OutboxEmail.status),
        ),
        "ecp_job_last_run_timestamp_seconds": (
            "When each job last ran (any process).",
            [
                ({"job": r["name"]}, aware(r["last_run_at"]).timestamp())
                for r in leases
                if r["last_run_at"] is not None
            ],
        ),
        "ecp_job_last_run_failed": (
            "1 when the job's last run raised.",
            [({"job": r["name"]}, 1 if r["last_error"] else 0) for r in leases],
        ),
    }
