"""The journal as people read it (both engines): consultations of a family record grouped by
agent, family and day with their count, never cut in two by a page; the other lines one by
one; the names of the children, activities and schools a line refers to."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.audit import services as audit
from ecp.backoffice import queries
from tests import factories
from tests.staff_factories import indexed_family, staff_actor


def _at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, 0, tzinfo=dt.UTC)


async def test_consultations_are_one_line_per_agent_family_and_day():
    claire = staff_actor(await factories.make_staff())
    bruno = staff_actor(await factories.make_staff("bruno", display_name="Bruno"))
    martin, _ = await indexed_family()
    diallo, _ = await indexed_family("F00002", "Diallo")
    for hour in (8, 9, 10):
        with clock.frozen(_at(9, hour)):
            await audit.record_view(claire, martin.id)
    with clock.frozen(_at(9, 11)):
        await audit.record_view(bruno, martin.id)
        await audit.record_view(claire, diallo.id)
        await audit.record(claire, "family_disabled", family_id=martin.id)
    with clock.frozen(_at(10, 8)):
        await audit.record_view(claire, martin.id)
    rows = (await queries.journal_entries()).rows
    views = [(r["actor"], r["family_code"], r["n"]) for r in rows if r["action"] == audit.VIEWED]
    assert views == [
        ("Agent Test", "F00001", 1),  # the 10th
        ("Agent Test", "F00002", 1),
        ("Bruno", "F00001", 1),
        ("Agent Test", "F00001", 3),  # the 9th, 09:00 to 11:00 Paris time
    ]
    three = rows[-1]
    assert three["object"] == "3 consultations, de 09:00 à 11:00"
    assert three["at"] == _at(9, 10) and three["first_at"] == _at(9, 8)
    assert [r["action"] for r in rows].count("family_disabled") == 1
    # Filters apply to the consultations too; the family record shows the same grouping.
    only = await queries.journal_entries(action=audit.VIEWED, staff_id=claire.staff_id)
    assert [r["n"] for r in only.rows] == [1, 1, 3]
    record = await queries.family_record(martin.id)
    assert [(h["action"], h["actor"], h["n"]) for h in record["history"]] == [
        (audit.VIEWED, "Agent Test", 1),
        ("family_disabled", "Agent Test", 1),
        (audit.VIEWED, "Bruno", 1),
        (audit.VIEWED, "Agent Test", 3),
    ]


async def test_a_group_is_never_cut_by_a_page():
    actor = staff_actor(await factories.make_staff())
    family, _ = await indexed_family()
    with clock.frozen(_at(9, 8)):
        for _ in range(4):
            await audit.record_view(actor, family.id)
    with clock.frozen(_at(9, 9)):
        for i in range(3):
            await audit.record(actor, "settings_changed", target=str(i))
    first = await queries.journal_entries(limit=2)
    assert [r["target"] for r in first.rows] == ["2", "1"]
    rest = await queries.journal_entries(before_id=first.next_before, limit=2)
    assert [(r["action"], r["n"]) for r in rest.rows] == [
        ("settings_changed", 1),
        (audit.VIEWED, 4),
    ]
    assert rest.next_before is None


async def test_lines_name_children_activities_and_schools():
    actor = staff_actor(await factories.make_staff())
    family, _ = await indexed_family()
    child = await factories.make_child(family, "Léa")
    school = await factories.make_school("École Jules-Ferry")
    activity = await factories.make_activity("cantine", "Cantine", school=school)
    await audit.record(
        actor,
        "booking_book",
        family_id=family.id,
        target=f"child:{child.id}",
        details={"activity": "cantine", "day": "2026-12-07", "late": False},
    )
    await audit.record(
        actor,
        "attendance_mark",
        target=f"activity:{activity.id}",
        details={"day": "2026-12-01", "school": school.id, "count": 12},
    )
    await audit.record(
        actor,
        "settings_changed",
        target="activité cantine",
        details={"capacities": {str(school.id): 40}},
    )
    mark, booking = (await queries.journal_entries(limit=3)).rows[1:]
    assert booking["label"] == "Réservation par un agent" and booking["object"] == "Léa Martin"
    assert booking["lines"] == [
        "activité : Cantine",
        "jour : 7 décembre 2026",
        "après la date limite : non",
    ]
    assert mark["object"] == "Cantine"
    assert mark["lines"] == [
        "jour : 1er décembre 2026",
        "école : École Jules-Ferry",
        "enfants pointés : 12",
    ]
    settings_line = (await queries.journal_entries(limit=1)).rows[0]
    assert settings_line["lines"] == ["places : École Jules-Ferry : 40 places"]


async def test_names_cost_nothing_when_no_line_names_anything():
    names = await audit.names_for([{"action": "settings_changed", "target": "", "details": {}}])
    assert names == audit.Names()
