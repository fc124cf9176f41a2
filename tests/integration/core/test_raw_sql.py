"""ecp.db.fetch, the one way to run raw SQL: `{}` placeholders and the same Python types on
SQLite and PostgreSQL, for expressions as well as plain columns."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp import clock
from ecp.auth import sessions
from ecp.commune.tables import Closure
from ecp.db import fetch, write_transaction
from ecp.families.tables import Family
from tests import factories

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=UTC)

# Aggregates, EXISTS and CASE lose the column's declared type, which is all SQLite's driver
# converts by: these are the rows the copied helpers used to patch up.
EXPRESSIONS_SQL = (
    "SELECT MAX(c.starts_on) AS day, MIN(s.created_at) AS created_at, "
    "EXISTS(SELECT 1 FROM family f WHERE f.id = {} AND f.active = {}) AS active, "
    "CASE WHEN COUNT(*) > 0 THEN 1 ELSE 0 END AS any_row, COUNT(*) AS n "
    "FROM closure c, auth_session s WHERE c.reason = {}"
)
TYPES = {"day": dt.date, "created_at": dt.datetime, "active": bool, "any_row": bool, "n": int}


async def _rows_to_read():
    clock.set_now(NOW)
    family = await factories.make_family("F00001")
    await Closure(
        starts_on=dt.date(2026, 12, 21), ends_on=dt.date(2026, 12, 31), reason="Noël"
    ).save()
    await Closure(
        starts_on=dt.date(2026, 12, 28), ends_on=dt.date(2026, 12, 28), reason="Noël"
    ).save()
    await sessions.open_session(family_id=family.id)
    return family


async def test_expressions_come_back_typed_alike_on_both_engines():
    family = await _rows_to_read()
    (row,) = await fetch(EXPRESSIONS_SQL, family.id, True, "Noël", types=TYPES)
    assert row == {
        "day": dt.date(2026, 12, 28),
        "created_at": NOW,
        "active": True,
        "any_row": True,
        "n": 2,
    }
    assert type(row["day"]) is dt.date and row["created_at"].utcoffset() == dt.timedelta(0)
    assert type(row["active"]) is bool and type(row["any_row"]) is bool


async def test_false_and_null_keep_their_meaning():
    family = await _rows_to_read()
    await Family.update({Family.active: False}).where(Family.id == family.id)
    (row,) = await fetch(EXPRESSIONS_SQL, family.id, True, "Pont", types=TYPES)
    # No closure matches: the aggregates are NULL, EXISTS is false, the count is 0.
    assert row == {"day": None, "created_at": None, "active": False, "any_row": False, "n": 0}
    assert type(row["active"]) is bool


@pytest.mark.sqlite_only
async def test_without_types_sqlite_hands_back_text_and_integers():
    """Why `types` exists: the same query untyped differs per engine."""
    family = await _rows_to_read()
    (row,) = await fetch(EXPRESSIONS_SQL, family.id, True, "Noël")
    assert row["day"] == "2026-12-28" and isinstance(row["created_at"], str)
    assert row["active"] == 1 and type(row["active"]) is int


async def test_plain_columns_are_typed_too_and_the_spec_is_harmless_on_them():
    await _rows_to_read()
    rows = await fetch(
        "SELECT starts_on, ends_on, reason FROM closure ORDER BY starts_on",
        types={"starts_on": dt.date, "ends_on": dt.date},
    )
    assert [(r["starts_on"], r["ends_on"]) for r in rows] == [
        (dt.date(2026, 12, 21), dt.date(2026, 12, 31)),
        (dt.date(2026, 12, 28), dt.date(2026, 12, 28)),
    ]


async def test_placeholders_are_bound_in_order_and_never_spliced():
    a = await factories.make_family("F00001", name="O'Brien")
    b = await factories.make_family("F00002", name="Martin")
    await factories.make_family("F00003", name="Durand")
    rows = await fetch(
        "SELECT code FROM family WHERE id IN ({}, {}) AND name <> {} ORDER BY code",
        a.id,
        b.id,
        "Robert'); DROP TABLE family; --",
    )
    assert [r["code"] for r in rows] == ["F00001", "F00002"]
    (quoted,) = await fetch("SELECT code FROM family WHERE name = {}", "O'Brien")
    assert quoted == {"code": "F00001"}
    assert await Family.count() == 3


async def test_inside_a_transaction_it_reads_its_own_writes_and_returns_what_it_wrote():
    family = await factories.make_family("F00001", name="Martin")
    async with write_transaction():
        changed = await fetch(
            "UPDATE family SET name = {} WHERE id = {} RETURNING id, name",
            "Martin-Durand",
            family.id,
        )
        seen = await fetch("SELECT name FROM family WHERE id = {}", family.id)
        assert changed == [{"id": family.id, "name": "Martin-Durand"}]
        assert seen == [{"name": "Martin-Durand"}]
    assert await fetch("SELECT name FROM family WHERE id = {}", family.id) == [
        {"name": "Martin-Durand"}
    ]


async def test_no_rows_is_an_empty_list_and_a_wrong_spec_is_a_loud_bug():
    assert await fetch("SELECT id FROM family WHERE id = {}", 0, types={"id": int}) == []
    await factories.make_family("F00001")
    with pytest.raises(KeyError):
        await fetch("SELECT id FROM family", types={"identifiant": int})
    with pytest.raises(TypeError, match="no conversion"):
        await fetch("SELECT id FROM family", types={"id": float})


async def test_fetch_tuples_gives_the_same_rows_in_column_order_in_and_out_of_a_transaction():
    from ecp.db import fetch_tuples

    family = await _rows_to_read()
    sql = EXPRESSIONS_SQL + " GROUP BY c.reason"
    args = (family.id, True, "Noël")
    by_position = {0: dt.date, 1: dt.datetime, 2: bool, 3: bool, 4: int}
    (as_dict,) = await fetch(sql, *args, types=TYPES)
    (outside,) = await fetch_tuples(sql, *args, types=by_position)
    async with write_transaction():
        (inside,) = await fetch_tuples(sql, *args, types=by_position)
    assert outside == inside == tuple(as_dict.values())
    assert outside[0] == dt.date(2026, 12, 28) and outside[2] is True and outside[4] == 2
    assert outside[1].tzinfo is not None
    assert await fetch_tuples("SELECT id FROM family WHERE code = {}", "nobody") == []
