"""The services behind the booking pages, called without HTTP: an inscription asked by a family
(staff decisions: test_inscription_decisions.py), the pointage of a list, and the private calendar feed's
token. Each refusal leaves nothing written."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.auth.principal import Principal
from ecp.booking import queries, services
from ecp.booking.tables import Attendance, Inscription
from ecp.commune.tables import Activity, SchoolYear
from ecp.errors import Rejected
from ecp.families.tables import Child, Family
from tests import booking_factories as bf
from tests import factories


async def _agent() -> Principal:
    staff = await factories.make_staff(role="agent")
    return Principal(kind="staff", session_id=1, name="Agent Test", staff_id=staff.id, role="agent")


async def _commune_and_family(inscribe=()):
    clock.set_now(bf.NOW)
    commune = await bf.make_commune(capacity=5)
    family, kids = await bf.make_family_with_children(commune, inscribe=inscribe)
    return commune, family, kids


# ---------------------------------------------------------------------------------------------
# A family asks for an inscription


async def test_request_inscription_writes_one_pending_row():
    commune, family, (lea, hugo) = await _commune_and_family()
    cantine = commune.activities["restauration"]
    requested = await services.request_inscription(family.id, lea.id, cantine.id)
    assert (requested.child_name, requested.activity_label) == ("Léa", "Restauration scolaire")
    rows = await Inscription.select(
        Inscription.child, Inscription.activity, Inscription.school_year, Inscription.status
    )
    assert rows == [
        {
            "child": lea.id,
            "activity": cantine.id,
            "school_year": commune.year.id,
            "status": "en_attente",
        }
    ]


async def test_request_inscription_refuses_what_the_child_may_not_ask_for():
    commune, family, (lea, hugo) = await _commune_and_family()
    cantine = commune.activities["restauration"]
    await bf.inscribe_child(commune, lea, "restauration", status="refusee")
    # Already asked this year, whatever the answer; an unknown activity; none at all.
    for activity_id in (cantine.id, 999999, None):
        with pytest.raises(Rejected) as refused:
            await services.request_inscription(family.id, lea.id, activity_id)
        assert refused.value.message == "Choisissez une activité dans la liste."
        assert refused.value.field == f"activite-{lea.id}"
    # Not open to the child's level, or no longer offered.
    await Activity.update({Activity.eligible_levels: "CP,CE1"}).where(
        Activity.id == commune.activities["garderie_soir"].id
    )
    await Activity.update({Activity.active: False}).where(
        Activity.id == commune.activities["alsh_soir"].id
    )
    for code in ("garderie_soir", "alsh_soir"):
        with pytest.raises(Rejected):
            await services.request_inscription(family.id, hugo.id, commune.activities[code].id)
    assert await Inscription.count() == 1


async def test_request_inscription_for_a_child_who_is_not_the_familys_is_not_found():
    commune, family, (lea, hugo) = await _commune_and_family()
    other, (awa,) = await bf.make_family_with_children(
        commune, code="F00002", name="Diallo", children=(("Awa", "CM2"),), inscribe=()
    )
    cantine = commune.activities["restauration"].id
    await Child.update({Child.active: False}).where(Child.id == hugo.id)
    for child_id in (awa.id, hugo.id, None):
        with pytest.raises(services.NotFound):
            await services.request_inscription(family.id, child_id, cantine)
    assert await Inscription.count() == 0


async def test_request_inscription_without_an_open_school_year_is_not_found():
    commune, family, (lea, hugo) = await _commune_and_family()
    await SchoolYear.update({SchoolYear.is_current: False}, force=True)
    with pytest.raises(services.NotFound):
        await services.request_inscription(family.id, lea.id, commune.activities["restauration"].id)
    assert await Inscription.count() == 0


# ---------------------------------------------------------------------------------------------
# Pointage


async def _booked_list():
    commune, family, (lea, hugo) = await _commune_and_family(inscribe=("restauration",))
    cantine = commune.activities["restauration"].id
    for kid in (lea, hugo):
        await services.book(kid.id, cantine, bf.MONDAY, family_id=family.id)
    # Booked ahead, pointed on the day: a day to come cannot be pointed.
    clock.set_now(dt.datetime.combine(bf.MONDAY, dt.time(18, 0), tzinfo=clock.PARIS))
    return commune, family, lea, hugo, cantine


async def test_pointage_saves_then_updates_and_journals_each_save():
    commune, family, lea, hugo, cantine = await _booked_list()
    agent = await _agent()
    where = {"day": bf.MONDAY, "activity_id": cantine, "school_id": commune.school.id}
    count = await services.record_pointage(
        agent, **where, marks=[(lea.id, "present"), (hugo.id, "absent")]
    )
    assert count == 2
    count = await services.record_pointage(
        agent, **where, marks=[(hugo.id, "excuse"), (lea.id, "")]
    )
    assert count == 1  # an empty choice marks nobody
    rows = await Attendance.select(Attendance.child, Attendance.status, Attendance.marked_by)
    assert {r["child"]: (r["status"], r["marked_by"]) for r in rows} == {
        lea.id: ("present", agent.staff_id),
        hugo.id: ("excuse", agent.staff_id),
    }
    log = await AuditLog.select(AuditLog.action, AuditLog.target, AuditLog.details)
    assert [(r["action"], r["target"]) for r in log] == [
        ("attendance_mark", f"activity:{cantine}"),
        ("attendance_mark", f"activity:{cantine}"),
    ]
    # Nothing chosen: nothing written, nothing journalled.
    assert await services.record_pointage(agent, **where, marks=[]) == 0
    assert await AuditLog.count() == 2


async def test_pointage_of_a_child_not_on_the_list_refuses_the_whole_list():
    commune, family, lea, hugo, cantine = await _booked_list()
    other, (awa,) = await bf.make_family_with_children(
        commune, code="F00002", name="Diallo", children=(("Awa", "CM2"),)
    )
    agent = await _agent()
    for stranger in (awa.id, None):
        with pytest.raises(services.NotFound):
            await services.record_pointage(
                agent,
                day=bf.MONDAY,
                activity_id=cantine,
                school_id=commune.school.id,
                marks=[(lea.id, "present"), (stranger, "present")],
            )
    # Another day's list does not hold Léa either.
    with pytest.raises(services.NotFound):
        await services.record_pointage(
            agent,
            day=bf.MONDAY + dt.timedelta(days=1),
            activity_id=cantine,
            school_id=commune.school.id,
            marks=[(lea.id, "present")],
        )
    assert await Attendance.count() == 0 and await AuditLog.count() == 0


# ---------------------------------------------------------------------------------------------
# The calendar feed's token


async def test_a_new_feed_token_replaces_the_old_one_and_revoking_ends_it():
    commune, family, (lea, hugo) = await _commune_and_family()
    first = await services.new_ics_token(family.id)
    stored = (await Family.select(Family.ics_token_hash).where(Family.id == family.id).first())[
        "ics_token_hash"
    ]
    assert stored == services.ics_token_hash(first) and first not in stored
    found = await queries.family_by_ics_token(services.ics_token_hash(first))
    assert found == {"id": family.id, "name": "Martin"}
    second = await services.new_ics_token(family.id)
    assert second != first
    assert await queries.family_by_ics_token(services.ics_token_hash(first)) is None
    assert (await queries.family_by_ics_token(services.ics_token_hash(second)))["id"] == family.id
    await services.revoke_ics_token(family.id)
    assert await queries.family_by_ics_token(services.ics_token_hash(second)) is None


async def test_an_inactive_familys_feed_is_not_served():
    commune, family, (lea, hugo) = await _commune_and_family()
    token = await services.new_ics_token(family.id)
    await Family.update({Family.active: False}).where(Family.id == family.id)
    assert await queries.family_by_ics_token(services.ics_token_hash(token)) is None
