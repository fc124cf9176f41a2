"""Reads for the messages to families: who a message would reach (a school's families, an
activity's, a day's), the choices of the form, and the messages sent. A fixed number of
queries whatever the number of families."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ecp.backoffice.tables import FamilyMessage
from ecp.booking.tables import Booking, Inscription
from ecp.commune.tables import Activity, School
from ecp.families.queries import recipients_of
from ecp.families.tables import Child, Family, Guardian
from ecp.web.templating import jour_long

TARGETS = (
    ("ecole", "Les familles d’une école"),
    ("activite", "Les familles inscrites à une activité"),
    ("jour", "Les familles qui ont une réservation un jour donné"),
)


@dataclass
class Audience:
    """Who a message reaches: its families and, for each, its mail recipients."""

    description: str
    addresses: dict[int, list[str]] = field(default_factory=dict)  # family id -> addresses

    @property
    def families(self) -> int:
        return len(self.addresses)

    @property
    def recipients(self) -> int:
        return sum(len(a) for a in self.addresses.values())

    @property
    def without_address(self) -> int:
        return sum(1 for a in self.addresses.values() if not a)


async def school_choices(scope_ids=None) -> list[tuple[str, str]]:
    rows = await School.select(School.id, School.name).where(School.active == True)  # noqa: E712
    rows = [r for r in rows if scope_ids is None or r["id"] in scope_ids]
    return [(str(r["id"]), r["name"]) for r in sorted(rows, key=lambda r: r["name"])]


async def activity_choices() -> list[tuple[str, str]]:
    rows = await Activity.select(Activity.id, Activity.label).order_by(Activity.sort_order)
    return [(str(r["id"]), r["label"]) for r in rows]


async def names(school_id: int | None, activity_id: int | None) -> tuple[str | None, str | None]:
    """The school's and the activity's names (None: no such one)."""
    school = activity = None
    if school_id is not None:
        row = await School.select(School.name).where(School.id == school_id).first()
        school = row["name"] if row else None
    if activity_id is not None:
        row = await Activity.select(Activity.label).where(Activity.id == activity_id).first()
        activity = row["label"] if row else None
    return school, activity


def describe(target: str, school: str | None, activity: str | None, day: dt.date | None) -> str:
    """The audience in words: « Familles de l’école : École Jules-Ferry »…"""
    at = f", école : {school}" if school else ""
    if target == "ecole":
        return f"Familles de l’école : {school}"
    if target == "activite":
        return f"Familles inscrites à « {activity} »{at}"
    what = f" (« {activity} »)" if activity else ""
    return f"Familles ayant une réservation le {jour_long(day)}{what}{at}" if day else ""


async def audience(
    target: str,
    *,
    school_id: int | None,
    activity_id: int | None,
    day: dt.date | None,
    scope_ids=None,
) -> Audience:
    """The active families a message reaches, with their addresses (ecp.families.queries
    recipients_of). `scope_ids`: an agent's schools (ecp.auth.scope), or None."""
    schools = [school_id] if school_id is not None else None
    if scope_ids is not None:
        schools = [s for s in (schools or scope_ids) if s in scope_ids]
    if target == "ecole":
        where = (Child.active == True) & Child.school.is_in(schools or [-1])  # noqa: E712
        query = Child.select(Child.family).where(where)
    elif target == "activite":
        where = (
            (Inscription.activity == activity_id)
            & (Inscription.status == "validee")
            & (Inscription.school_year.is_current == True)  # noqa: E712
            & (Inscription.child.active == True)  # noqa: E712
        )
        if schools is not None:
            where &= Inscription.child.school.is_in(schools or [-1])
        query = Inscription.select(Inscription.child.family.as_alias("family")).where(where)
    else:
        where = (Booking.day == day) & (Booking.state == "reservee")
        if activity_id is not None:
            where &= Booking.activity == activity_id
        if schools is not None:
            where &= Booking.school.is_in(schools or [-1])
        query = Booking.select(Booking.child.family.as_alias("family")).where(where)
    family_ids = sorted({r["family"] for r in await query.distinct()})
    school, activity = await names(school_id, activity_id)
    found = Audience(describe(target, school, activity, day))
    if not family_ids:
        return found
    families = {
        r["id"]: r["email"]
        for r in await Family.select(Family.id, Family.email).where(
            Family.id.is_in(family_ids) & (Family.active == True)  # noqa: E712
        )
    }
    guardians: dict[int, list[dict]] = {}
    for g in (
        await Guardian.select(Guardian.family, Guardian.email, Guardian.receives_email)
        .where(Guardian.family.is_in(list(families) or [-1]))
        .order_by(Guardian.rank)
    ):
        guardians.setdefault(g["family"], []).append(g)
    found.addresses = {
        fid: recipients_of(guardians.get(fid, []), email) for fid, email in families.items()
    }
    return found


async def sent_messages(limit: int = 100) -> list[dict]:
    return (
        await FamilyMessage.select()
        .order_by(FamilyMessage.sent_at, ascending=False)
        .order_by(FamilyMessage.id, ascending=False)
        .limit(limit)
    )
