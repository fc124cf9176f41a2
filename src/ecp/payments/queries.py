"""Reads behind the régie counter (/agents/paiements): a family by its code, what it still owes,
the latest payments, one payment's receipt and the payments of a period for the trésorerie."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.commune.tables import CommuneSettings
from ecp.families.tables import Family
from ecp.invoices import queries as invoice_queries
from ecp.invoices.tables import Invoice
from ecp.payments.tables import Payment, PaymentAllocation

CODE_LENGTH = 12
LATEST = 50


def normalise_code(code: str | None) -> str:
    """A family code as staff type it: « f00001 » is F00001."""
    return (code or "").strip().upper()[:CODE_LENGTH]


async def family_by_code(code: str | None) -> dict | None:
    """{"id", "code", "name"} of the family with this code, or None (also for an empty code)."""
    code = normalise_code(code)
    if not code:
        return None
    return (
        await Family.select(Family.id, Family.code, Family.name).where(Family.code == code).first()
    )


async def open_invoices(family_id: int) -> list[dict]:
    """The family's invoices still owing something, oldest month first, with their status."""
    rows = (
        await Invoice.select(*invoice_queries.INVOICE_COLUMNS)
        .where(
            (Invoice.family == family_id)
            & (Invoice.kind == "facture")
            & (Invoice.paid_cents < Invoice.total_cents)
        )
        .order_by(Invoice.month)
    )
    today = clock.today()
    return [invoice_queries.decorate(r, today) for r in rows]


async def latest_payments(limit: int = LATEST) -> list[dict]:
    """The last payments of every means, newest first, with their family and who recorded them."""
    return (
        await Payment.select(
            Payment.id,
            Payment.method,
            Payment.amount_cents,
            Payment.received_at,
            Payment.reference,
            Payment.unallocated_cents,
            Payment.family.code.as_alias("family_code"),
            Payment.family.name.as_alias("family_name"),
            Payment.recorded_by.display_name.as_alias("recorded_by_name"),
        )
        .order_by(Payment.id, ascending=False)
        .limit(limit)
    )


async def counter_page(code: str | None) -> dict:
    """The counter page: the family typed (or None), its open invoices and the latest payments,
    in three queries (two when no family is found)."""
    family = await family_by_code(code)
    return {
        "family": family,
        "invoices": await open_invoices(family["id"]) if family else [],
        "payments": await latest_payments(),
    }


async def receipt(payment_id: int) -> dict | None:
    """A payment, the invoices it paid and the régie's letterhead; None when there is none."""
    payment = (
        await Payment.select(
            Payment.all_columns(),
            Payment.family.code.as_alias("family_code"),
            Payment.family.name.as_alias("family_name"),
            Payment.recorded_by.display_name.as_alias("recorded_by_name"),
        )
        .where(Payment.id == payment_id)
        .first()
    )
    if payment is None:
        return None
    allocations = (
        await PaymentAllocation.select(
            PaymentAllocation.amount_cents,
            PaymentAllocation.invoice.number.as_alias("number"),
            PaymentAllocation.invoice.month.as_alias("month"),
            PaymentAllocation.invoice.total_cents.as_alias("total_cents"),
            PaymentAllocation.invoice.paid_cents.as_alias("paid_cents"),
        )
        .where(PaymentAllocation.payment == payment_id)
        .order_by(PaymentAllocation.id)
    )
    # Blank, not the column defaults, before the commune's settings are saved: a receipt shows
    # only what the commune wrote.
    commune = await CommuneSettings.select().first() or {"service_name": "", "address": ""}
    return {"payment": payment, "allocations": allocations, "commune": commune}


async def payments_received(start: dt.date, end: dt.date) -> list[dict]:
    """Payments received from `start` to `end` (both included, Paris days), oldest first, each
    with `allocations`: (invoice number, amount in cents) pairs in the order they were made."""
    since = dt.datetime.combine(start, dt.time(0), tzinfo=clock.PARIS)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=clock.PARIS)
    payments = (
        await Payment.select(
            Payment.id,
            Payment.method,
            Payment.amount_cents,
            Payment.received_at,
            Payment.reference,
            Payment.unallocated_cents,
            Payment.provider_transaction,
            Payment.family.code.as_alias("family_code"),
            Payment.family.name.as_alias("family_name"),
            Payment.recorded_by.display_name.as_alias("recorded_by_name"),
        )
        .where((Payment.received_at >= since) & (Payment.received_at < until))
        .order_by(Payment.received_at)
    )
    allocations: dict[int, list[tuple[str, int]]] = {}
    for row in (
        await PaymentAllocation.select(
            PaymentAllocation.payment,
            PaymentAllocation.amount_cents,
            PaymentAllocation.invoice.number.as_alias("number"),
        )
        .where(PaymentAllocation.payment.is_in([p["id"] for p in payments] or [-1]))
        .order_by(PaymentAllocation.id)
    ):
        allocations.setdefault(row["payment"], []).append((row["number"], row["amount_cents"]))
    for payment in payments:
        payment["allocations"] = allocations.get(payment["id"], [])
    return payments
