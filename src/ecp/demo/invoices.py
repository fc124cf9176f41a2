"""Demo invoices: the three months before the current one are billed (August excepted), most
invoices are paid, some partly or late, and the Martin family (F00001) has exactly one unpaid
invoice, its most recent. Idempotent and date-relative: a month already invoiced is left alone,
a new past month is billed when the demo is seeded again later.

The booking seed covers only last month onwards; for older months this seed books the canteen
(and some evening care) on school days itself, with Booking rows of source "demo".
"""

from __future__ import annotations

import datetime as dt
import logging

from ecp import clock
from ecp.booking import calendar
from ecp.booking.tables import Booking
from ecp.commune.tables import Activity
from ecp.families.tables import Child
from ecp.invoices import pricing
from ecp.invoices.billing import run_billing
from ecp.invoices.tables import Invoice
from ecp.payments.allocation import DuplicatePayment, record_payment
from ecp.payments.tables import PaymentAllocation

log = logging.getLogger(__name__)
MONTHS_BACK = 3
METHODS = ("especes", "cheque", "cesu", "virement", "carte")


def demo_months(today: dt.date) -> list[dt.date]:
    """The MONTHS_BACK months before the current one, oldest first, without August."""
    months, first = [], today.replace(day=1)
    for _ in range(MONTHS_BACK):
        first = (first - dt.timedelta(days=1)).replace(day=1)
        if first.month != 8:
            months.append(first)
    return sorted(months)


def _school_day(day: dt.date) -> bool:
    """Monday to Friday, not a public holiday nor in zone C's school holidays (the booking
    calendar's cached dates: reading the holiday data again for every day slowed each seed)."""
    if day.weekday() >= 5:
        return False
    return calendar.public_holiday(day) is None and calendar.school_holiday(day, "C") is None


async def _ensure_bookings(month: dt.date) -> None:
    first, last = pricing.month_bounds(month)
    if await Booking.exists().where((Booking.day >= first) & (Booking.day <= last)):
        return
    activities = {
        r["code"]: r for r in await Activity.select(Activity.id, Activity.code, Activity.weekdays)
    }
    canteen, evening = activities.get("restauration"), activities.get("garderie_soir")
    if canteen is None:
        return
    children = await Child.select(
        Child.id, Child.school, Child.first_name, Child.family.code.as_alias("code")
    ).where((Child.active == True) & Child.school.is_not_null())  # noqa: E712
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    school_days = [d for d in days if _school_day(d)]
    now = clock.now()
    rows = []
    for child in children:
        for day in school_days:
            weekday = str(day.isoweekday())
            if weekday in canteen["weekdays"].split(","):
                # A Martin child was ill one day: the portal shows it is not billed.
                state = (
                    "malade"
                    if (
                        child["code"] == "F00001"
                        and child["first_name"] == "Léa"
                        and day == school_days[3]
                    )
                    else "reservee"
                )
                rows.append(
                    Booking(
                        child=child["id"],
                        activity=canteen["id"],
                        school=child["school"],
                        day=day,
                        state=state,
                        source="demo",
                        created_at=now,
                        updated_at=now,
                    )
                )
            if evening and child["id"] % 3 == 0 and day.isoweekday() in (2, 4):
                rows.append(
                    Booking(
                        child=child["id"],
                        activity=evening["id"],
                        school=child["school"],
                        day=day,
                        state="reservee",
                        source="demo",
                        created_at=now,
                        updated_at=now,
                    )
                )
    for start in range(0, len(rows), 500):
        await Booking.insert(*rows[start : start + 500])


def _issue_time(month: dt.date) -> dt.datetime:
    """Invoices of a month are issued on the 1st of the next one, at 08:00 in Paris."""
    nxt = pricing.month_bounds(month)[1] + dt.timedelta(days=1)
    return dt.datetime.combine(nxt, dt.time(8), tzinfo=clock.PARIS)


async def _pay(months: list[dt.date]) -> None:
    invoices = (
        await Invoice.select(
            Invoice.id,
            Invoice.family,
            Invoice.month,
            Invoice.total_cents,
            Invoice.paid_cents,
            Invoice.issued_at,
            Invoice.family.code.as_alias("code"),
        )
        .where((Invoice.kind == "facture") & Invoice.month.is_in(months))
        .order_by(Invoice.id)
    )
    touched = {r["invoice"] for r in await PaymentAllocation.select(PaymentAllocation.invoice)}
    latest = {}
    for inv in invoices:
        if inv["code"] == "F00001":
            latest["F00001"] = max(latest.get("F00001", inv["month"]), inv["month"])
    newest = months[-1] if months else None
    for inv in invoices:
        if inv["id"] in touched or inv["paid_cents"] or inv["total_cents"] <= 0:
            continue
        if inv["code"] == "F00001":
            amount = 0 if inv["month"] == latest["F00001"] else inv["total_cents"]
        elif inv["code"] == "F00002":
            amount = inv["total_cents"] if inv["month"] != newest else 0
        elif inv["month"] == newest:
            amount = inv["total_cents"] if inv["family"] % 3 == 0 else 0
        elif inv["family"] % 11 == 0:
            amount = 0  # left late on purpose
        elif inv["family"] % 7 == 0:
            amount = inv["total_cents"] // 2  # partly paid
        else:
            amount = inv["total_cents"]
        if amount <= 0:
            continue
        method = METHODS[inv["id"] % len(METHODS)]
        received = inv["issued_at"] + dt.timedelta(days=3 + inv["id"] % 20)
        try:
            await record_payment(
                family_id=inv["family"],
                method=method,
                amount_cents=amount,
                invoice_ids=[inv["id"]],
                received_at=min(received, clock.now()),
                reference="" if method in ("especes", "carte") else f"DEMO-{inv['id']:06d}",
                provider_transaction=f"DEMO{inv['id']:08d}" if method == "carte" else None,
                note="Paiement de démonstration",
            )
        except DuplicatePayment:
            continue


async def seed(context: dict) -> None:
    months = demo_months(clock.today())
    settings = context.get("settings")
    for month in months:
        if await Invoice.exists().where((Invoice.month == month) & (Invoice.kind == "facture")):
            continue
        await _ensure_bookings(month)
        result = await run_billing(month, settings=settings, issued_at=_issue_time(month))
        log.info("demo billing %s: %s", month, result)
    await _pay(months)
