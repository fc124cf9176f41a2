"""ecp.db.typed_rows: what fetch(types=...) does to each value, whichever engine it came from."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest

from ecp.db import typed_rows

UTC = dt.UTC
SRC = Path(__file__).resolve().parents[3] / "src" / "ecp"


def one(value, kind):
    return typed_rows([{"v": value}], {"v": kind})[0]["v"]


def test_dates_from_text_or_already_dates():
    assert one("2026-12-21", dt.date) == dt.date(2026, 12, 21)
    assert one(dt.date(2026, 12, 21), dt.date) == dt.date(2026, 12, 21)


def test_timestamps_are_aware_and_utc_when_the_text_has_no_offset():
    assert one("2026-12-01 09:30:00", dt.datetime) == dt.datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    paris = one("2026-12-01T10:30:00+01:00", dt.datetime)
    assert paris == dt.datetime(2026, 12, 1, 9, 30, tzinfo=UTC) and paris.utcoffset()
    naive = one(dt.datetime(2026, 12, 1, 9, 30), dt.datetime)
    assert naive.tzinfo is UTC
    aware = dt.datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert one(aware, dt.datetime) is aware


def test_times_from_text_or_already_times():
    assert one("16:30:00", dt.time) == dt.time(16, 30)
    assert one(dt.time(8, 0), dt.time) == dt.time(8, 0)


@pytest.mark.parametrize(
    "value, expected",
    [(0, False), (1, True), ("0", False), ("1", True), (True, True), (False, False)],
)
def test_booleans_from_sqlite_integers_or_text(value, expected):
    assert one(value, bool) is expected


def test_integers_from_postgres_decimals_or_text():
    assert one(Decimal("12"), int) == 12 and type(one(Decimal("12"), int)) is int
    assert one("7", int) == 7
    assert one(3, int) == 3


def test_null_stays_none_and_other_columns_are_untouched():
    rows = typed_rows(
        [{"day": None, "active": None, "name": "2026-12-21"}], {"day": dt.date, "active": bool}
    )
    assert rows == [{"day": None, "active": None, "name": "2026-12-21"}]


def test_a_column_named_but_absent_or_an_unknown_type_fails_loudly():
    with pytest.raises(KeyError):
        typed_rows([{"day": "2026-12-21"}], {"jour": dt.date})
    with pytest.raises(TypeError, match="no conversion"):
        typed_rows([{"amount": "1.5"}], {"amount": float})


def test_the_app_runs_raw_sql_only_through_ecp_db_fetch():
    """One way in keeps one placeholder style and one set of row types: a Table.raw() call
    would bring back per-engine rows (and the helpers that patched them up). Migrations are
    the exception: they run DDL, return no rows, and must never change once they have run."""
    migrations = SRC / "migrations"
    offenders = [
        f"{path.relative_to(SRC)}:{n}"
        for path in SRC.rglob("*.py")
        if migrations not in path.parents
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\.raw\(", line)
    ]
    assert offenders == []
