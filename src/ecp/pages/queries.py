"""Read models of the pages that gather several features: the family's Accueil, and the
database probe of the health check."""

from __future__ import annotations

from ecp.commune.tables import CommuneSettings
from ecp.families.tables import ContactChangeRequest


async def ping() -> None:
    """One cheap query on a table every installation has; raises when the database cannot
    answer (the health check says « indisponible »)."""
    await CommuneSettings.count()


async def home_data(family_id: int) -> dict:
    """The family's Accueil: bookings of the next days, invoices to pay, requests in progress and
    the coming deadlines, in a fixed number of queries (8) whatever the family's history."""
    import datetime as dt

    from ecp import clock
    from ecp.booking import calendar as cal
    from ecp.booking.queries import load_rules_and_year
    from ecp.booking.tables import Booking
    from ecp.invoices.status import LABELS, invoice_status
    from ecp.invoices.tables import Invoice

    today = clock.today()
    until = today + dt.timedelta(days=6)
    bookings = (
        await Booking.select(
            Booking.day,
            Booking.state,
            Booking.child.first_name.as_alias("child"),
            Booking.activity.short_label.as_alias("activity"),
            Booking.activity.sort_order.as_alias("o"),
        )
        .where(
            (Booking.child.family == family_id)
            & (Booking.day >= today)
            & (Booking.day <= until)
            & Booking.state.not_in(["annulee", "fermee"])
        )
        .order_by(Booking.day)
    )
    days: dict = {}
    for row in sorted(bookings, key=lambda r: (r["day"], r["child"], r["o"])):
        days.setdefault(row["day"], []).append(row)
    invoices = (
        await Invoice.select(
            Invoice.id,
            Invoice.number,
            Invoice.month,
            Invoice.due_on,
            Invoice.total_cents,
            Invoice.paid_cents,
            Invoice.kind,
        )
        .where(
            (Invoice.family == family_id)
            & (Invoice.kind == "facture")
            & (Invoice.paid_cents < Invoice.total_cents)
        )
        .order_by(Invoice.due_on)
    )
    for invoice in invoices:
        code = invoice_status(
            invoice["total_cents"], invoice["paid_cents"], invoice["due_on"], today, invoice["kind"]
        )
        invoice["status"] = LABELS[code]
        invoice["late"] = code == "en_retard"
        invoice["due_cents"] = invoice["total_cents"] - invoice["paid_cents"]
    requests = (
        await ContactChangeRequest.select(
            ContactChangeRequest.id,
            ContactChangeRequest.submitted_at,
            ContactChangeRequest.changes,
        )
        .where(
            (ContactChangeRequest.family == family_id)
            & (ContactChangeRequest.status == "en_attente")
        )
        .order_by(ContactChangeRequest.submitted_at)
    )
    for request in requests:
        changes = request["changes"]
        if isinstance(changes, str):
            import json

            try:
                changes = json.loads(changes)
            except ValueError:
                changes = {}
        request["fields"] = len(changes) if isinstance(changes, dict) else 0

    # Deadlines: the next two weeks' Monday (working-days rule) and next Wednesdays.
    rules, _year = await load_rules_and_year(today, today + dt.timedelta(days=21))
    now = clock.now()
    weekday_rule = cal.ActivityInfo(
        0,
        "",
        "",
        "",
        frozenset({1, 2, 3, 4, 5}),
        frozenset(),
        "",
        "working_days",
        dt.time(8),
        dt.time(9),
    )
    wednesday_rule = cal.ActivityInfo(
        0, "", "", "", frozenset({3}), frozenset(), "", "previous_wednesday", dt.time(8), dt.time(9)
    )
    deadlines = []
    monday = today - dt.timedelta(days=today.weekday())
    for weeks in (1, 2):
        start = monday + dt.timedelta(days=7 * weeks)
        open_days = [
            start + dt.timedelta(days=i)
            for i in range(5)
            if rules.year_start
            and not cal.closed_reason(start + dt.timedelta(days=i), weekday_rule, None, rules)
        ]
        if not open_days:
            continue
        first = open_days[0]
        limit = cal.deadline(first, weekday_rule, rules)
        if cal.open_for_family(first, weekday_rule, rules, now):
            deadlines.append(
                {"week": cal.week_code(start), "monday": start, "limit": limit, "kind": "semaine"}
            )
        wednesday = start + dt.timedelta(days=2)
        if wednesday in open_days and cal.open_for_family(wednesday, wednesday_rule, rules, now):
            deadlines.append(
                {
                    "week": cal.week_code(start),
                    "monday": wednesday,
                    "limit": cal.deadline(wednesday, wednesday_rule, rules),
                    "kind": "mercredi",
                }
            )
    deadlines.sort(key=lambda d: d["limit"])
    return {
        "days": days,
        "invoices": invoices,
        "requests": requests,
        "deadlines": deadlines,
        "today": today,
    }
