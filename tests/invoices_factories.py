"""Builders for billing tests: a small commune with tariffs, families with booked days."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.booking.tables import Attendance, Booking
from ecp.commune.tables import Tariff, TariffBracket
from tests import factories

NOV = dt.date(2026, 11, 1)


async def make_commune():
    """One school, the canteen (2,10 € in bracket B, 6,20 € out of town, majoration 3 €)."""
    school = await factories.make_school("École Jules-Ferry")
    await factories.make_school_year(dt.date(2026, 11, 10))
    canteen = await factories.make_activity(
        "restauration", "Restauration scolaire", short_label="Cantine", school=school
    )
    low = TariffBracket(label="Tranche A", qf_min=0, qf_max=500, sort_order=0)
    high = TariffBracket(label="Tranche B", qf_min=501, qf_max=None, sort_order=1)
    await low.save()
    await high.save()
    await Tariff.insert(
        Tariff(
            activity=canteen.id,
            bracket=low.id,
            price_cents=120,
            majoration_cents=300,
            valid_from=dt.date(2026, 9, 1),
        ),
        Tariff(
            activity=canteen.id,
            bracket=high.id,
            price_cents=210,
            majoration_cents=300,
            valid_from=dt.date(2026, 9, 1),
        ),
        Tariff(
            activity=canteen.id,
            bracket=None,
            price_cents=620,
            majoration_cents=300,
            valid_from=dt.date(2026, 9, 1),
        ),
    )
    return {"school": school, "canteen": canteen, "brackets": (low, high)}


async def make_billed_family(
    commune,
    *,
    code=None,
    name="Martin",
    qf=720,
    days=(2, 3, 5),
    month=NOV,
    paperless=False,
    with_guardian=True,
    **fields,
):
    family = await factories.make_family(
        code, name=name, quotient_familial=qf, paperless=paperless, **fields
    )
    if with_guardian:
        await factories.make_guardian(family)
    child = await factories.make_child(family, "Léa", school=commune["school"])
    await book_days(child, commune, [month.replace(day=d) for d in days])
    return family, child


async def book_days(child, commune, days, state="reservee", activity=None):
    now = clock.now()
    await Booking.insert(
        *[
            Booking(
                child=child.id,
                activity=(activity or commune["canteen"]).id,
                school=commune["school"].id,
                day=day,
                state=state,
                source="agent",
                created_at=now,
                updated_at=now,
            )
            for day in days
        ]
    )


async def mark(child, commune, day, status="present", activity=None):
    await Attendance(
        child=child.id,
        activity=(activity or commune["canteen"]).id,
        school=commune["school"].id,
        day=day,
        status=status,
        marked_at=clock.now(),
    ).save()
