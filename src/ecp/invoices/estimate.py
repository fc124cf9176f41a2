"""What the current month should cost a family, for its Accueil: the month's bookings and
pointage priced by ecp.invoices.pricing exactly as the billing run prices them (bracket of the
family's quotient familial, per-day tariffs, ill and closed days free, a presence without a
booking with its majoration). It is an estimate, never a document: the invoice issued at the
end of the month is what the family owes (a cancellation, an illness or a pointage may still
change the month, and the quotient may be corrected).

Four queries whatever the family's history (the closures come from the cached set-up)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ecp.booking.queries import load_setup
from ecp.db import fetch
from ecp.invoices import pricing

# The family's row and the quotient in force on a day (the latest of its history from that day
# or before; without any history, the one on its row), as ecp.families.queries.quotient_on
# reads it, in one statement.
FAMILY_SQL = (
    "SELECT f.quotient_familial, f.out_of_town, "
    "(SELECT h.value FROM quotient_history h WHERE h.family = f.id AND h.effective_from <= {} "
    "ORDER BY h.effective_from DESC LIMIT 1) AS dated_quotient, "
    "(SELECT COUNT(*) FROM quotient_history h2 WHERE h2.family = f.id) AS history "
    "FROM family f WHERE f.id = {}"
)
# The month's bookings and pointage marks of the family's children, with whether the activity
# is billed at all, in one statement.
DAYS_SQL = (
    "SELECT 'reservation' AS source, b.child, b.activity, b.school, b.day, b.state, "
    "a.billable FROM booking b JOIN child c ON c.id = b.child "
    "JOIN activity a ON a.id = b.activity "
    "WHERE c.family = {} AND b.day >= {} AND b.day <= {} "
    "UNION ALL "
    "SELECT 'pointage' AS source, t.child, t.activity, t.school, t.day, t.status AS state, "
    "a.billable FROM attendance t JOIN child c ON c.id = t.child "
    "JOIN activity a ON a.id = t.activity "
    "WHERE c.family = {} AND t.day >= {} AND t.day <= {}"
)


@dataclass(frozen=True)
class Estimate:
    month: dt.date  # the first of the month
    total_cents: int
    days: int  # days billed (prestations and majorations)
    incomplete: bool  # some booked day has no tariff: the estimate leaves it out


async def month_estimate(family_id: int, today: dt.date) -> Estimate | None:
    """The estimate of `today`'s month, None when the family does not exist."""
    first, last = pricing.month_bounds(today)
    rows = await fetch(FAMILY_SQL, today, family_id, types={"out_of_town": bool})
    if not rows:
        return None
    family = rows[0]
    if family["dated_quotient"] is not None:
        quotient = family["dated_quotient"]
    elif family["history"]:
        quotient = None  # a day before the first recorded quotient: the highest bracket
    else:
        quotient = family["quotient_familial"]
    # Raw SQL: the Accueil shows the estimate after every login (Piccolo's query building cost
    # more than these two small reads).
    brackets = [
        pricing.Bracket(r["id"], r["qf_min"], r["qf_max"], r["sort_order"])
        for r in await fetch("SELECT id, qf_min, qf_max, sort_order FROM tariff_bracket")
    ]
    bracket = pricing.bracket_for(quotient, bool(family["out_of_town"]), brackets)
    tariff_sql = (
        "SELECT activity, bracket, price_cents, majoration_cents, valid_from FROM tariff "
        "WHERE valid_from <= {} AND "
        + ("bracket = {}" if bracket is not None else "bracket IS NULL")
    )
    tariffs = pricing.TariffBook(
        [
            pricing.TariffRow(
                r["activity"],
                r["bracket"],
                r["price_cents"],
                r["majoration_cents"],
                r["valid_from"],
            )
            for r in await fetch(
                tariff_sql,
                last,
                *([bracket] if bracket is not None else []),
                types={"valid_from": dt.date},
            )
        ]
    )
    bookings, marks, billable = [], [], set()
    for r in await fetch(
        DAYS_SQL,
        family_id,
        first,
        last,
        family_id,
        first,
        last,
        types={"day": dt.date, "billable": bool},
    ):
        day = pricing.Day(r["child"], r["activity"], r["school"], r["day"], r["state"])
        (bookings if r["source"] == "reservation" else marks).append(day)
        if r["billable"]:
            billable.add(r["activity"])
    setup = await load_setup(first, last)
    closures = [
        pricing.ClosureRow(c.starts_on, c.ends_on, c.school_id, c.activity_id)
        for c in setup.rules.closures
    ]
    bill = pricing.bill_family(
        month=first,
        bracket_id=bracket,
        bookings=bookings,
        attendances=marks,
        closures=closures,
        tariffs=tariffs,
        billable_activities=billable,
    )
    return Estimate(
        month=first,
        total_cents=bill.total_cents,
        days=sum(line.quantity for line in bill.lines),
        incomplete=any(a.kind == "tarif_manquant" for a in bill.anomalies),
    )
