"""Read models of the booking pages. The calendar: a family's children, activities,
inscriptions, bookings and place counters for a date range, in FOUR queries whatever the number
of rows (issue 7: every page <= 6 queries, and on SQLite each query outside a transaction opens
a connection). Then the pages around it (semaine type, inscriptions and recap, ICS feed) and
the staff's (a day's lists, pointage and kitchen)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ecp.booking import calendar as cal
from ecp.booking.inscription_queries import family_waiting_ranks
from ecp.booking.tables import Booking, Inscription
from ecp.commune.queries import defaults as settings_defaults
from ecp.commune.setup_cache import SETUP
from ecp.commune.tables import Activity, School
from ecp.db import fetch, fetch_tuples
from ecp.families.tables import Child, Family

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
    # The rows read, as they came (children and inscriptions, bookings and counters): what a
    # rendering of this week depends on besides the set-up (web.memo). None once changed here.
    fingerprint: tuple | None = None

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
        self.fingerprint = None
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


@dataclass(frozen=True)
class CalendarRows:
    """What a calendar read returns before anything is built from it: the set-up, and the two
    reads' rows as they came. `fingerprint` is everything of the family's week a rendering
    depends on besides the set-up (web.memo keys the page by it)."""

    setup: Setup
    child_id: int | None
    children: tuple
    counted: tuple

    @property
    def fingerprint(self) -> tuple:
        return (self.child_id, self.children, self.counted)


async def read_calendar(
    family_id: int, start: dt.date, end: dt.date, child_id: int | None = None
) -> CalendarRows:
    """The rows of a family's calendar between two dates (2 queries, and the set-up's 2 when
    it is not cached). Both reads take tuples (db.fetch_tuples): every calendar page runs
    them."""
    setup = await load_setup(start, end)
    # Children and their inscriptions for the year in one LEFT JOIN.
    rows = await fetch_tuples(
        "SELECT c.id, c.first_name, c.last_name, c.level, c.school, c.has_allergy, "
        "c.birth_date, s.name AS school_name, i.activity AS ins_activity, i.status AS ins_status "
        "FROM child c LEFT JOIN school s ON s.id = c.school "
        "LEFT JOIN inscription i ON i.child = c.id AND i.school_year = {} "
        "WHERE c.family = {} AND c.active = {} ORDER BY c.birth_date, c.id",
        setup.year_id or 0,
        family_id,
        True,
        types={5: bool, 6: dt.date},
    )
    shown = [r for r in rows if child_id is None or r[0] == child_id]
    # The children's bookings and their schools' place counters share one round trip: both are
    # keyed by (school, activity, day) over the same dates.
    ids = list(dict.fromkeys(r[0] for r in shown)) or [0]
    schools = list({r[4] for r in shown if r[4]}) or [0]
    counted = await fetch_tuples(
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
        types={4: dt.date},
    )
    return CalendarRows(setup, child_id, tuple(shown), tuple(counted))


def build_calendar(read: CalendarRows) -> CalendarData:
    setup = read.setup
    children: dict[int, dict] = {}
    inscriptions: dict[tuple[int, int], str] = {}
    for (
        cid,
        first,
        last,
        level,
        school,
        allergy,
        birth,
        school_name,
        activity,
        status,
    ) in read.children:
        if cid not in children:
            children[cid] = {
                "id": cid,
                "first_name": first,
                "last_name": last,
                "level": level,
                "school": school,
                "school_name": school_name,
                "has_allergy": allergy,
                "birth_date": birth,
            }
        if activity is not None:
            inscriptions[(cid, activity)] = status
    data = CalendarData(
        setup.rules,
        setup.year_id,
        list(children.values()),
        setup.activities,
        setup.capacity,
        inscriptions,
        fingerprint=read.fingerprint,
    )
    bookings, slots = data.bookings, data.slots
    for kind, bid, child, activity, day, state, school, booked in read.counted:
        if kind == "b":
            bookings[(child, activity, day)] = {
                "id": bid,
                "child": child,
                "activity": activity,
                "day": day,
                "state": state,
                "school": school,
            }
        else:
            slots[(school, activity, day)] = booked
    return data


async def load_calendar(
    family_id: int, start: dt.date, end: dt.date, child_id: int | None = None
) -> CalendarData:
    """Everything a family's calendar needs between two dates: 2 queries (4 without the
    set-up cached)."""
    return build_calendar(await read_calendar(family_id, start, end, child_id))


def placeholders(values: list) -> str:
    """`{}, {}, ...` for an IN list of a raw query (Piccolo binds each value)."""
    return ", ".join("{}" for _ in values)


# ---------------------------------------------------------------------------------------------
# The pages around the calendar: a family's header, the semaine type's choices, the
# inscriptions page (with its month recap) and the ICS feed

STATUS_LABELS = {
    "en_attente": "en attente",
    "liste_attente": "en liste d’attente",
    "validee": "validée",
    "refusee": "refusée",
    "annulee": "annulée",
}


async def family_header(family_id: int) -> dict | None:
    """The family a staff page acts for (id, code, name), or None."""
    return (
        await Family.select(Family.id, Family.code, Family.name)
        .where(Family.id == family_id)
        .first()
    )


async def active_children(family_id: int) -> list[dict]:
    return (
        await Child.select(Child.id, Child.first_name, Child.last_name, Child.level)
        .where((Child.family == family_id) & (Child.active == True))
        .order_by(Child.birth_date)
    )


def eligible(activities: list[cal.ActivityInfo], children: list[dict]) -> list[cal.ActivityInfo]:
    """The activities open to at least one of the children's levels."""
    levels = {c["level"] for c in children}
    return [a for a in activities if any(a.eligible(lv) for lv in levels)]


@dataclass
class PatternChoices:
    """What the semaine type offers: the family's children, the activities open to them, and
    the period's calendar when the dates posted make a period (it then serves the choices, the
    preview and the booking rules in one read)."""

    children: list[dict]
    activities: list[cal.ActivityInfo]
    calendar: CalendarData | None = None


async def pattern_choices(
    family_id: int, period: tuple[dt.date, dt.date] | None = None
) -> PatternChoices:
    if period is not None:
        calendar = await load_calendar(family_id, *period)
        return PatternChoices(
            calendar.children, eligible(calendar.activities, calendar.children), calendar
        )
    children = await active_children(family_id)
    activities, _ = await load_activities()
    return PatternChoices(children, eligible(activities, children))


async def month_recap(family_id: int, month: dt.date) -> list[dict]:
    """Per child and activity: booked days, days declared ill and days cancelled by a closure
    of the service in the month (one query)."""
    rows = (
        await Booking.select(
            Booking.child,
            Booking.child.first_name.as_alias("child_name"),
            Booking.activity,
            Booking.activity.short_label.as_alias("label"),
            Booking.activity.sort_order.as_alias("o"),
            Booking.day,
            Booking.state,
        )
        .where(
            (Booking.child.family == family_id)
            & (Booking.day >= month)
            & (Booking.day <= cal.month_end(month))
            & (Booking.state != "annulee")
        )
        .order_by(Booking.day)
    )
    lines: dict[tuple[int, int], dict] = {}
    for row in rows:
        line = lines.setdefault(
            (row["child"], row["activity"]),
            {
                "child": row["child_name"],
                "label": row["label"],
                "order": row["o"],
                "days": [],
                "ill": [],
                "closed": [],
            },
        )
        key = {"malade": "ill", "fermee": "closed"}.get(row["state"], "days")
        line[key].append(row["day"])
    return sorted(lines.values(), key=lambda x: (x["child"], x["order"]))


def _rank_words(rank: int) -> str:
    return f", {rank}{'er' if rank == 1 else 'e'} rang"


async def inscriptions_page(family_id: int, month: dt.date) -> dict:
    """The family's inscriptions of the current year by child, the activities each child may
    still ask for, the month's recap and the family (name, code, whether a calendar feed is
    active): 6 queries."""
    _settings, year = await load_rules_row()
    year_id = year["id"] if year else 0
    children = await active_children(family_id)
    activities, _ = await load_activities()
    rows = await Inscription.select(
        Inscription.id,
        Inscription.child,
        Inscription.activity,
        Inscription.status,
        Inscription.reason,
        Inscription.requested_at,
    ).where((Inscription.child.family == family_id) & (Inscription.school_year == year_id))
    by_child: dict[int, list[dict]] = {c["id"]: [] for c in children}
    labels = {a.id: a.label for a in activities}
    ranks = {}
    if any(row["status"] == "liste_attente" for row in rows):  # one more query, only then
        ranks = await family_waiting_ranks(family_id)
    taken = set()
    for row in rows:
        taken.add((row["child"], row["activity"]))
        by_child.setdefault(row["child"], []).append(
            row
            | {
                "label": labels.get(row["activity"], "?"),
                "status_label": STATUS_LABELS.get(row["status"], row["status"])
                + (_rank_words(ranks[row["id"]]) if row["id"] in ranks else ""),
            }
        )
    requestable = {
        c["id"]: [a for a in activities if a.eligible(c["level"]) and (c["id"], a.id) not in taken]
        for c in children
    }
    recap = await month_recap(family_id, month)
    family = (
        await Family.select(Family.name, Family.code, Family.ics_token_hash)
        .where(Family.id == family_id)
        .first()
    )
    return {
        "children": children,
        "inscriptions": by_child,
        "requestable": requestable,
        "recap": recap,
        "has_year": year is not None,
        "ics_active": bool(family and family["ics_token_hash"]),
        "family": {"name": family["name"], "code": family["code"]} if family else None,
    }


async def family_by_ics_token(token_hash: str) -> dict | None:
    """The active family whose calendar feed this token (its SHA-256) opens, or None."""
    return (
        await Family.select(Family.id, Family.name)
        .where((Family.ics_token_hash == token_hash) & (Family.active == True))
        .first()
    )


async def ics_bookings(family_id: int, today: dt.date) -> list[dict]:
    """The family's bookings from a month ago to 200 days ahead, cancelled ones left out (those
    a closure cancelled stay, for the feed to cancel their event), with what a calendar event
    shows (one query)."""
    return await Booking.select(
        Booking.id,
        Booking.day,
        Booking.state,
        Booking.updated_at,
        Booking.child.first_name.as_alias("child"),
        Booking.activity.label.as_alias("label"),
        Booking.activity.starts_at.as_alias("starts_at"),
        Booking.activity.ends_at.as_alias("ends_at"),
        Booking.school.name.as_alias("school"),
    ).where(
        (Booking.child.family == family_id)
        & (Booking.day >= today - dt.timedelta(days=31))
        & (Booking.day <= today + dt.timedelta(days=200))
        & (Booking.state != "annulee")
    )


# ---------------------------------------------------------------------------------------------
# Staff: the lists of a day (effectifs, pointage, kitchen)


async def activity_exists(activity_id: int) -> bool:
    return await Activity.exists().where(Activity.id == activity_id)


async def active_school_exists(school_id: int) -> bool:
    return await School.exists().where((School.id == school_id) & (School.active == True))


# The lists of one day, for one school or all: raw SQL, because building these Piccolo joins
# cost more than running them, and the school filter must reach the database (a commune's day
# holds tens of thousands of bookings).
LIST_SQL = (
    "SELECT {kind} AS kind, r.child, r.activity, r.school, {state} AS state, {mark} AS mark, "
    "{arrived} AS arrived, {left} AS departed, "
    "c.first_name, c.last_name, c.level, c.has_allergy AS allergy, c.needs_support AS support, "
    "c.diet, k.name AS class_name, a.label AS activity_label, a.sort_order AS activity_order "
    "FROM {table} r JOIN child c ON c.id = r.child JOIN activity a ON a.id = r.activity "
    "LEFT JOIN school_class k ON k.id = c.school_class WHERE r.day = {{}}{extra}"
)
_STANDING = " AND r.state IN (%s)" % ", ".join("'%s'" % s for s in cal.STANDING)
# A child stays on the lists while the booking stands: not cancelled, not closed by a closure.
BOOKINGS_SQL = LIST_SQL.format(
    kind="'b'",
    state="r.state",
    mark="''",
    arrived="NULL",
    left="NULL",
    table="booking",
    extra=_STANDING,
)
MARKS_SQL = LIST_SQL.format(
    kind="'m'",
    state="''",
    mark="r.status",
    arrived="r.arrived_at",
    left="r.left_at",
    table="attendance",
    extra="",
)
# Each list's size without its rows (the summary of the lists not shown, the activity filter):
# children expected (booked), on the list (booking standing) and pointed, per school and activity.
SUMMARY_SQL = (
    "SELECT r.school, r.activity, a.label AS activity_label, a.sort_order AS activity_order, "
    "a.hourly, {expected} AS expected, {listed} AS listed, {marked} AS marked "
    "FROM {table} r JOIN activity a ON a.id = r.activity WHERE r.day = {{}}{extra}{where} "
    "GROUP BY r.school, r.activity, a.label, a.sort_order, a.hourly"
)
# The kitchen's meals per school (every school's, or the one shown): an aggregate, not rows.
KITCHEN_SQL = (
    "SELECT b.school, c.diet, COUNT(*) AS meals, "
    "SUM(CASE WHEN c.has_allergy THEN 1 ELSE 0 END) AS allergies "
    "FROM booking b JOIN child c ON c.id = b.child JOIN activity a ON a.id = b.activity "
    "WHERE b.day = {} AND b.state = 'reservee' AND a.code IN (%s)"
    % ", ".join("'%s'" % code for code in sorted(cal.MEAL_CODES))
)
# One page of one list (a school, an activity; issue 17): the children booked, in name order,
# LIMIT/OFFSET, each with its mark (LEFT JOIN), then every child pointed without a booking
# standing (a few at most), after them as on the whole list. Sorting still reads every child
# of the list, but only the page's rows reach Python.
_STANDING_B = _STANDING.replace("r.state", "b.state")
LIST_PAGE_SQL = (
    "SELECT * FROM (SELECT 'b' AS kind, r.child, r.activity, r.school, r.state, "
    "COALESCE(m.status, '') AS mark, m.arrived_at AS arrived, m.left_at AS departed, "
    "c.first_name, c.last_name, c.level, c.has_allergy AS allergy, c.needs_support AS support, "
    "c.diet, k.name AS class_name, a.label AS activity_label, a.sort_order AS activity_order "
    "FROM booking r JOIN child c ON c.id = r.child JOIN activity a ON a.id = r.activity "
    "LEFT JOIN school_class k ON k.id = c.school_class "
    "LEFT JOIN attendance m ON m.child = r.child AND m.activity = r.activity "
    "AND m.day = r.day AND m.school = r.school "
    f"WHERE r.day = {{}} AND r.school = {{}} AND r.activity = {{}}{_STANDING} "
    "ORDER BY c.last_name, c.first_name, r.child LIMIT {} OFFSET {}) p "
    f"UNION ALL SELECT * FROM ({MARKS_SQL} AND r.school = {{}} AND r.activity = {{}} "
    "AND r.child NOT IN (SELECT b.child FROM booking b WHERE b.day = {} AND b.school = {} "
    f"AND b.activity = {{}}{_STANDING_B})) u "
    "ORDER BY kind, last_name, first_name, child"
)
LIST_TYPES = {"allergy": bool, "support": bool, "arrived": dt.time, "departed": dt.time}
SUMMARY_TYPES = {"hourly": bool, "expected": int, "listed": int, "marked": int}
KITCHEN_TYPES = {"meals": int, "allergies": int}


async def _list_rows(
    day: dt.date, school_id: int | None, activity_id: int | None
) -> tuple[list[dict], list[dict]]:
    where, extra = "", []
    if school_id is not None:
        where, extra = " AND r.school = {}", [school_id]
    if activity_id is not None:
        where, extra = where + " AND r.activity = {}", [*extra, activity_id]
    args = [day, *extra]
    rows = await fetch(
        f"{BOOKINGS_SQL}{where} UNION ALL {MARKS_SQL}{where} ORDER BY last_name, first_name, child",
        *args,
        *args,
        types=LIST_TYPES,
    )
    bookings = [r for r in rows if r["kind"] == "b"]
    marks = [r for r in rows if r["kind"] == "m"]
    return bookings, marks


async def _list_page_rows(
    day: dt.date, school_id: int, activity_id: int, offset: int, limit: int
) -> tuple[list[dict], list[dict]]:
    """One page of a list (LIST_PAGE_SQL): the booked children from `offset` (`limit` of
    them, marks included) and every child pointed without a booking."""
    rows = await fetch(
        LIST_PAGE_SQL,
        day,
        school_id,
        activity_id,
        limit,
        offset,
        day,
        school_id,
        activity_id,
        day,
        school_id,
        activity_id,
        types=LIST_TYPES,
    )
    return [r for r in rows if r["kind"] == "b"], [r for r in rows if r["kind"] == "m"]


def page_of(
    group: dict, size: int, page: int, total: int | None = None, focus_child: int | None = None
) -> dict:
    """A list's paging, in `group`: the whole list's size (`total`, else its children), the
    page shown (from 1, past the end: the last; with `focus_child`, that child's page), the
    number of pages and each page's range; the children sliced to the page when `total` is
    not given (they were all read)."""
    children = group["children"]
    whole = len(children) if total is None else total
    pages = max(1, -(-whole // size))
    if focus_child is not None and total is None:
        index = next((i for i, c in enumerate(children) if c["child"] == focus_child), None)
        if index is not None:
            page = index // size + 1
    page = min(max(page, 1), pages)
    start = (page - 1) * size
    if total is None:
        children = children[start : start + size]
    group.update(
        total=whole,
        page=page,
        pages=pages,
        paged=pages > 1,
        first=start + 1,
        last=min(start + size, whole),
        page_ranges=[(n + 1, n * size + 1, min((n + 1) * size, whole)) for n in range(pages)],
        children=children,
    )
    return group


async def _summary(day: dt.date, school_id: int | None) -> list[dict]:
    """Every list of the day (of one school, or all): its size, in one aggregate query."""
    where, extra = ("", []) if school_id is None else (" AND r.school = {}", [school_id])
    booked = SUMMARY_SQL.format(
        expected="SUM(CASE WHEN r.state = 'reservee' THEN 1 ELSE 0 END)",
        listed="COUNT(*)",
        marked="0",
        table="booking",
        extra=_STANDING,
        where=where,
    )
    marked = SUMMARY_SQL.format(
        expected="0", listed="0", marked="COUNT(*)", table="attendance", extra="", where=where
    )
    rows = await fetch(
        f"{booked} UNION ALL {marked}", day, *extra, day, *extra, types=SUMMARY_TYPES
    )
    lists: dict[tuple[int, int], dict] = {}
    for r in rows:
        entry = lists.setdefault(
            (r["school"], r["activity"]),
            {
                "school_id": r["school"],
                "activity_id": r["activity"],
                "activity": r["activity_label"],
                "order": r["activity_order"],
                "hourly": r["hourly"],
                "expected": 0,
                "listed": 0,
                "marked": 0,
            },
        )
        for key in ("expected", "listed", "marked"):
            entry[key] += r[key]
    return list(lists.values())


def _group(school_id: int, school: str, row: dict, hourly: bool) -> dict:
    return {
        "school_id": school_id,
        "school": school,
        "activity_id": row["activity"],
        "activity": row["activity_label"],
        "order": row["activity_order"],
        "hourly": hourly,
        "children": [],
        "expected": 0,
    }


FIRST = "first"  # attendance_day(activity=FIRST): the school's first list of the day


async def attendance_day(
    day: dt.date,
    school_id: int | None,
    activity: int | str | None = None,
    *,
    lists: bool | None = True,
    max_all: int | None = None,
    page_size: int | None = None,
    page: int = 1,
    focus_child: int | None = None,
) -> dict | None:
    """Expected children per school and activity for a day, their pointage, and the kitchen's
    headcount per school; five queries whatever the number of children (schools, the lists'
    sizes, the rows of the lists shown, kitchen, children who may be added). None when
    `school_id` names no active school.

    `activity`: None for every activity, an activity id for that one, FIRST for the first
    (in the activities' order) that has a list in the school that day; `lists=False` reads
    only the sizes (the overview of every school), `lists=None` the lists of the school
    chosen (or of the only one) and the sizes otherwise. `max_all`: beyond that many children
    in the school's day, None (every list) gives FIRST instead (`capped`). A school's day at 10,000 families is a few
    hundred rows per activity: the page shows one activity's list at a time.

    `page_size`: one activity's list is read a page at a time (`page`, see page_of), in SQL
    (LIST_PAGE_SQL: only the page's rows reach Python), or in Python when the page is the one
    `focus_child` is on; every list of « toutes » (`activity` None) is read whole.
    Each group then says its paging (page_of)."""
    schools = await fetch("SELECT id, name FROM school WHERE active = {} ORDER BY name", True)
    if school_id is not None and school_id not in {s["id"] for s in schools}:
        return None
    if lists is None:  # the lists of one school; with no school chosen, those of the only one
        if school_id is None and len(schools) == 1:
            school_id = schools[0]["id"]
        lists = school_id is not None
    overview = not lists
    names = {s["id"]: s["name"] for s in schools}
    summary = [
        s | {"school": names[s["school_id"]]}
        for s in await _summary(day, school_id)
        if s["school_id"] in names
    ]
    summary.sort(key=lambda s: (s["school"], s["order"], s["activity"]))
    capped = False
    if activity is None and lists and school_id is not None and max_all is not None:
        # Every list on one page only while the page stays light (≤ 30 KB compressed).
        if sum(s["listed"] for s in summary if s["school_id"] == school_id) > max_all:
            activity, capped = FIRST, True
    activity_id = activity
    if activity == FIRST:
        activity_id = summary[0]["activity_id"] if summary else None
        if not summary:
            lists = False
    hourly = {(s["school_id"], s["activity_id"]): s["hourly"] for s in summary}
    paging = page_size is not None and lists and activity_id is not None
    in_sql = paging and school_id is not None and focus_child is None
    sizes = {(s["school_id"], s["activity_id"]): s for s in summary}
    this = sizes.get((school_id, activity_id), {"listed": 0, "expected": 0})
    if in_sql:
        # The booked children of the page, then the unbooked ones past them (all of them).
        start = (max(page, 1) - 1) * page_size
        limit = max(0, min(page_size, this["listed"] - start))
        bookings, attendance = await _list_page_rows(
            day, school_id, activity_id, min(start, this["listed"]), limit
        )
        total = this["listed"] + len(attendance)
        last = max(1, -(-total // page_size))
        if page > last:  # past the end (the list shrank): the last page, read again
            return await attendance_day(
                day,
                school_id,
                activity,
                lists=lists,
                max_all=max_all,
                page_size=page_size,
                page=last,
            )
        unbooked_from = max(0, start - this["listed"])
        attendance = attendance[unbooked_from : unbooked_from + page_size - limit]
        marks = {(r["child"], r["activity"]): r for r in bookings}
    else:
        bookings, attendance = await _list_rows(day, school_id, activity_id) if lists else ([], [])
        marks = {(r["child"], r["activity"]): r for r in attendance}
    kitchen: dict[int, dict] = {
        s["id"]: {"school": s["name"], "meals": 0, "allergies": 0, "diets": {}, "menus": {}}
        for s in schools
        if school_id is None or s["id"] == school_id
    }
    kitchen_sql, kitchen_args = KITCHEN_SQL, [day]
    if school_id is not None:
        kitchen_sql, kitchen_args = f"{kitchen_sql} AND b.school = {{}}", [day, school_id]
    for row in await fetch(
        f"{kitchen_sql} GROUP BY b.school, c.diet", *kitchen_args, types=KITCHEN_TYPES
    ):
        k = kitchen.get(row["school"])
        if k is None:
            continue
        k["meals"] += row["meals"]
        k["allergies"] += row["allergies"]
        if row["diet"] and row["diet"] != "standard":
            k["diets"][row["diet"]] = k["diets"].get(row["diet"], 0) + row["meals"]
        # The kitchen sheet's menus: a child with a PAI (allergy) counts as « PAI » only.
        diet = row["diet"] or "standard"
        k["menus"][diet] = k["menus"].get(diet, 0) + row["meals"] - row["allergies"]
    groups: dict[tuple[int, int], dict] = {}
    for b in bookings:
        if b["school"] not in names:
            continue
        key = (b["school"], b["activity"])
        group = groups.get(key) or groups.setdefault(
            key, _group(b["school"], names[b["school"]], b, hourly.get(key, False))
        )
        mark = marks.get((b["child"], b["activity"]))
        group["children"].append(
            b
            | {
                "mark": mark["mark"] if mark else "",
                "arrived": mark["arrived"] if mark else None,
                "departed": mark["departed"] if mark else None,
            }
        )
        group["expected"] += 1 if b["state"] == "reservee" else 0
    # Children pointed without a booking (or whose booking was cancelled): listed too, flagged,
    # since billing charges them the majoration.
    listed = {(b["child"], b["activity"]) for b in bookings}
    for a in attendance:
        key = (a["school"], a["activity"])
        if (a["child"], a["activity"]) in listed or a["school"] not in names:
            continue
        group = groups.get(key) or groups.setdefault(
            key, _group(a["school"], names[a["school"]], a, hourly.get(key, False))
        )
        group["children"].append(a | {"state": "sans_reservation"})
    candidates = await unbooked_candidates(
        day,
        sorted({g["school_id"] for g in groups.values()}),
        sorted({g["activity_id"] for g in groups.values()}),
    )
    for key, group in groups.items():
        on_list = {c["child"] for c in group["children"]}
        group["candidates"] = [c for c in candidates.get(key, []) if c["child"] not in on_list]
        # The add select's options, built here once: in the template they cost ~7 µs each,
        # and a list offers up to ~190 children at 10,000 families.
        group["candidate_options"] = [
            (str(c["child"]), f"{c['last_name']} {c['first_name']}") for c in group["candidates"]
        ]
        if in_sql:
            group["expected"] = this["expected"]  # the whole list's, not the page's
            page_of(group, page_size, page, total=total)
        elif paging:
            page_of(group, page_size, page, focus_child=focus_child)
    ordered = sorted(groups.values(), key=lambda g: (g["school"], g["order"]))
    # The activity filter: the day's activities (of the school shown), in their order.
    activities: dict[int, dict] = {}
    for s in sorted(summary, key=lambda s: (s["order"], s["activity"])):
        a = activities.setdefault(
            s["activity_id"],
            {"id": s["activity_id"], "label": s["activity"], "expected": 0, "listed": 0},
        )
        a["expected"] += s["expected"]
        a["listed"] += s["listed"]
    return {
        "day": day,
        "schools": schools,
        "school_id": school_id,
        "activity_id": activity_id,
        "activities": list(activities.values()),
        "summary": summary,
        "groups": ordered,
        "kitchen": list(kitchen.values()),
        "overview": overview,
        "capped": capped,
    }


async def unbooked_candidates(
    day: dt.date, school_ids: list[int], activity_ids: list[int]
) -> dict[tuple[int, int], list[dict]]:
    """Active children of these schools holding a validated inscription, for the school year
    covering `day`, to these activities: {(school, activity): [child, ...]} in one query.
    The inscription is required because it carries the family's consent and health file;
    a child without one has to be inscribed first. The caller drops the children already on
    a list; for one list (the page's usual case) SQL leaves them out already: most of a
    school's children are on its lunch list, and reading their rows only to drop them cost
    as much as the rest of the page's reads (issue 17). The list's children come from the
    booking index (day, school, activity, state, child) without reading the bookings."""
    if not school_ids or not activity_ids:
        return {}
    args: list = [True, *school_ids, *activity_ids, day, day]
    on_list = ""
    if len(school_ids) == 1 and len(activity_ids) == 1:
        on_list = (
            "AND i.child NOT IN (SELECT b.child FROM booking b WHERE b.day = {} "
            "AND b.school = {} AND b.activity = {}"
            f"{_STANDING.replace('r.state', 'b.state')}) "
            "AND i.child NOT IN (SELECT t.child FROM attendance t WHERE t.day = {} "
            "AND t.school = {} AND t.activity = {}) "
        )
        args += [day, school_ids[0], activity_ids[0]] * 2
    rows = await fetch(
        "SELECT i.child, i.activity, c.first_name, c.last_name, c.school "
        "FROM inscription i JOIN child c ON c.id = i.child "
        "JOIN school_year y ON y.id = i.school_year "
        "WHERE i.status = 'validee' AND c.active = {} "
        f"AND c.school IN ({placeholders(school_ids)}) "
        f"AND i.activity IN ({placeholders(activity_ids)}) "
        "AND y.starts_on <= {} AND y.ends_on >= {} "
        f"{on_list}"
        "ORDER BY c.last_name, c.first_name, i.child",
        *args,
    )
    out: dict[tuple[int, int], list[dict]] = {}
    seen: set[tuple[int, int]] = set()
    for r in rows:
        if (r["child"], r["activity"]) in seen:
            continue
        seen.add((r["child"], r["activity"]))
        out.setdefault((r["school"], r["activity"]), []).append(r)
    return out
