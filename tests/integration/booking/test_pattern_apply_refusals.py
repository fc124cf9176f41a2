"""A semaine type whose last place goes between the preview and the booking: the refused day
comes back as a PlanItem with its reason, for the page to list."""

from __future__ import annotations

from ecp import clock
from ecp.booking import services
from ecp.booking.tables import Booking
from tests import booking_factories as bf


async def test_day_filled_meanwhile_is_refused_with_reason_complet():
    commune = await bf.make_commune(capacity=1)
    family, (lea,) = await bf.make_family_with_children(commune, children=(("Léa", "CE1"),))
    (other,) = await bf.many_children(commune, 1, "restauration")
    cantine = commune.activities["restauration"].id
    with clock.frozen(bf.NOW):
        plan = await services.plan_week_pattern(
            family.id, [lea.id], {cantine: {1}}, bf.MONDAY, bf.MONDAY
        )
        assert [(i.day, i.ok) for i in plan] == [(bf.MONDAY, True)]
        await services.book(other.id, cantine, bf.MONDAY, family_id=await bf.child_family(other.id))
        made, refused = await services.apply_week_pattern(family.id, plan)
    assert made == 0
    assert [(i.child_name, i.activity_label, i.day, i.ok, i.reason) for i in refused] == [
        ("Léa", "Cantine", bf.MONDAY, False, "complet")
    ]
    assert await Booking.count().where(Booking.child == lea.id) == 0
