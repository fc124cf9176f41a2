"""Builders for booking tests: a small commune with one school, activities, a family, children
and validated inscriptions, on the 2026-2027 school year (zone C)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ecp import clock
from ecp.booking.tables import Booking, Inscription, Slot
from ecp.commune.tables import Activity, ActivityCapacity, CommuneSettings, School, SchoolYear
from ecp.families.tables import Child, Family
from tests import factories

# Monday 30 November 2026, 10:00 in Paris: week 2026-W50 (7-11 December) is still open.
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=clock.PARIS)
WEEK = "2026-W50"
MONDAY = dt.date(2026, 12, 7)
WEDNESDAY = dt.date(2026, 12, 9)


@dataclass
class Commune:
    year: SchoolYear
    school: School
    activities: dict[str, Activity] = field(default_factory=dict)


async def make_commune(capacity: int = 0, mercredi_capacity: int = 10) -> Commune:
    await CommuneSettings(service_name="SEJ").save()
    year = SchoolYear(
        label="2026-2027",
        starts_on=dt.date(2026, 9, 1),
        ends_on=dt.date(2027, 7, 3),
        is_current=True,
    )
    await year.save()
    school = await factories.make_school("École Jules-Ferry", kind="primaire")
    commune = Commune(year, school)
    specs = [
        (
            "restauration",
            "Restauration scolaire",
            "Cantine",
            "1,2,4,5",
            "",
            "working_days",
            capacity,
            dt.time(11, 30),
            dt.time(13, 30),
        ),
        (
            "garderie_soir",
            "Garderie du soir",
            "Garderie soir",
            "1,2,4,5",
            "soir",
            "working_days",
            capacity,
            dt.time(16, 30),
            dt.time(18, 30),
        ),
        (
            "alsh_soir",
            "Accueil de loisirs du soir",
            "Loisirs soir",
            "1,2,4,5",
            "soir",
            "working_days",
            capacity,
            dt.time(16, 30),
            dt.time(18, 30),
        ),
        (
            "alsh_mercredi_journee",
            "Accueil de loisirs du mercredi – journée",
            "Mercredi journée",
            "3",
            "alsh_mercredi",
            "previous_wednesday",
            mercredi_capacity,
            dt.time(8, 30),
            dt.time(17, 30),
        ),
    ]
    for order, (code, label, short, days, group, rule, cap, start, end) in enumerate(specs):
        activity = Activity(
            code=code,
            label=label,
            short_label=short,
            weekdays=days,
            eligible_levels="PS,MS,GS,CP,CE1,CE2,CM1,CM2",
            group_code=group,
            deadline_rule=rule,
            default_capacity=cap,
            sort_order=order,
            starts_at=start,
            ends_at=end,
        )
        await activity.save()
        await ActivityCapacity(activity=activity.id, school=school.id, capacity=cap).save()
        commune.activities[code] = activity
    return commune


async def make_family_with_children(
    commune: Commune,
    code: str = "F00001",
    name: str = "Martin",
    children=(("Léa", "CE1"), ("Hugo", "MS")),
    inscribe: tuple[str, ...] | None = None,
    password: str = "demo-famille-1",
) -> tuple[Family, list[Child]]:
    family = await factories.make_family(code, password=password, name=name)
    kids = []
    for first, level in children:
        kid = await factories.make_child(family, first, level, school=commune.school)
        kids.append(kid)
        for activity_code in inscribe if inscribe is not None else commune.activities:
            await inscribe_child(commune, kid, activity_code)
    return family, kids


async def inscribe_child(
    commune: Commune, child: Child, activity_code: str, status: str = "validee"
) -> Inscription:
    row = Inscription(
        child=child.id,
        activity=commune.activities[activity_code].id,
        school_year=commune.year.id,
        status=status,
        requested_at=clock.now(),
    )
    await row.save()
    return row


async def booking_rows(child_id: int | None = None) -> list[dict]:
    query = Booking.select()
    if child_id is not None:
        query = query.where(Booking.child == child_id)
    return await query.order_by(Booking.day)


async def slot_booked(commune: Commune, code: str, day: dt.date) -> int:
    row = (
        await Slot.select(Slot.booked)
        .where((Slot.activity == commune.activities[code].id) & (Slot.day == day))
        .first()
    )
    return row["booked"] if row else 0


async def many_children(commune: Commune, n: int, code: str) -> list[Child]:
    """n families of one child each, inscribed to `code`."""
    kids = []
    for i in range(n):
        family = await factories.make_family(f"F{70000 + i:05d}", password="", name=f"Famille{i}")
        kid = await factories.make_child(family, f"Enfant{i}", "CE1", school=commune.school)
        await inscribe_child(commune, kid, code)
        kids.append(kid)
    return kids


async def child_family(child_id: int) -> int:
    return (await Child.select(Child.family).where(Child.id == child_id).first())["family"]


__all__ = [
    "NOW",
    "WEEK",
    "MONDAY",
    "WEDNESDAY",
    "Commune",
    "make_commune",
    "make_family_with_children",
    "inscribe_child",
    "booking_rows",
    "slot_booked",
    "many_children",
    "child_family",
    "Family",
]
