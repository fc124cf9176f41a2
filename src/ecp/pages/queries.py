"""Read models of the pages that gather several features: the family's Accueil, and the
database probe of the health check."""

from __future__ import annotations

import datetime as dt
import json

from ecp.commune.tables import CommuneSettings
from ecp.web.templating import month_year


async def ping() -> None:
    """One cheap query on a table every installation has; raises when the database cannot
    answer (the health check says « indisponible »)."""
    await CommuneSettings.count()


# How far ahead the Accueil looks for a deadline falling tonight or tomorrow: the latest rule
# (previous Wednesday, or N working days before) never reaches further than this.
DUE_HORIZON_DAYS = 21


async def home_data(family_id: int) -> dict:
    """The family's Accueil, in a fixed number of queries whatever the family's history (9,
    plus the set-up's 2 when the process has not cached it): what is due tonight and tomorrow,
    the amount to pay and the late invoices, requests and inscriptions in progress, the
    estimate of the month, today's bookings per child (for « malade aujourd'hui ») and the
    next days' bookings, and the next weeks' deadlines."""
    from ecp import clock
    from ecp.booking import calendar as cal
    from ecp.booking.queries import load_setup
    from ecp.commune.queries import commune_settings
    from ecp.db import fetch
    from ecp.invoices.estimate import month_estimate
    from ecp.invoices.status import LABELS, invoice_status

    today = clock.today()
    now = clock.now()
    until = today + dt.timedelta(days=6)
    setup = await load_setup(today, today + dt.timedelta(days=DUE_HORIZON_DAYS))
    rules = setup.rules
    # Raw SQL (ecp.db.fetch): the Accueil is the first page after every login, and building
    # these joins with Piccolo cost more than running them.
    bookings = await fetch(
        "SELECT b.day, b.state, b.updated_by, b.child AS child_id, c.first_name AS child, "
        "b.activity AS activity_id, a.short_label AS activity, a.sort_order AS o "
        "FROM booking b JOIN child c ON c.id = b.child JOIN activity a ON a.id = b.activity "
        "WHERE c.family = {} AND b.day >= {} AND b.day <= {} "
        "AND b.state NOT IN ('annulee', 'fermee') ORDER BY b.day",
        family_id,
        today,
        until,
        types={"day": dt.date},
    )
    days: dict = {}
    today_by_child: dict[int, dict] = {}
    for row in sorted(bookings, key=lambda r: (r["day"], r["child"], r["o"])):
        days.setdefault(row["day"], []).append(row)
        if row["day"] == today:
            child = today_by_child.setdefault(row["child_id"], {"booked": [], "ill": []})
            if row["state"] == "reservee":
                child["booked"].append(row["activity"])
            elif row["state"] == "malade":
                child["ill"].append(row["activity"])
                child["undo"] = child.get("undo", False) or row["updated_by"] is None
    invoices = await fetch(
        "SELECT id, number, month, due_on, total_cents, paid_cents, kind FROM invoice "
        "WHERE family = {} AND kind = 'facture' AND paid_cents < total_cents ORDER BY due_on",
        family_id,
        types={"month": dt.date, "due_on": dt.date},
    )
    for invoice in invoices:
        code = invoice_status(
            invoice["total_cents"], invoice["paid_cents"], invoice["due_on"], today, invoice["kind"]
        )
        invoice["status"] = LABELS[code]
        invoice["late"] = code == "en_retard"
        invoice["due_cents"] = invoice["total_cents"] - invoice["paid_cents"]
    to_pay = {
        "cents": sum(i["due_cents"] for i in invoices),
        "late": [i for i in invoices if i["late"]],
        "late_cents": sum(i["due_cents"] for i in invoices if i["late"]),
    }
    requests = await fetch(
        "SELECT id, submitted_at, changes FROM contact_change_request "
        "WHERE family = {} AND status = 'en_attente' ORDER BY submitted_at",
        family_id,
        types={"submitted_at": dt.datetime},
    )
    for request in requests:
        changes = request["changes"]
        if isinstance(changes, str):
            try:
                changes = json.loads(changes)
            except ValueError:
                changes = {}
        request["fields"] = len(changes) if isinstance(changes, dict) else 0
    inscriptions = await fetch(
        "SELECT i.status, i.requested_at, i.activity AS activity_id, a.label AS activity, "
        "c.first_name AS child FROM inscription i JOIN child c ON c.id = i.child "
        "JOIN activity a ON a.id = i.activity "
        "WHERE c.family = {} AND i.school_year = {} AND i.status IN ('en_attente', 'validee') "
        "ORDER BY i.requested_at",
        family_id,
        setup.year_id or 0,
        types={"requested_at": dt.datetime},
    )
    pending_inscriptions = [i for i in inscriptions if i["status"] == "en_attente"]
    inscribed = {i["activity_id"] for i in inscriptions if i["status"] == "validee"}
    commune = await commune_settings()
    estimate = await month_estimate(family_id, today)
    return {
        "days": days,
        "today_by_child": today_by_child,
        "illness": {
            "open": cal.illness_open(today, rules, now),
            "cutoff": rules.illness_cutoff,
            "phone": commune["phone"],
            "service": commune["service_name"],
        },
        "invoices": invoices,
        "to_pay": to_pay,
        "requests": requests,
        "inscriptions": pending_inscriptions,
        "due": due_soon(setup, inscribed, today, now),
        "deadlines": coming_weeks(rules, today, now),
        "estimate": estimate,
        "estimate_month": month_year(today),
        "today": today,
    }


def due_soon(setup, inscribed: set[int], today: dt.date, now: dt.datetime) -> list[dict]:
    """The deadlines falling today (« ce soir ») and tomorrow for the activities the family's
    children are inscribed to, one entry per deadline day naming the days it closes (each day
    with its activities): the same deadline is said once, not under every activity."""
    from ecp.booking import calendar as cal

    rules = setup.rules
    tomorrow = today + dt.timedelta(days=1)
    found: dict[dt.date, dict] = {}
    activities = [a for a in setup.activities if a.id in inscribed]
    for offset in range(DUE_HORIZON_DAYS + 1):
        day = today + dt.timedelta(days=offset)
        for activity in activities:
            if cal.closed_reason(day, activity, None, rules):
                continue
            limit = cal.deadline(day, activity, rules)
            if limit.date() not in (today, tomorrow) or not cal.open_for_family(
                day, activity, rules, now
            ):
                continue
            entry = found.setdefault(
                limit.date(), {"on": limit.date(), "tonight": limit.date() == today, "days": {}}
            )
            entry["limit"] = max(entry.get("limit", limit), limit)
            entry["days"].setdefault(day, []).append(activity.short_label)
    out = []
    for on in sorted(found):
        entry = found[on]
        first = min(entry["days"])
        entry["week"] = cal.week_code(first - dt.timedelta(days=first.weekday()))
        entry["days"] = [{"day": d, "activities": entry["days"][d]} for d in sorted(entry["days"])]
        out.append(entry)
    return out


def coming_weeks(rules, today: dt.date, now: dt.datetime) -> list[dict]:
    """Deadlines of the next two weeks: their Monday (working-days rule) and their Wednesday
    (the leisure centre's rule)."""
    from ecp.booking import calendar as cal

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
    return deadlines


def illness_card(child: dict, today_rows: dict | None) -> dict:
    """What the Accueil shows for one child under « Mon enfant est malade aujourd'hui »:
    the activities booked today, those already declared ill and whether the family may take
    its own declaration back."""
    rows = today_rows or {}
    return {
        "id": child["id"],
        "name": child["first_name"],
        "booked": rows.get("booked", []),
        "ill": rows.get("ill", []),
        "undo": rows.get("undo", False),
    }


async def illness_child(family_id: int, child_id: int) -> dict | None:
    """One child's illness card and the rules it needs (cut-off, the service's phone), for the
    confirmation and the result of a declaration; None when the child is not the family's
    (active) one. Three queries, none for the set-up when it is cached."""
    from ecp import clock
    from ecp.booking import calendar as cal
    from ecp.booking.queries import load_setup
    from ecp.commune.queries import commune_settings
    from ecp.db import fetch

    today = clock.today()
    rows = await fetch(
        "SELECT c.id, c.first_name, b.state, b.updated_by, a.short_label FROM child c "
        "LEFT JOIN booking b ON b.child = c.id AND b.day = {} "
        "LEFT JOIN activity a ON a.id = b.activity "
        "WHERE c.id = {} AND c.family = {} AND c.active = {} ORDER BY a.sort_order, a.id",
        today,
        child_id,
        family_id,
        True,
    )
    if not rows:
        return None
    day = {"booked": [], "ill": [], "undo": False}
    for row in rows:
        if row["state"] == "reservee":
            day["booked"].append(row["short_label"])
        elif row["state"] == "malade":
            day["ill"].append(row["short_label"])
            day["undo"] = day["undo"] or row["updated_by"] is None
    setup = await load_setup(today, today)
    commune = await commune_settings()
    return {
        "card": illness_card(rows[0], day),
        "illness": {
            "open": cal.illness_open(today, setup.rules, clock.now()),
            "cutoff": setup.rules.illness_cutoff,
            "phone": commune["phone"],
            "service": commune["service_name"],
        },
        "today": today,
    }
