"""A Martin family on Tuesday 1 December 2026 (week 49): Léa booked today for the canteen and
the evening garderie, Hugo booked nothing today; tariffs for the canteen only."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.booking.tables import Booking, Slot
from ecp.commune.tables import CommuneSettings, Tariff, TariffBracket
from ecp.families.tables import Family
from tests import booking_factories as bf

TODAY = dt.date(2026, 12, 1)
MORNING = dt.datetime(2026, 12, 1, 8, 0, tzinfo=clock.PARIS)
PHONE = "01 23 45 67 89"


async def book_rows(commune, child, code, days, state="reservee"):
    now = clock.now()
    activity = commune.activities[code]
    for day in days:
        await Booking(
            child=child.id,
            activity=activity.id,
            school=commune.school.id,
            day=day,
            state=state,
            source="famille",
            created_at=now,
            updated_at=now,
        ).save()
        if state == "reservee":
            where = (
                (Slot.school == commune.school.id)
                & (Slot.activity == activity.id)
                & (Slot.day == day)
            )
            if await Slot.exists().where(where):
                await Slot.update({Slot.booked: Slot.booked + 1}).where(where)
            else:
                await Slot(school=commune.school.id, activity=activity.id, day=day, booked=1).save()


async def make_martins(*, capacity: int = 0):
    clock.set_now(MORNING)
    commune = await bf.make_commune(capacity=capacity)
    await CommuneSettings.update({CommuneSettings.phone: PHONE}).where(CommuneSettings.id > 0)
    family, (lea, hugo) = await bf.make_family_with_children(
        commune, inscribe=("restauration", "garderie_soir")
    )
    await Family.update({Family.quotient_familial: 720}).where(Family.id == family.id)
    low = TariffBracket(label="Tranche A", qf_min=0, qf_max=500, sort_order=0)
    high = TariffBracket(label="Tranche B", qf_min=501, qf_max=None, sort_order=1)
    await low.save()
    await high.save()
    canteen = commune.activities["restauration"].id
    for bracket, price in ((low.id, 120), (high.id, 210), (None, 620)):
        await Tariff(
            activity=canteen,
            bracket=bracket,
            price_cents=price,
            majoration_cents=300,
            valid_from=dt.date(2026, 9, 1),
        ).save()
    await book_rows(commune, lea, "restauration", [TODAY])
    await book_rows(commune, lea, "garderie_soir", [TODAY])
    return commune, family, lea, hugo
