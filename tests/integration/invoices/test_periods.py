"""Billing periods against the database (both engines): once a month's billing has started,
families can no longer book or cancel its days (staff still can: that becomes a
régularisation); the month after stays open. And no pointage of a day to come."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp import clock
from ecp.auth.principal import Principal
from ecp.booking import services as booking
from ecp.booking.tables import Attendance, Booking
from ecp.commune.queries import billed_until
from ecp.commune.tables import BillingPeriod
from ecp.invoices.billing import open_period, run_billing
from tests import booking_factories as bf
from tests import factories

DECEMBER = dt.date(2026, 12, 1)
JANUARY_MONDAY = dt.date(2027, 1, 4)


def _agent(staff) -> Principal:
    return Principal(kind="staff", session_id=1, name="Agent", staff_id=staff.id, role="agent")


async def _family():
    clock.set_now(bf.NOW)
    commune = await bf.make_commune()
    family, (lea, _hugo) = await bf.make_family_with_children(commune)
    return commune, family, lea


async def test_a_billed_month_is_locked_for_families_only(settings):
    commune, family, lea = await _family()
    canteen = commune.activities["restauration"].id
    await booking.book(lea.id, canteen, bf.MONDAY, family_id=family.id)
    assert await billed_until() is None

    await run_billing(DECEMBER, settings=settings)  # December billed in advance
    assert await billed_until() == dt.date(2026, 12, 31)
    period = await BillingPeriod.select().first()
    assert (period["month"], period["state"], period["in_advance"]) == (
        DECEMBER,
        "facturee",
        True,
    )
    for action in (booking.book, booking.cancel):
        day = bf.MONDAY + dt.timedelta(days=1) if action is booking.book else bf.MONDAY
        with pytest.raises(booking.BilledMonth) as refused:
            await action(lea.id, canteen, day, family_id=family.id)
        assert refused.value.message.startswith("Décembre 2026 est déjà facturé")
        assert "Contactez le service" in refused.value.message
    assert [b["state"] for b in await Booking.select(Booking.state)] == ["reservee"]
    # The service still can: the change is settled by the month's régularisations.
    agent = _agent(await factories.make_staff(role="agent"))
    outcome = await booking.cancel(lea.id, canteen, bf.MONDAY, actor=agent)
    assert outcome.state == "annulee"
    # January is not billed: families book it as before.
    await booking.book(lea.id, canteen, JANUARY_MONDAY, family_id=family.id)


async def test_the_lock_starts_with_the_run_and_covers_the_semaine_type():
    commune, family, lea = await _family()
    canteen = commune.activities["restauration"].id
    await open_period(DECEMBER)  # a run has started: its invoices are being written
    items = await booking.plan_week_pattern(
        family.id, [lea.id], {canteen: {1, 2}}, bf.MONDAY, bf.MONDAY + dt.timedelta(days=1)
    )
    made, refused = await booking.apply_week_pattern(family.id, items)
    assert made == 0 and len(refused) == 2
    assert all(r.reason.startswith("Décembre 2026 est déjà facturé") for r in refused)
    assert await Booking.count() == 0


async def test_no_pointage_of_a_day_to_come():
    commune, family, lea = await _family()
    canteen = commune.activities["restauration"].id
    await booking.book(lea.id, canteen, bf.MONDAY, family_id=family.id)
    agent = _agent(await factories.make_staff(role="agent"))
    where = {"day": bf.MONDAY, "activity_id": canteen, "school_id": commune.school.id}
    with pytest.raises(booking.PointageRefused) as refused:
        await booking.record_pointage(agent, **where, marks=[(lea.id, "absent")])
    assert refused.value.message == (
        "On ne pointe pas un jour à venir\u00a0: le pointage du 07/12/2026 se fera ce jour-là."
    )
    assert await Attendance.count() == 0
    clock.set_now(dt.datetime.combine(bf.MONDAY, dt.time(12, 0), tzinfo=clock.PARIS))
    assert await booking.record_pointage(agent, **where, marks=[(lea.id, "present")]) == 1
