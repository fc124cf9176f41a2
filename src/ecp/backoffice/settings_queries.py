"""Staff > Paramètres: what its pages read (administrators only). Plain dicts, as the templates
use them; nothing here writes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ecp import clock
from ecp.auth import mfa
from ecp.auth.principal import ROLE_LABELS
from ecp.auth.scope import staff_school_ids
from ecp.auth.tables import StaffUser
from ecp.booking.calendar import STANDING
from ecp.booking.tables import Booking
from ecp.commune.queries import commune_settings
from ecp.commune.tables import (
    Activity,
    ActivityCapacity,
    Closure,
    School,
    SchoolClass,
    SchoolYear,
)
from ecp.db import aware, fetch

# Closures are listed from two months back: the recent ones explain an invoice's missing days.
CLOSURES_SHOWN_SINCE = dt.timedelta(days=60)


async def overview() -> dict:
    """The settings page: the rules, school years, schools, activities, recent and coming
    closures, staff accounts, and the choices of the closure form."""
    rules = await commune_settings()
    years = await SchoolYear.select().order_by(SchoolYear.starts_on, ascending=False)
    schools = await School.select().order_by(School.name)
    activities = await Activity.select().order_by(Activity.sort_order)
    closures = (
        await Closure.select(
            *Closure.all_columns(),
            Closure.school.name.as_alias("school_name"),
            Closure.activity.label.as_alias("activity_label"),
        )
        .where(Closure.ends_on >= clock.today() - CLOSURES_SHOWN_SINCE)
        .order_by(Closure.starts_on)
    )
    staff = await StaffUser.select(
        StaffUser.id, StaffUser.username, StaffUser.display_name, StaffUser.role, StaffUser.active
    ).order_by(StaffUser.username)
    for s in staff:
        s["role_label"] = ROLE_LABELS.get(s["role"], s["role"])
    return {
        "rules": rules,
        "years": years,
        "current_year": next((y for y in years if y["is_current"]), None),
        "schools": schools,
        "activities": activities,
        "closures": closures,
        "staff": staff,
        "school_options": [("", "toutes les écoles")]
        + [(str(s["id"]), s["name"]) for s in schools],
        "activity_options": [("", "toutes les activités")]
        + [(str(a["id"]), a["label"]) for a in activities],
    }


async def school(school_id: int) -> dict | None:
    return await School.select().where(School.id == school_id).first()


async def school_class_names(school_id: int) -> list[str]:
    """The school's classes of the current school year, by name."""
    rows = (
        await SchoolClass.select(SchoolClass.name)
        .where(
            (SchoolClass.school == school_id) & (SchoolClass.school_year.is_current == True)  # noqa: E712
        )
        .order_by(SchoolClass.name)
    )
    return [r["name"] for r in rows]


async def school_names() -> dict[int, str]:
    """Every school's name by id: a school's name is unique."""
    return {r["id"]: r["name"] for r in await School.select(School.id, School.name)}


async def activity_page(activity_id: int | None = None) -> dict | None:
    """An activity's page (None: a new one): the activity and its places by school, the
    schools, the exclusive groups in use, and the other activities (their codes and labels
    are taken). None when activity_id names no activity."""
    rows = await Activity.select().order_by(Activity.sort_order, Activity.id)
    activity = None
    capacities: dict[int, int] = {}
    if activity_id is not None:
        activity = next((r for r in rows if r["id"] == activity_id), None)
        if activity is None:
            return None
        capacities = {
            c["school"]: c["capacity"]
            for c in await ActivityCapacity.select(
                ActivityCapacity.school, ActivityCapacity.capacity
            ).where(ActivityCapacity.activity == activity_id)
        }
    members: dict[str, list[str]] = {}
    for row in rows:
        if row["group_code"]:
            members.setdefault(row["group_code"], []).append(row["label"])
    groups = [("", "aucun : se cumule avec les autres activités")] + [
        (code, f"{code} : {', '.join(labels)}") for code, labels in members.items()
    ]
    group_code = activity["group_code"] if activity else ""
    return {
        "activity": activity,
        "capacities": capacities,
        "schools": await School.select(School.id, School.name).order_by(School.name),
        "groups": groups,
        "group_label": (dict(groups).get(group_code, group_code) if group_code else "aucun"),
        "others": [r for r in rows if r["id"] != activity_id],
    }


async def staff_account(staff_id: int) -> dict | None:
    """The account and the schools it is limited to (`school_ids`, empty: every school)."""
    account = (
        await StaffUser.select(
            StaffUser.id,
            StaffUser.username,
            StaffUser.display_name,
            StaffUser.email,
            StaffUser.role,
            StaffUser.active,
        )
        .where(StaffUser.id == staff_id)
        .first()
    )
    if account is not None:
        account["school_ids"] = await staff_school_ids(staff_id)
    return account


async def school_choices() -> list[tuple[str, str]]:
    """The active schools, for the staff account's « Écoles » boxes."""
    rows = await School.select(School.id, School.name).where(School.active == True)  # noqa: E712
    return [(str(r["id"]), r["name"]) for r in sorted(rows, key=lambda r: r["name"])]


async def staff_usernames() -> set[str]:
    return {r["username"] for r in await StaffUser.select(StaffUser.username)}


async def staff_enrolment(staff_id: int) -> dict | None:
    """When the member enrolled an authenticator, or None."""
    enrolment = await mfa.enrolment(staff_id)
    if enrolment:
        enrolment["enrolled_at"] = aware(enrolment["enrolled_at"])
    return enrolment


# ---------------------------------------------------------------- closures and their bookings


@dataclass(frozen=True)
class ClosureScope:
    """What a closure covers: its days, one school or all (None), one activity or all."""

    starts_on: dt.date
    ends_on: dt.date
    reason: str
    school_id: int | None = None
    activity_id: int | None = None
    school_name: str = ""
    activity_label: str = ""

    @property
    def school_text(self) -> str:
        return self.school_name or "toutes les écoles"

    @property
    def activity_text(self) -> str:
        return self.activity_label or "toutes les activités"

    @property
    def one_day(self) -> bool:
        return self.starts_on == self.ends_on

    def covers(self, day: dt.date, school_id: int | None, activity_id: int) -> bool:
        return (
            self.starts_on <= day <= self.ends_on
            and (self.school_id is None or self.school_id == school_id)
            and (self.activity_id is None or self.activity_id == activity_id)
        )


@dataclass
class ChildDay:
    day: dt.date
    activities: list[str] = field(default_factory=list)


@dataclass
class ChildBookings:
    id: int
    first_name: str
    last_name: str
    days: list[ChildDay] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class FamilyBookings:
    id: int
    code: str
    name: str
    email: str
    children: list[ChildBookings] = field(default_factory=list)
    bookings: int = 0


@dataclass
class ClosureImpact:
    """The bookings a closure hits (or, for a closure removed, those it had cancelled), by
    family, child and day, as the preview, the e-mails and the journal tell them."""

    scope: ClosureScope
    families: list[FamilyBookings] = field(default_factory=list)
    booking_ids: list[int] = field(default_factory=list)

    @property
    def bookings(self) -> int:
        return len(self.booking_ids)

    @property
    def children(self) -> int:
        return sum(len(f.children) for f in self.families)

    @property
    def days(self) -> list[dt.date]:
        return sorted({d.day for f in self.families for c in f.children for d in c.days})


_BOOKING_COLUMNS = (
    Booking.id,
    Booking.day,
    Booking.school,
    Booking.activity,
    Booking.child,
    Booking.child.first_name.as_alias("first_name"),
    Booking.child.last_name.as_alias("last_name"),
    Booking.child.family.as_alias("family"),
    Booking.child.family.code.as_alias("family_code"),
    Booking.child.family.name.as_alias("family_name"),
    Booking.child.family.email.as_alias("family_email"),
    Booking.activity.short_label.as_alias("activity_label"),
    Booking.activity.sort_order.as_alias("activity_order"),
)


def scope_condition(scope: ClosureScope):
    """The bookings' WHERE of a scope (the state aside)."""
    where = (Booking.day >= scope.starts_on) & (Booking.day <= scope.ends_on)
    if scope.school_id is not None:
        where &= Booking.school == scope.school_id
    if scope.activity_id is not None:
        where &= Booking.activity == scope.activity_id
    return where


def group_by_family(scope: ClosureScope, rows: list[dict]) -> ClosureImpact:
    """Booking rows (of _BOOKING_COLUMNS) grouped by family (by name, then code), child (by
    first name) and day, each day's activities in the calendar's order."""
    rows = sorted(
        rows,
        key=lambda r: (
            r["family_name"].casefold(),
            r["family_code"],
            r["first_name"].casefold(),
            r["child"],
            r["day"],
            r["activity_order"],
        ),
    )
    impact = ClosureImpact(scope)
    families: dict[int, FamilyBookings] = {}
    children: dict[int, ChildBookings] = {}
    for r in rows:
        family = families.get(r["family"])
        if family is None:
            family = families[r["family"]] = FamilyBookings(
                r["family"], r["family_code"], r["family_name"], r["family_email"] or ""
            )
            impact.families.append(family)
        child = children.get(r["child"])
        if child is None:
            child = children[r["child"]] = ChildBookings(
                r["child"], r["first_name"], r["last_name"]
            )
            family.children.append(child)
        if not child.days or child.days[-1].day != r["day"]:
            child.days.append(ChildDay(r["day"]))
        child.days[-1].activities.append(r["activity_label"])
        family.bookings += 1
        impact.booking_ids.append(r["id"])
    return impact


async def closure_target_names(school_id: int | None, activity_id: int | None) -> dict:
    """{"school": name or None, "activity": label or None}: None also when the id names
    nothing (the service refuses it)."""
    school = activity = None
    if school_id is not None:
        row = await School.select(School.name).where(School.id == school_id).first()
        school = row["name"] if row else None
    if activity_id is not None:
        row = await Activity.select(Activity.label).where(Activity.id == activity_id).first()
        activity = row["label"] if row else None
    return {"school": school, "activity": activity}


async def bookings_hit(scope: ClosureScope, ids: list[int] | None = None) -> ClosureImpact:
    """The standing bookings (booked or declared ill) a closure of this scope would cancel;
    with `ids`, those bookings only, whatever their state (after the update). One query."""
    if ids is not None:
        where = Booking.id.is_in(ids or [0])
    else:
        where = scope_condition(scope) & Booking.state.is_in(list(STANDING))
    return group_by_family(scope, await Booking.select(*_BOOKING_COLUMNS).where(where))


async def closure_scope(closure_id: int) -> ClosureScope | None:
    row = (
        await Closure.select(
            *Closure.all_columns(),
            Closure.school.name.as_alias("school_name"),
            Closure.activity.label.as_alias("activity_label"),
        )
        .where(Closure.id == closure_id)
        .first()
    )
    if row is None:
        return None
    return ClosureScope(
        row["starts_on"],
        row["ends_on"],
        row["reason"],
        row["school"],
        row["activity"],
        row["school_name"] or "",
        row["activity_label"] or "",
    )


async def bookings_closed_by(closure_id: int, scope: ClosureScope) -> ClosureImpact:
    """The bookings this closure cancelled (state "fermee" in its scope) that no other closure
    covers: the days a family may book again once it is removed. Two queries."""
    others = [
        ClosureScope(c["starts_on"], c["ends_on"], "", c["school"], c["activity"])
        for c in await Closure.select(
            Closure.starts_on, Closure.ends_on, Closure.school, Closure.activity
        ).where(
            (Closure.id != closure_id)
            & (Closure.starts_on <= scope.ends_on)
            & (Closure.ends_on >= scope.starts_on)
        )
    ]
    rows = await Booking.select(*_BOOKING_COLUMNS).where(
        scope_condition(scope) & (Booking.state == "fermee")
    )
    rows = [
        r for r in rows if not any(o.covers(r["day"], r["school"], r["activity"]) for o in others)
    ]
    return group_by_family(scope, rows)


# ---------------------------------------------------------------- places and bookings


async def booked_per_day(activity_id: int, since: dt.date) -> list[dict]:
    """The activity's bookings standing booked from `since` on, per school and day:
    [{"school", "school_name", "day", "booked"}] by day then school. One query."""
    return await fetch(
        "SELECT b.school, s.name AS school_name, b.day, COUNT(*) AS booked "
        "FROM booking b JOIN school s ON s.id = b.school "
        "WHERE b.activity = {} AND b.state = 'reservee' AND b.day >= {} "
        "GROUP BY b.school, s.name, b.day ORDER BY b.day, s.name",
        activity_id,
        since,
        types={"day": dt.date, "booked": int},
    )
