"""Read models for the calendar pages: a family's children, activities, inscriptions, bookings
and place counters for a date range, in FOUR queries whatever the number of rows (issue 7:
every page <= 6 queries, and on SQLite each query outside a transaction opens a connection)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ecp.booking import calendar as cal
from ecp.commune.queries import defaults as settings_defaults
from ecp.commune.setup_cache import SETUP
from ecp.db import fetch

# Column types of the raw rows below (ecp.db.fetch makes them so on both engines).
YEAR_TYPES = {"starts_on": dt.date, "ends_on": dt.date}
SETTINGS_TYPES = {"booking_deadline_time": dt.time, "illness_cutoff_time": dt.time}
ACTIVITY_TYPES = {"starts_at": dt.time, "ends_at": dt.time}


async def load_rules_row() -> tuple[dict, dict | None]:
    """Settings and the current school year in one query (a LEFT JOIN on the one settings row)."""
    rows = await fetch(
        "SELECT y.id AS year_id, y.starts_on, y.ends_on, s.school_zone, "
        "s.booking_deadline_working_days, s.booking_deadline_time, s.illness_cutoff_time "
        "FROM school_year y LEFT JOIN commune_settings s ON 1 = 1 "
        "WHERE y.is_current = {} ORDER BY s.id LIMIT 1",
        True,
        types=YEAR_TYPES | SETTINGS_TYPES,
    )
    settings = settings_defaults()
    if not rows:
        return settings, None
    row = rows[0]
    for key in (
        "school_zone",
        "booking_deadline_working_days",
        "booking_deadline_time",
        "illness_cutoff_time",
    ):
        if row.get(key) is not None:
            settings[key] = row[key]
    year = {"id": row["year_id"], "starts_on": row["starts_on"], "ends_on": row["ends_on"]}
    return settings, year


async def load_closures(start: dt.date, end: dt.date) -> list[dict]:
    """Closures overlapping the dates. Raw SQL: building the equivalent Piccolo select cost more
    than running it, on a page every family opens."""
    return await fetch(
        "SELECT starts_on, ends_on, school, activity, reason FROM closure "
        "WHERE starts_on <= {} AND ends_on >= {}",
        end,
        start,
        types=YEAR_TYPES,
    )


async def load_rules_and_year(start: dt.date, end: dt.date) -> tuple[cal.Rules, int | None]:
    settings, year = await load_rules_row()
    closures = await load_closures(start, end)
    return cal.Rules.from_rows(settings, year, closures), (year["id"] if year else None)


async def load_activities() -> tuple[list[cal.ActivityInfo], dict[tuple[int, int | None], int]]:
    """Active activities and their capacity per school ((activity, None) = the default)."""
    rows = await fetch(
        "SELECT a.id, a.code, a.label, a.short_label, a.weekdays, a.eligible_levels, "
        "a.group_code, a.deadline_rule, a.starts_at, a.ends_at, a.default_capacity, "
        "a.sort_order, c.school AS cap_school, c.capacity AS cap "
        "FROM activity a LEFT JOIN activity_capacity c ON c.activity = a.id "
        "WHERE a.active = {} ORDER BY a.sort_order, a.id",
        True,
        types=ACTIVITY_TYPES,
    )
    activities: dict[int, cal.ActivityInfo] = {}
    capacity: dict[tuple[int, int | None], int] = {}
    for row in rows:
        if row["id"] not in activities:
            activities[row["id"]] = cal.ActivityInfo.from_row(row)
            capacity[(row["id"], None)] = int(row["default_capacity"] or 0)
        if row["cap_school"] is not None:
            capacity[(row["id"], row["cap_school"])] = int(row["cap"] or 0)
    return list(activities.values()), capacity


# The commune's set-up in one round trip: the current school year, the settings row and every
# active activity with its per-school capacities, hung on a one-row base so that a commune
# without a year or without activities still gets its row.
SETUP_SQL = (
    "SELECT y.id AS year_id, y.starts_on, y.ends_on, s.school_zone, "
    "s.booking_deadline_working_days, s.booking_deadline_time, s.illness_cutoff_time, "
    "a.id, a.code, a.label, a.short_label, a.weekdays, a.eligible_levels, a.group_code, "
    "a.deadline_rule, a.starts_at, a.ends_at, a.default_capacity, a.sort_order, "
    "c.school AS cap_school, c.capacity AS cap "
    "FROM (SELECT 1 AS one) base "
    "LEFT JOIN school_year y ON y.id = (SELECT MAX(id) FROM school_year WHERE is_current = {}) "
    "LEFT JOIN commune_settings s ON s.id = (SELECT MIN(id) FROM commune_settings) "
    "LEFT JOIN activity a ON a.active = {} "
    "LEFT JOIN activity_capacity c ON c.activity = a.id "
    "ORDER BY a.sort_order, a.id"
)


@dataclass
class Setup:
    rules: cal.Rules
    year_id: int | None
    activities: list[cal.ActivityInfo]
    capacity: dict[tuple[int, int | None], int]  # (activity, school); school None = default

    def activity(self, activity_id: int) -> cal.ActivityInfo | None:
        return next((a for a in self.activities if a.id == activity_id), None)

    def capacity_of(self, activity_id: int, school_id: int | None) -> int:
        return self.capacity.get(
            (activity_id, school_id), self.capacity.get((activity_id, None), 0)
        )


@dataclass(frozen=True)
class _SetupRows:
    """What load_setup reads, before the dates narrow the closures: what the cache keeps."""

    settings: dict
    year: dict | None
    activities: list[cal.ActivityInfo]
    capacity: dict[tuple[int, int | None], int]
    closures: list[dict]


async def _read_setup() -> _SetupRows:
    rows = await fetch(SETUP_SQL, True, True, types=YEAR_TYPES | SETTINGS_TYPES | ACTIVITY_TYPES)
    settings = settings_defaults()
    first = rows[0] if rows else {}
    for key in (
        "school_zone",
        "booking_deadline_working_days",
        "booking_deadline_time",
        "illness_cutoff_time",
    ):
        if first.get(key) is not None:
            settings[key] = first[key]
    year = None
    if first.get("year_id") is not None:
        year = {
            "id": first["year_id"],
            "starts_on": first["starts_on"],
            "ends_on": first["ends_on"],
        }
    activities: dict[int, cal.ActivityInfo] = {}
    capacity: dict[tuple[int, int | None], int] = {}
    for row in rows:
        if row["id"] is None:
            continue
        if row["id"] not in activities:
            activities[row["id"]] = cal.ActivityInfo.from_row(row)
            capacity[(row["id"], None)] = int(row["default_capacity"] or 0)
        if row["cap_school"] is not None:
            capacity[(row["id"], row["cap_school"])] = int(row["cap"] or 0)
    return _SetupRows(
        settings,
        year,
        list(activities.values()),
        capacity,
        await load_closures(dt.date.min, dt.date.max),
    )


async def load_setup(start: dt.date, end: dt.date) -> Setup:
    """Rules (settings, school year, closures between the dates), activities and capacities:
    2 queries, none when the request may use the process's cached set-up (SETUP)."""
    rows = SETUP.get()
    if rows is None:
        rows = await _read_setup()
        SETUP.put(rows)
    closures = [c for c in rows.closures if c["starts_on"] <= end and c["ends_on"] >= start]
    return Setup(
        cal.Rules.from_rows(rows.settings, rows.year, closures),
        rows.year["id"] if rows.year else None,
        list(rows.activities),
        rows.capacity,
    )


@dataclass
class CalendarData:
    rules: cal.Rules
    year_id: int | None
    children: list[dict]
    activities: list[cal.ActivityInfo]
    capacity: dict[tuple[int, int | None], int]
    inscriptions: dict[tuple[int, int], str]  # (child, activity) -> status
    bookings: dict[tuple[int, int, dt.date], dict] = field(default_factory=dict)
    slots: dict[tuple[int, int, dt.date], int] = field(default_factory=dict)

    def capacity_of(self, activity_id: int, school_id: int | None) -> int:
        return self.capacity.get(
            (activity_id, school_id), self.capacity.get((activity_id, None), 0)
        )

    def booking_state(self, child_id: int, activity_id: int, day: dt.date) -> str | None:
        row = self.bookings.get((child_id, activity_id, day))
        return row["state"] if row else None

    def inscribed(self, child_id: int, activity_id: int) -> bool:
        return self.inscriptions.get((child_id, activity_id)) == "validee"

    def group_conflict(self, child_id: int, activity: cal.ActivityInfo, day: dt.date) -> str:
        if not activity.group_code:
            return ""
        for other in self.activities:
            if (
                other.id != activity.id
                and other.group_code == activity.group_code
                and self.booking_state(child_id, other.id, day) == "reservee"
            ):
                return other.short_label
        return ""

    def record(
        self,
        child_id: int,
        activity_id: int,
        day: dt.date,
        state: str,
        school: int | None,
        booked: int | None = None,
    ) -> None:
        """A change the booking service just made, so the re-rendered week shows it without
        reading the week again."""
        key = (child_id, activity_id, day)
        row = self.bookings.setdefault(
            key, {"id": None, "child": child_id, "activity": activity_id, "day": day}
        )
        row.update(state=state, school=school)
        if booked is not None and school is not None:
            self.slots[(school, activity_id, day)] = booked

    def setup(self) -> Setup:
        return Setup(self.rules, self.year_id, self.activities, self.capacity)

    def cell(
        self,
        child: dict,
        activity: cal.ActivityInfo,
        day: dt.date,
        now: dt.datetime,
        staff: bool = False,
    ) -> cal.Cell:
        school = child["school"]
        return cal.cell_state(
            day=day,
            activity=activity,
            level=child["level"],
            school_id=school,
            inscribed=self.inscribed(child["id"], activity.id),
            booking_state=self.booking_state(child["id"], activity.id, day),
            booked=self.slots.get((school, activity.id, day), 0),
            capacity=self.capacity_of(activity.id, school),
            rules=self.rules,
            now=now,
            staff=staff,
        )


async def load_calendar(
    family_id: int, start: dt.date, end: dt.date, child_id: int | None = None
) -> CalendarData:
    """Everything a family's calendar needs between two dates: 4 queries."""
    setup = await load_setup(start, end)  # 1-2
    # Children and their inscriptions for the year in one LEFT JOIN.
    rows = await fetch(  # 3
        "SELECT c.id, c.first_name, c.last_name, c.level, c.school, c.has_allergy, "
        "c.birth_date, s.name AS school_name, i.activity AS ins_activity, i.status AS ins_status, "
        "i.id AS ins_id "
        "FROM child c LEFT JOIN school s ON s.id = c.school "
        "LEFT JOIN inscription i ON i.child = c.id AND i.school_year = {} "
        "WHERE c.family = {} AND c.active = {} ORDER BY c.birth_date, c.id",
        setup.year_id or 0,
        family_id,
        True,
        types={"birth_date": dt.date, "has_allergy": bool},
    )
    children: dict[int, dict] = {}
    inscriptions: dict[tuple[int, int], str] = {}
    for row in rows:
        if child_id is not None and row["id"] != child_id:
            continue
        children.setdefault(
            row["id"],
            {
                k: row[k]
                for k in (
                    "id",
                    "first_name",
                    "last_name",
                    "level",
                    "school",
                    "school_name",
                    "has_allergy",
                    "birth_date",
                )
            },
        )
        if row["ins_activity"] is not None:
            inscriptions[(row["id"], row["ins_activity"])] = row["ins_status"]
    data = CalendarData(
        setup.rules,
        setup.year_id,
        list(children.values()),
        setup.activities,
        setup.capacity,
        inscriptions,
    )
    # The children's bookings and their schools' place counters share one round trip: both are
    # keyed by (school, activity, day) over the same dates.
    ids = list(children) or [0]
    schools = list({c["school"] for c in children.values() if c["school"]}) or [0]
    rows = await fetch(  # 4
        "SELECT 'b' AS kind, b.id, b.child, b.activity, b.day, b.state, b.school, 0 AS booked "
        f"FROM booking b WHERE b.child IN ({placeholders(ids)}) AND b.day >= {{}} AND b.day <= {{}} "
        "UNION ALL "
        "SELECT 's', NULL, NULL, s.activity, s.day, NULL, s.school, s.booked "
        f"FROM slot s WHERE s.school IN ({placeholders(schools)}) AND s.day >= {{}} AND s.day <= {{}}",
        *ids,
        start,
        end,
        *schools,
        start,
        end,
        types={"day": dt.date},
    )
    for row in rows:
        day = row["day"]
        if row["kind"] == "b":
            data.bookings[(row["child"], row["activity"], day)] = {
                "id": row["id"],
                "child": row["child"],
                "activity": row["activity"],
                "day": day,
                "state": row["state"],
                "school": row["school"],
            }
        else:
            data.slots[(row["school"], row["activity"], day)] = row["booked"]
    return data


def placeholders(values: list) -> str:
    """`{}, {}, ...` for an IN list of a raw query (Piccolo binds each value)."""
    return ", ".join("{}" for _ in values)
