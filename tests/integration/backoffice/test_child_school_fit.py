"""A child's level is one its school teaches and its class one of that school's classes
(ecp.backoffice.services.save_child); a school's classes are those of the current year
(ecp.backoffice.settings_services.save_school), journalled with before/after."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ecp.audit.tables import AuditLog
from ecp.backoffice import services, settings_services
from ecp.commune.tables import SchoolClass
from ecp.errors import Rejected
from ecp.families.tables import Child
from tests import factories
from tests.staff_factories import indexed_family, staff_actor


def _child(school, level="CE1", school_class=None) -> dict:
    return {
        "first_name": "Noé",
        "last_name": "Martin",
        "birth_date": dt.date(2018, 3, 14),
        "level": level,
        "school": school.id if school else None,
        "school_class": school_class,
        "diet": "standard",
        "health_notes": "",
        "has_allergy": False,
        "needs_support": False,
        "active": True,
    }


async def _setting():
    staff = await factories.make_staff()
    actor = staff_actor(staff, "administrateur")
    year = await factories.make_school_year()
    ferry = await factories.make_school("École Jules-Ferry", kind="elementaire")
    tilleuls = await factories.make_school("École Les Tilleuls", kind="maternelle")
    ce1 = SchoolClass(school=ferry.id, school_year=year.id, name="CE1 A", level="CE1")
    gs = SchoolClass(school=tilleuls.id, school_year=year.id, name="GS B", level="GS")
    await ce1.save()
    await gs.save()
    family, _ = await indexed_family()
    return actor, family, ferry, tilleuls, ce1, gs


async def test_a_level_the_school_does_not_teach_is_refused():
    actor, family, ferry, tilleuls, _, _ = await _setting()
    with pytest.raises(Rejected) as refused:
        await services.save_child(actor, family.id, _child(tilleuls, "CE1"))
    assert refused.value.field == "niveau"
    assert refused.value.message == (
        "L’école École Les Tilleuls n’enseigne pas le niveau CE1 (maternelle : PS à GS)."
    )
    with pytest.raises(Rejected):
        await services.save_child(actor, family.id, _child(ferry, "GS"))
    assert await Child.count() == 0
    # No school yet: any level.
    assert await services.save_child(actor, family.id, _child(None, "PS"))


async def test_a_class_must_be_one_of_the_schools():
    actor, family, ferry, _, ce1, gs = await _setting()
    with pytest.raises(Rejected) as refused:
        await services.save_child(actor, family.id, _child(ferry, "CE1", gs.id))
    assert refused.value.field == "classe"
    assert "pas une classe de l’école École Jules-Ferry" in refused.value.message
    with pytest.raises(Rejected) as no_school:
        await services.save_child(actor, family.id, _child(None, "CE1", ce1.id))
    assert no_school.value.field == "classe"
    child_id = await services.save_child(actor, family.id, _child(ferry, "CE1", ce1.id))
    row = await Child.select(Child.school_class).where(Child.id == child_id).first()
    assert row["school_class"] == ce1.id
    # An edit that moves the child to another school keeps the rule.
    with pytest.raises(Rejected):
        await services.save_child(actor, family.id, _child(ferry, "CE2", gs.id), child_id)
    row = await Child.select(Child.level).where(Child.id == child_id).first()
    assert row["level"] == "CE1"


async def test_a_schools_classes_are_saved_for_the_current_year_and_journalled():
    actor, family, ferry, _, ce1, _ = await _setting()
    child_id = await services.save_child(actor, family.id, _child(ferry, "CE1", ce1.id))
    await settings_services.save_school(
        actor,
        ferry.id,
        name=ferry.name,
        kind="elementaire",
        address="",
        classes=["CE1-CE2 Mme Roux", "CM2 B"],
    )
    rows = await SchoolClass.select(SchoolClass.name, SchoolClass.level).where(
        SchoolClass.school == ferry.id
    )
    assert sorted((r["name"], r["level"]) for r in rows) == [
        ("CE1-CE2 Mme Roux", "CE1"),
        ("CM2 B", "CM2"),
    ]
    # CE1 A is gone: its child keeps the school and level, without a class.
    kid = await Child.select().where(Child.id == child_id).first()
    assert kid["school_class"] is None and kid["level"] == "CE1"
    entry = await AuditLog.select().where(AuditLog.action == "settings_changed").first()
    details = (
        entry["details"] if isinstance(entry["details"], dict) else json.loads(entry["details"])
    )
    assert details["classes"] == {"before": ["CE1 A"], "after": ["CE1-CE2 Mme Roux", "CM2 B"]}
    with pytest.raises(Rejected) as refused:
        await settings_services.save_school(
            actor, ferry.id, name=ferry.name, kind="elementaire", address="", classes=["PS A"]
        )
    assert refused.value.field == "classes" and "élémentaire : CP à CM2" in refused.value.message
    assert await SchoolClass.count().where(SchoolClass.school == ferry.id) == 2
    # The kind cannot change to one that does not teach the classes kept.
    with pytest.raises(Rejected) as kind:
        await settings_services.save_school(
            actor,
            ferry.id,
            name=ferry.name,
            kind="maternelle",
            address="",
            classes=["CE1-CE2 Mme Roux", "CM2 B"],
        )
    assert kind.value.field == "classes" and "maternelle : PS à GS" in kind.value.message
