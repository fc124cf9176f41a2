"""The staff dashboard's read model: today's figures per school and activity against their
places, what waits for a decision, what is unpaid, and the numbers of its three charts
(occupancy per school and week, bookings against presence per week, invoiced against
collected per month).

A fixed number of queries whatever the data (tests/web/backoffice/test_dashboard_routes.py
counts them): the figures in one, the schools, the bookings of the weeks shown grouped by
school, activity and day, the presences per day, the invoices per month, the payments per
month; the set-up (activities, places, closures, the school year) comes from the process's
cache (ecp.booking.queries.load_setup)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ecp import clock
from ecp.booking import calendar as cal
from ecp.booking.queries import load_setup
from ecp.db import fetch
from ecp.web.templating import french_date

# The heat map: this week and the next ones; the bookings chart: the weeks up to this one.
WEEKS_AHEAD = 6
WEEKS_BEHIND = 8
MONTHS = 6


def _in_schools(column: str, ids: tuple[int, ...] | None) -> tuple[str, list[int]]:
    """« AND <column> IN ({}, …) » with its arguments; nothing when every school counts."""
    if ids is None:
        return "", []
    return f" AND {column} IN ({', '.join('{}' for _ in ids)})", list(ids)


def _families_of(ids: tuple[int, ...] | None) -> tuple[str, list[int]]:
    """« AND family IN (the families with a child at those schools) », or nothing."""
    schools, some = _in_schools("school", ids)
    if ids is None:
        return "", []
    return f" AND family IN (SELECT family FROM child WHERE 1 = 1{schools})", some


def _figures_sql(ids: tuple[int, ...] | None, today: dt.date) -> tuple[str, list]:
    """The figures in one query. For an agent limited to schools (`ids`): the families with a
    child there, those children and their inscriptions, those families' requests and
    invoices."""
    schools, some = _in_schools("school", ids)
    own = family = child = ""
    if ids is not None:
        own = f" AND id IN (SELECT family FROM child WHERE 1 = 1{schools})"
        family = f" AND family IN (SELECT family FROM child WHERE 1 = 1{schools})"
        child = f" AND child IN (SELECT id FROM child WHERE 1 = 1{schools})"
    unpaid = "FROM invoice WHERE kind = 'facture' AND paid_cents < total_cents"
    sql = (
        "SELECT "
        f"(SELECT COUNT(*) FROM family WHERE active = {{}}{own}) AS families, "
        f"(SELECT COUNT(*) FROM child WHERE active = {{}}{schools}) AS children, "
        f"(SELECT COUNT(*) FROM inscription WHERE status = 'en_attente'{child}) "
        "AS inscriptions_waiting, "
        f"(SELECT COUNT(*) FROM contact_change_request WHERE status = 'en_attente'{family}) "
        "AS requests_waiting, "
        f"(SELECT COALESCE(SUM(total_cents - paid_cents), 0) {unpaid}{family}) AS unpaid_cents, "
        f"(SELECT COUNT(*) {unpaid}{family}) AS unpaid_count, "
        f"(SELECT COUNT(*) {unpaid} AND due_on < {{}}{family}) AS overdue_count"
    )
    args = [True, *some, True, *some, *some, *some, *some, *some, today, *some]
    return sql, args


FIGURES_TYPES = dict.fromkeys(
    (
        "families",
        "children",
        "inscriptions_waiting",
        "requests_waiting",
        "unpaid_cents",
        "unpaid_count",
        "overdue_count",
    ),
    int,
)
# Each with its school filter (« %s ») before the GROUP BY.
BOOKINGS_SQL = (
    "SELECT school, activity, day, COUNT(*) AS n FROM booking "
    "WHERE state = 'reservee' AND day >= {} AND day <= {}%s GROUP BY school, activity, day"
)
PRESENT_SQL = (
    "SELECT day, COUNT(*) AS n FROM attendance "
    "WHERE status = 'present' AND day >= {} AND day <= {}%s GROUP BY day"
)
INVOICED_SQL = (
    "SELECT month, COALESCE(SUM(total_cents), 0) AS cents FROM invoice "
    "WHERE month >= {} AND month <= {}%s GROUP BY month"
)


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def week_label(first: dt.date) -> str:
    """« 7 déc. », the Monday that starts the week."""
    return french_date(first, "d MMM")


def month_label(first: dt.date) -> str:
    return french_date(first, "MMM y")


def add_months(first: dt.date, months: int) -> dt.date:
    index = first.year * 12 + first.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass
class TodayActivity:
    activity_id: int
    label: str
    booked: int
    capacity: int  # 0 = no limit

    @property
    def rate(self) -> float | None:
        return self.booked / self.capacity if self.capacity else None


@dataclass
class TodaySchool:
    school_id: int
    name: str
    activities: list[TodayActivity] = field(default_factory=list)

    @property
    def booked(self) -> int:
        return sum(a.booked for a in self.activities)


@dataclass
class Dashboard:
    today: dt.date
    figures: dict[str, int]
    schools: list[dict]  # the active schools counted: id, name
    schools_today: list[TodaySchool]
    weeks_ahead: list[dt.date]
    occupancy: list[dict]  # per school: name, cells [{booked, places, rate}]
    weeks_behind: list[dt.date]
    weekly: list[dict]  # per week: week, booked, present
    monthly: list[dict]  # per month: month, invoiced_cents, collected_cents

    @property
    def today_text(self) -> str:
        """« mardi 1er décembre 2026 »."""
        text = french_date(self.today, "EEEE d MMMM y")
        return text.replace(" 1 ", " 1er ", 1) if self.today.day == 1 else text

    @property
    def unpaid_text(self) -> str:
        """The unpaid total in whole euros (« 13 165 € »): a tile, not an account."""
        cents = self.figures["unpaid_cents"]
        return f"{(cents + 50) // 100:,}".replace(",", "\u202f") + "\u00a0€"


def _month_bounds(months: list[dt.date]) -> list[tuple[dt.datetime, dt.datetime]]:
    """Each month as [start, end) instants in Paris."""
    return [
        (
            dt.datetime.combine(m, dt.time(0), tzinfo=clock.PARIS).astimezone(dt.UTC),
            dt.datetime.combine(add_months(m, 1), dt.time(0), tzinfo=clock.PARIS).astimezone(
                dt.UTC
            ),
        )
        for m in months
    ]


async def _collected(months: list[dt.date], ids: tuple[int, ...] | None) -> list[int]:
    """Payments received in each month (Paris time), in one query: a sum per month."""
    bounds = _month_bounds(months)
    families, some = _families_of(ids)
    columns = ", ".join(
        f"COALESCE(SUM(CASE WHEN received_at >= {{}} AND received_at < {{}} "
        f"THEN amount_cents ELSE 0 END), 0) AS m{i}"
        for i in range(len(bounds))
    )
    args = [instant for pair in bounds for instant in pair]
    rows = await fetch(
        f"SELECT {columns} FROM payment WHERE received_at >= {{}} AND received_at < {{}}{families}",
        *args,
        bounds[0][0],
        bounds[-1][1],
        *some,
        types={f"m{i}": int for i in range(len(bounds))},
    )
    row = rows[0] if rows else {}
    return [row.get(f"m{i}") or 0 for i in range(len(bounds))]


async def dashboard(
    today: dt.date | None = None, school_ids: tuple[int, ...] | None = None
) -> Dashboard:
    """The dashboard of every school, or of `school_ids` only (an agent limited to schools:
    their schools' bookings and presences, their families' money)."""
    today = today or clock.today()
    ids = school_ids
    schools_in, some = _in_schools("school", ids)
    families, of_some = _families_of(ids)
    this_week = monday(today)
    weeks_ahead = [this_week + dt.timedelta(weeks=i) for i in range(WEEKS_AHEAD)]
    weeks_behind = [this_week - dt.timedelta(weeks=i) for i in range(WEEKS_BEHIND - 1, -1, -1)]
    start = weeks_behind[0]
    end = weeks_ahead[-1] + dt.timedelta(days=6)
    this_month = today.replace(day=1)
    months = [add_months(this_month, -i) for i in range(MONTHS - 1, -1, -1)]

    figures_sql, figures_args = _figures_sql(ids, today)
    figures = (await fetch(figures_sql, *figures_args, types=FIGURES_TYPES))[0]
    schools = await fetch(
        f"SELECT id, name FROM school WHERE active = {{}}{_in_schools('id', ids)[0]} ORDER BY name",
        True,
        *some,
    )
    setup = await load_setup(start, end)
    booked: dict[tuple[int, int, dt.date], int] = {}
    for row in await fetch(
        BOOKINGS_SQL % schools_in, start, end, *some, types={"day": dt.date, "n": int}
    ):
        booked[(row["school"], row["activity"], row["day"])] = row["n"]
    present = {
        row["day"]: row["n"]
        for row in await fetch(
            PRESENT_SQL % schools_in, start, end, *some, types={"day": dt.date, "n": int}
        )
    }
    invoiced = {
        row["month"]: row["cents"]
        for row in await fetch(
            INVOICED_SQL % families,
            months[0],
            months[-1],
            *of_some,
            types={"month": dt.date, "cents": int},
        )
    }
    collected = await _collected(months, ids)

    figures["bookings_today"] = sum(n for (_, _, day), n in booked.items() if day == today)
    schools_today = []
    for school in schools:
        entry = TodaySchool(school["id"], school["name"])
        for activity in setup.activities:
            runs = cal.closed_reason(today, activity, school["id"], setup.rules) is None
            count = booked.get((school["id"], activity.id, today), 0)
            if runs or count:
                entry.activities.append(
                    TodayActivity(
                        activity.id,
                        activity.label,
                        count,
                        setup.capacity_of(activity.id, school["id"]),
                    )
                )
        if entry.activities:
            schools_today.append(entry)

    occupancy = []
    for school in schools:
        cells = []
        for first in weeks_ahead:
            places = taken = 0
            for offset in range(7):
                day = first + dt.timedelta(days=offset)
                for activity in setup.activities:
                    capacity = setup.capacity_of(activity.id, school["id"])
                    if not capacity:
                        continue  # no limit: no rate to show
                    if cal.closed_reason(day, activity, school["id"], setup.rules) is not None:
                        continue
                    places += capacity
                    taken += booked.get((school["id"], activity.id, day), 0)
            cells.append(
                {"booked": taken, "places": places, "rate": taken / places if places else None}
            )
        occupancy.append({"school_id": school["id"], "name": school["name"], "cells": cells})

    weekly = []
    for first in weeks_behind:
        days = {first + dt.timedelta(days=i) for i in range(7)}
        weekly.append(
            {
                "week": first,
                "booked": sum(n for (_, _, day), n in booked.items() if day in days),
                "present": sum(present.get(day, 0) for day in days),
            }
        )
    monthly = [
        {
            "month": m,
            "label": french_date(m, "MMMM y"),
            "invoiced_cents": invoiced.get(m, 0),
            "collected_cents": c,
        }
        for m, c in zip(months, collected, strict=True)
    ]
    return Dashboard(
        today=today,
        figures=figures,
        schools=schools,
        schools_today=schools_today,
        weeks_ahead=weeks_ahead,
        occupancy=occupancy,
        weeks_behind=weeks_behind,
        weekly=weekly,
        monthly=monthly,
    )


async def dashboard_figures() -> dict[str, int]:
    """The dashboard's counts (families, children, bookings today, what waits, what is
    unpaid)."""
    return (await dashboard()).figures
