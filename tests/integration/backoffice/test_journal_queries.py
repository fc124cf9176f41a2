"""The journal page's read: filters, whole days in Paris, pages backwards, and a family code
that names no family (a refusal filed under the « famille » field)."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp import clock
from ecp.audit import services as audit
from ecp.backoffice import queries
from ecp.errors import Rejected
from tests import factories
from tests.staff_factories import indexed_family, staff_actor


async def test_filters_and_whole_paris_days():
    staff = await factories.make_staff()
    other = await factories.make_staff("autre", display_name="Bruno Autre")
    actor, actor2 = staff_actor(staff), staff_actor(other)
    family, _ = await indexed_family()
    # November in Paris is UTC+1: 22:30 UTC on the 9th is still the 9th there.
    with clock.frozen(dt.datetime(2026, 11, 9, 22, 30, tzinfo=dt.UTC)):
        await audit.record(actor, "family_record_viewed", family_id=family.id)
    with clock.frozen(dt.datetime(2026, 11, 10, 12, 0, tzinfo=dt.UTC)):
        await audit.record(actor2, "family_disabled", family_id=family.id)
    with clock.frozen(dt.datetime(2026, 11, 10, 23, 30, tzinfo=dt.UTC)):  # the 11th in Paris
        await audit.record(actor, "settings_changed")
    day = dt.date(2026, 11, 10)
    only_the_10th = await queries.journal_entries(since=day, until=day)
    assert [r["action"] for r in only_the_10th.rows] == ["family_disabled"]
    by_code = await queries.journal_entries(family_code="F00001")
    assert [r["action"] for r in by_code.rows] == ["family_disabled", "family_record_viewed"]
    by_agent = await queries.journal_entries(staff_id=other.id)
    assert [r["actor"] for r in by_agent.rows] == ["Bruno Autre"]
    by_action = await queries.journal_entries(action="settings_changed")
    assert len(by_action.rows) == 1 and by_action.next_before is None
    assert await queries.staff_choices() == [
        (str(staff.id), "Agent Test"),
        (str(other.id), "Bruno Autre"),
    ]


async def test_an_unknown_family_code_is_refused_on_its_field():
    with pytest.raises(Rejected) as refused:
        await queries.journal_entries(family_code="F99999")
    assert refused.value.field == "famille"
    assert refused.value.message == "Aucune famille n’a ce code."
    with pytest.raises(Rejected):
        await queries.journal_entries(family_code="F99999", check_only=True)


async def test_check_only_reads_no_line():
    actor = staff_actor(await factories.make_staff())
    family, _ = await indexed_family()
    await audit.record(actor, "family_record_viewed", family_id=family.id)
    checked = await queries.journal_entries(family_code="F00001", check_only=True)
    assert checked.rows == [] and checked.next_before is None


async def test_pages_backwards_from_the_last_line_shown():
    actor = staff_actor(await factories.make_staff())
    for i in range(7):
        await audit.record(actor, "family_record_viewed", target=str(i))
    first = await queries.journal_entries(limit=5)
    assert [r["target"] for r in first.rows] == ["6", "5", "4", "3", "2"]
    assert first.next_before == first.rows[-1]["id"]
    older = await queries.journal_entries(before_id=first.next_before, limit=5)
    assert [r["target"] for r in older.rows] == ["1", "0"] and older.next_before is None
