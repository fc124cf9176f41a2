"""A commune for the closure tests: two schools, three families, bookings on Monday 7 and
Tuesday 8 December 2026 (the clock at Monday 30 November, 10:00).

- Martin (F00001, École Jules-Ferry): Léa, cantine Monday and Tuesday and garderie Monday;
  Hugo, cantine Monday, and cantine Tuesday declared ill.
- Durand (F00002, Jules-Ferry): Zoé, cantine Monday; garderie Tuesday, cancelled.
- Petit (F00003, École Pasteur): Nina, cantine Monday.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ecp import clock
from ecp.auth.principal import Principal
from ecp.booking import services
from ecp.booking.tables import Booking, Slot
from ecp.commune.tables import ActivityCapacity, School
from ecp.families.tables import Child, Family
from tests import booking_factories as bf
from tests import factories

MONDAY = bf.MONDAY
TUESDAY = bf.MONDAY + dt.timedelta(days=1)


@dataclass
class ClosureCommune:
    commune: bf.Commune
    pasteur: School
    martin: Family
    durand: Family
    petit: Family
    lea: Child
    hugo: Child
    zoe: Child
    nina: Child

    def activity(self, code: str) -> int:
        return self.commune.activities[code].id


async def make_closure_commune(capacity: int = 5) -> ClosureCommune:
    clock.set_now(bf.NOW)
    commune = await bf.make_commune(capacity=capacity)
    pasteur = await factories.make_school("École Pasteur")
    for activity in commune.activities.values():
        await ActivityCapacity(activity=activity.id, school=pasteur.id, capacity=capacity).save()
    martin, (lea, hugo) = await bf.make_family_with_children(commune)
    durand, (zoe,) = await bf.make_family_with_children(
        commune, code="F00002", name="Durand", children=(("Zoé", "CP"),), password="demo-famille-2"
    )
    petit = await factories.make_family("F00003", password="demo-famille-3", name="Petit")
    nina = await factories.make_child(petit, "Nina", "CE2", school=pasteur)
    await bf.inscribe_child(commune, nina, "restauration")
    c = ClosureCommune(commune, pasteur, martin, durand, petit, lea, hugo, zoe, nina)
    cantine, garderie = c.activity("restauration"), c.activity("garderie_soir")
    for child, family, activity, day in [
        (lea, martin, cantine, MONDAY),
        (lea, martin, cantine, TUESDAY),
        (lea, martin, garderie, MONDAY),
        (hugo, martin, cantine, MONDAY),
        (hugo, martin, cantine, TUESDAY),
        (zoe, durand, cantine, MONDAY),
        (zoe, durand, garderie, TUESDAY),
        (nina, petit, cantine, MONDAY),
    ]:
        await services.book(child.id, activity, day, family_id=family.id)
    await services.cancel(zoe.id, garderie, TUESDAY, family_id=durand.id)
    # Declared ill (a day of its own would need the clock on that morning): the row as the
    # service leaves it, its place freed.
    await Booking.update({Booking.state: "malade"}).where(
        (Booking.child == hugo.id) & (Booking.day == TUESDAY)
    )
    await Slot.update({Slot.booked: Slot.booked - 1}).where(
        (Slot.activity == cantine) & (Slot.day == TUESDAY) & (Slot.school == commune.school.id)
    )
    return c


def admin_principal(staff) -> Principal:
    return Principal(
        kind="staff", session_id=1, name=staff.display_name, staff_id=staff.id, role=staff.role
    )


async def states(*children: Child) -> dict[tuple[str, str, dt.date], str]:
    """(child's first name, activity code, day) -> booking state."""
    rows = await Booking.select(
        Booking.child.first_name.as_alias("name"),
        Booking.activity.code.as_alias("code"),
        Booking.day,
        Booking.state,
    ).where(Booking.child.is_in([c.id for c in children]))
    return {(r["name"], r["code"], r["day"]): r["state"] for r in rows}


async def places_taken(school_id: int, activity_id: int, day: dt.date) -> int:
    row = (
        await Slot.select(Slot.booked)
        .where((Slot.school == school_id) & (Slot.activity == activity_id) & (Slot.day == day))
        .first()
    )
    return row["booked"] if row else 0
