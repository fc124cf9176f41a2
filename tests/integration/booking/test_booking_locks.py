"""The rules the booking service reads under the child's lock, hit concurrently: group
exclusivity and a cancelled row booked again twice at once (issue 7 moved these reads into
fewer statements; on PostgreSQL the lock must stay a statement of its own)."""

from __future__ import annotations

import asyncio

from ecp import clock
from ecp.booking import services
from ecp.booking.tables import Booking
from tests import booking_factories as bf


async def test_two_activities_of_one_group_booked_at_once_give_one_booking():
    commune = await bf.make_commune(capacity=10)
    family, (lea, _hugo) = await bf.make_family_with_children(commune)
    soir = [commune.activities["garderie_soir"].id, commune.activities["alsh_soir"].id]
    with clock.frozen(bf.NOW):
        results = await asyncio.gather(
            *(services.book(lea.id, soir[i % 2], bf.MONDAY, family_id=family.id) for i in range(6)),
            return_exceptions=True,
        )
    assert sum(isinstance(r, services.Outcome) for r in results) == 1
    assert all(
        isinstance(r, (services.Outcome, services.Conflict, services.NothingToDo)) for r in results
    ), results
    assert (
        await Booking.count().where((Booking.child == lea.id) & (Booking.state == "reservee")) == 1
    )
    places = [
        await bf.slot_booked(commune, code, bf.MONDAY) for code in ("garderie_soir", "alsh_soir")
    ]
    assert sorted(places) == [0, 1]


async def test_a_cancelled_booking_rebooked_twice_at_once_takes_one_place():
    commune = await bf.make_commune(capacity=10)
    family, (lea, _hugo) = await bf.make_family_with_children(commune)
    cantine = commune.activities["restauration"].id
    with clock.frozen(bf.NOW):
        await services.book(lea.id, cantine, bf.MONDAY, family_id=family.id)
        await services.cancel(lea.id, cantine, bf.MONDAY, family_id=family.id)
        results = await asyncio.gather(
            *(services.book(lea.id, cantine, bf.MONDAY, family_id=family.id) for _ in range(5)),
            return_exceptions=True,
        )
    assert sum(isinstance(r, services.Outcome) for r in results) == 1
    assert all(isinstance(r, (services.Outcome, services.NothingToDo)) for r in results), results
    rows = await bf.booking_rows(lea.id)
    assert len(rows) == 1 and rows[0]["state"] == "reservee"
    assert await bf.slot_booked(commune, "restauration", bf.MONDAY) == 1
