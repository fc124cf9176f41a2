"""The booking calendar rules, pure and DB-free: running days, closures, deadlines, illness
cut-off and the state of one calendar cell. Everything here takes plain values and a `now`."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

import holidays
from vacances_scolaires_france import SchoolHolidayDates, UnsupportedYearException

from ecp.clock import PARIS
from ecp.web.params import parse_month as parse_month_code
from ecp.web.params import parse_week as parse_week_code

# Activities whose day includes a meal: the kitchen counts them.
MEAL_CODES = frozenset({"restauration", "alsh_mercredi_journee", "alsh_mercredi_matin"})
FEW_PLACES = 5  # "places left" is shown at or under this number


# ---------------------------------------------------------------------------------------------
# Weeks and months


def parse_week(value: str | None, today: dt.date) -> dt.date | None:
    """'2026-W49' -> the Monday of that ISO week; None when malformed. Without a value: this
    school week, or the coming one at the weekend (a parent booking on Sunday means Monday)."""
    if not value:
        monday = today - dt.timedelta(days=today.weekday())
        return monday + dt.timedelta(days=7) if today.weekday() >= 5 else monday
    # Within the years the app computes around (a calendar spans weeks on both sides).
    return parse_week_code(value)


def week_code(monday: dt.date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def parse_month(value: str | None, today: dt.date) -> dt.date | None:
    if not value:
        return today.replace(day=1)
    return parse_month_code(value)


def month_end(first: dt.date) -> dt.date:
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return nxt - dt.timedelta(days=1)


def days_between(start: dt.date, end: dt.date):
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


# ---------------------------------------------------------------------------------------------
# Holidays


@functools.lru_cache(maxsize=32)
def _public_holidays(year: int) -> dict:
    return dict(holidays.France(years=year, language="fr"))


def public_holiday(day: dt.date) -> str | None:
    return _public_holidays(day.year).get(day)


@functools.lru_cache(maxsize=1)
def _school_dates() -> SchoolHolidayDates:
    return SchoolHolidayDates()


@functools.lru_cache(maxsize=4096)
def school_holiday(day: dt.date, zone: str) -> str | None:
    """The name of the zone's school holidays covering `day`; the package ships its dates."""
    dates = _school_dates()
    try:
        if not dates.is_holiday_for_zone(day, zone):
            return None
    except UnsupportedYearException:
        # Beyond the package's data: the administrator's closures must cover it.
        return None
    info = dates.holidays_for_year_and_zone(day.year, zone).get(day) or {}
    return info.get("nom_vacances") or "Vacances scolaires"


def warm_up(today: dt.date) -> None:
    """Loads the holiday data now (about 140 ms: the packages build their tables on first
    use), for the school year around `today`, so that no family's request pays for it."""
    _school_dates()
    for year in (today.year - 1, today.year, today.year + 1):
        _public_holidays(year)


def is_working_day(day: dt.date) -> bool:
    """Jour ouvré: Monday to Friday, not a public holiday (school holidays are working days)."""
    return day.weekday() < 5 and public_holiday(day) is None


# ---------------------------------------------------------------------------------------------
# Rules


@dataclass(frozen=True)
class ClosureSpec:
    starts_on: dt.date
    ends_on: dt.date
    school_id: int | None
    activity_id: int | None
    reason: str

    def covers(self, day: dt.date, school_id: int | None, activity_id: int) -> bool:
        return (
            self.starts_on <= day <= self.ends_on
            and (self.school_id is None or self.school_id == school_id)
            and (self.activity_id is None or self.activity_id == activity_id)
        )


@dataclass(frozen=True)
class Rules:
    """The commune's settings and the school year, as the rules need them."""

    year_start: dt.date | None
    year_end: dt.date | None
    zone: str = "C"
    deadline_working_days: int = 2
    deadline_time: dt.time = dt.time(23, 59)
    illness_cutoff: dt.time = dt.time(9, 0)
    closures: tuple[ClosureSpec, ...] = field(default_factory=tuple)

    @classmethod
    def from_rows(cls, settings: dict, year: dict | None, closures: list[dict]) -> Rules:
        return cls(
            year_start=year["starts_on"] if year else None,
            year_end=year["ends_on"] if year else None,
            zone=(settings.get("school_zone") or "C").upper(),
            deadline_working_days=int(settings.get("booking_deadline_working_days", 2)),
            # Rows come typed (ecp.db.fetch); a time is never falsy, None takes the default.
            deadline_time=settings.get("booking_deadline_time") or dt.time(23, 59),
            illness_cutoff=settings.get("illness_cutoff_time") or dt.time(9, 0),
            closures=tuple(
                ClosureSpec(
                    c["starts_on"],
                    c["ends_on"],
                    c.get("school"),
                    c.get("activity"),
                    c.get("reason") or "Fermeture",
                )
                for c in closures
            ),
        )


@dataclass(frozen=True)
class ActivityInfo:
    id: int
    code: str
    label: str
    short_label: str
    weekdays: frozenset[int]
    eligible_levels: frozenset[str]
    group_code: str
    deadline_rule: str
    starts_at: dt.time
    ends_at: dt.time

    @classmethod
    def from_row(cls, row: dict) -> ActivityInfo:
        return cls(
            id=row["id"],
            code=row["code"],
            label=row["label"],
            short_label=row.get("short_label") or row["label"],
            weekdays=frozenset(int(d) for d in str(row["weekdays"]).split(",") if d.strip()),
            eligible_levels=frozenset(
                v.strip() for v in str(row["eligible_levels"]).split(",") if v.strip()
            ),
            group_code=row.get("group_code") or "",
            deadline_rule=row.get("deadline_rule") or "working_days",
            starts_at=row.get("starts_at") or dt.time(8, 0),
            ends_at=row.get("ends_at") or dt.time(9, 0),
        )

    @functools.cached_property
    def hours(self) -> str:
        """'16:30–18:30', as the calendar shows it under the activity's name."""
        return f"{self.starts_at:%H:%M}–{self.ends_at:%H:%M}"

    def eligible(self, level: str) -> bool:
        return not self.eligible_levels or level in self.eligible_levels


def closed_reason(
    day: dt.date, activity: ActivityInfo, school_id: int | None, rules: Rules
) -> str | None:
    """Why the activity does not run that day for that school, or None when it runs."""
    if day.isoweekday() not in activity.weekdays:
        return "Pas d’activité ce jour-là"
    if rules.year_start is None or not (rules.year_start <= day <= rules.year_end):
        return "Hors de l’année scolaire"
    name = public_holiday(day)
    if name:
        return f"Jour férié ({name})"
    name = school_holiday(day, rules.zone)
    if name:
        return name
    for closure in rules.closures:
        if closure.covers(day, school_id, activity.id):
            return closure.reason
    return None


def deadline_day(day: dt.date, activity: ActivityInfo, rules: Rules) -> dt.date:
    return _deadline_day(day, activity.deadline_rule, rules.deadline_working_days)


# A week page asks the same few (day, rule) deadlines for every child and activity.
@functools.lru_cache(maxsize=8192)
def _deadline_day(day: dt.date, rule: str, working_days: int) -> dt.date:
    if rule == "previous_wednesday":
        back = (day.weekday() - 2) % 7 or 7  # strictly before: a Wednesday gives the one before
        return day - dt.timedelta(days=back)
    current, counted = day, 0
    while counted < working_days:
        current -= dt.timedelta(days=1)
        if is_working_day(current):
            counted += 1
    return current


def deadline(day: dt.date, activity: ActivityInfo, rules: Rules) -> dt.datetime:
    """The last minute (Paris) at which a family may book or cancel `day`: '23:59' means until
    23:59:59, so the instant returned is the start of that minute."""
    return _deadline(day, activity.deadline_rule, rules.deadline_working_days, rules.deadline_time)


@functools.lru_cache(maxsize=8192)
def _deadline(day: dt.date, rule: str, working_days: int, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(_deadline_day(day, rule, working_days), time, tzinfo=PARIS)


def _until(limit: dt.datetime, now: dt.datetime) -> bool:
    return now.astimezone(PARIS) < limit + dt.timedelta(minutes=1)


def open_for_family(day: dt.date, activity: ActivityInfo, rules: Rules, now: dt.datetime) -> bool:
    return _until(deadline(day, activity, rules), now)


def illness_open(day: dt.date, rules: Rules, now: dt.datetime) -> bool:
    """A parent may declare the child ill on the day itself, until the cut-off minute."""
    local = now.astimezone(PARIS)
    return local.date() == day and _until(
        dt.datetime.combine(day, rules.illness_cutoff, tzinfo=PARIS), now
    )


# ---------------------------------------------------------------------------------------------
# A booking's states (Booking.state): booked; cancelled (by the family or the service); declared
# ill (place freed, not billed); closed, cancelled by a closure of the commune (not billed, the
# family told by e-mail; the day's place counter is left as it was, the day being closed).
BOOKING_STATES = {
    "reservee": "réservé",
    "annulee": "annulé",
    "malade": "absence signalée",
    "fermee": "fermé",
}
# The states that keep a child on the day's lists (effectifs, pointage, kitchen for "reservee").
STANDING = ("reservee", "malade")


# ---------------------------------------------------------------------------------------------
# One cell of the calendar

LABELS = {
    "reserve": "réservé",
    "libre": "libre",
    "complet": "complet",
    "ferme": "fermé",
    "delai": "délai dépassé",
    "non_inscrit": "non inscrit",
    "malade": "absence signalée",
}


@dataclass(frozen=True)
class Cell:
    state: str
    action: str | None  # "reserver", "annuler", "malade" or None
    places_left: int | None
    deadline: dt.datetime | None
    reason: str = ""
    late: bool = False  # booked, past the deadline (only staff may cancel)

    @property
    def label(self) -> str:
        return LABELS[self.state]


def cell_state(
    *,
    day: dt.date,
    activity: ActivityInfo,
    level: str,
    school_id: int | None,
    inscribed: bool,
    booking_state: str | None,
    booked: int,
    capacity: int,
    rules: Rules,
    now: dt.datetime,
    staff: bool = False,
) -> Cell:
    """The state of one child x activity x day, and the one action a tap performs.

    `booked` is the places taken (Slot.booked); `capacity` 0 means unlimited. Staff ignore the
    deadline (the rule docs/product.md gives them), never capacity or closures. A booking
    "fermee" (cancelled by a closure) shows as the closed day while the closure stands, and as
    a free day once it is removed: nothing is rebooked by itself.
    """
    limit = deadline(day, activity, rules)
    if booking_state == "malade":
        return Cell("malade", None, None, limit)
    if booking_state == "reservee":
        if staff or open_for_family(day, activity, rules, now):
            return Cell("reserve", "annuler", None, limit)
        if illness_open(day, rules, now):
            return Cell("reserve", "malade", None, limit, late=True)
        return Cell("reserve", None, None, limit, late=True)
    reason = closed_reason(day, activity, school_id, rules)
    if reason:
        return Cell("ferme", None, None, None, reason)
    if not activity.eligible(level) or not inscribed:
        return Cell("non_inscrit", None, None, limit)
    if not staff and not open_for_family(day, activity, rules, now):
        return Cell("delai", None, None, limit)
    left = None if capacity <= 0 else max(capacity - booked, 0)
    if left == 0:
        return Cell("complet", None, 0, limit)
    return Cell(
        "libre", "reserver", left if left is not None and left <= FEW_PLACES else None, limit
    )
