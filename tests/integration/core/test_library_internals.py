"""Where ECP leans on library internals, pinned and checked, so an upgrade fails here first.

ecp.db.SQLiteSharedReadsEngine overrides Piccolo's private SQLiteEngine._run_in_new_connection
(its SELECTs on a plain sqlite3 connection, with Piccolo's row factory); the bench tool bench.querycount (which
tests/booking_support.count_queries uses) patches the same method and
SQLiteEngine/PostgresEngine.run_querystring. These tests run in both engine passes: they build
their own SQLite engine and need no database of the pass.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.metadata
import inspect
import re
import tomllib
from pathlib import Path

import pytest
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType, dict_factory
from piccolo.querystring import QueryString

from ecp.db import PINNED_VERSIONS, SQLiteSharedReadsEngine

ROOT = Path(__file__).resolve().parents[3]
RECHECK = (
    "ecp.db.SQLiteSharedReadsEngine (and bench.querycount) rely "
    "on internals of piccolo and aiosqlite, written for piccolo {piccolo} and aiosqlite "
    "{aiosqlite}. Before moving the pin: read "
    "piccolo/engine/sqlite.py and check that run_querystring and run_ddl still call "
    "self._run_in_new_connection(query=..., args=..., query_type=..., table=...) outside a "
    "transaction and that _run_in_new_connection still only opens a connection, runs and "
    "commits; that SQLiteTransaction still takes its connection from engine.get_connection() "
    "on entry and only close()s it on exit, and sends BEGIN, COMMIT, ROLLBACK and SAVEPOINT "
    "through connection.execute(); that _run_in_existing_connection still only uses "
    "connection.execute() (awaited or entered), row_factory and the cursor's fetchall() "
    "(ecp.db._InlineConnection implements exactly that); that the converters ecp.db.CACHED_CONVERTERS "
    "names are still Piccolo's CONVERTERS. Then update ecp.db.PINNED_VERSIONS and the pins "
    "in pyproject.toml together."
).format(**PINNED_VERSIONS)


def _shape(function) -> list[tuple[str, str, object]]:
    """Names, kinds and defaults: what a caller passing arguments by name depends on."""
    return [
        (p.name, p.kind.name, p.default) for p in inspect.signature(function).parameters.values()
    ]


EMPTY = inspect.Parameter.empty
POSITIONAL = "POSITIONAL_OR_KEYWORD"


@pytest.mark.parametrize("package", sorted(PINNED_VERSIONS))
def test_the_installed_version_is_the_one_the_override_was_written_for(package):
    installed = importlib.metadata.version(package)
    assert installed == PINNED_VERSIONS[package], (
        f"{package} {installed} is installed, not {PINNED_VERSIONS[package]}. {RECHECK}"
    )


def test_pyproject_pins_exactly_those_versions():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for package, version in PINNED_VERSIONS.items():
        pins = [d for d in dependencies if re.match(rf"{package}(\[[^\]]*\])?\s*[=<>!~]", d)]
        assert len(pins) == 1 and pins[0].endswith(f"=={version}"), (
            f"pyproject.toml must pin {package}=={version} (found {pins}). {RECHECK}"
        )


def test_piccolo_private_and_patched_methods_keep_their_signatures():
    assert _shape(SQLiteEngine._run_in_new_connection) == [
        ("self", POSITIONAL, EMPTY),
        ("query", POSITIONAL, EMPTY),
        ("args", POSITIONAL, None),
        ("query_type", POSITIONAL, "generic"),
        ("table", POSITIONAL, None),
    ], RECHECK
    # The override's own signature must stay a drop-in for the original.
    assert _shape(SQLiteSharedReadsEngine._run_in_new_connection) == _shape(
        SQLiteEngine._run_in_new_connection
    ), RECHECK
    assert _shape(SQLiteEngine.run_querystring) == [
        ("self", POSITIONAL, EMPTY),
        ("querystring", POSITIONAL, EMPTY),
        ("in_pool", POSITIONAL, False),
    ], RECHECK
    assert _shape(PostgresEngine.run_querystring) == [
        ("self", POSITIONAL, EMPTY),
        ("querystring", POSITIONAL, EMPTY),
        ("in_pool", POSITIONAL, True),
    ], RECHECK
    assert _shape(SQLiteEngine.run_ddl) == [
        ("self", POSITIONAL, EMPTY),
        ("ddl", POSITIONAL, EMPTY),
        ("in_pool", POSITIONAL, False),
    ], RECHECK
    assert _shape(dict_factory) == [("cursor", POSITIONAL, EMPTY), ("row", POSITIONAL, EMPTY)]
    assert TransactionType.immediate.value == "IMMEDIATE", RECHECK


def test_piccolo_still_routes_queries_outside_a_transaction_through_the_overridden_method():
    for method in (SQLiteEngine.run_querystring, SQLiteEngine.run_ddl):
        source = inspect.getsource(method)
        assert "self._run_in_new_connection(" in source, f"{method.__qualname__}: {RECHECK}"
        assert "self.current_transaction.get()" in source, f"{method.__qualname__}: {RECHECK}"


async def test_the_shared_reader_serves_selects_and_leaves_writes_to_piccolo(tmp_path):
    engine = SQLiteSharedReadsEngine(path=str(tmp_path / "internals.sqlite"), timeout=30)
    await engine.run_ddl("CREATE TABLE t (id INTEGER PRIMARY KEY, day DATE, ok BOOLEAN)")
    await engine.run_querystring(
        QueryString("INSERT INTO t (day, ok) VALUES ({}, {})", "2026-12-21", True)
    )
    first = await engine.run_querystring(QueryString("SELECT day, ok FROM t"))
    second = await engine.run_querystring(QueryString("SELECT COUNT(*) AS n FROM t"))
    try:
        # One reader for this loop, opened by the first SELECT and reused by the second; the
        # rows are Piccolo's (dicts, declared types converted), as on Piccolo's own path.
        assert list(engine._readers) == [id(asyncio.get_running_loop())]
        assert first == [{"day": dt.date(2026, 12, 21), "ok": True}] and second == [{"n": 1}]
        # A write after the reader opened is seen by it: each SELECT runs in autocommit.
        await engine.run_querystring(QueryString("DELETE FROM t"))
        assert await engine.run_querystring(QueryString("SELECT COUNT(*) AS n FROM t")) == [
            {"n": 0}
        ]
    finally:
        engine.close_reader()
        assert engine._readers == {}


def test_the_memoised_converters_are_piccolos_own():
    """ecp.db re-registers Piccolo's converters memoised (a page's rows repeat the same dates and
    ids): each registered one wraps Piccolo's function of that name, and gives its results."""
    import sqlite3

    from piccolo.engine import sqlite as piccolo_sqlite

    from ecp.db import CACHED_CONVERTERS

    for declared, original in CACHED_CONVERTERS.items():
        assert original is piccolo_sqlite.CONVERTERS[declared], RECHECK
        registered = sqlite3.converters[declared]
        assert registered.__wrapped__ is original, f"{declared}: {RECHECK}"
    date = sqlite3.converters["DATE"]
    assert date(b"2026-12-21") == dt.date(2026, 12, 21) == date(b"2026-12-21")
    assert sqlite3.converters["INTEGER"](b"42") == 42
    assert sqlite3.converters["BOOLEAN"](b"0") is False


def test_piccolo_transactions_still_take_their_connection_from_the_engine():
    """ecp.db lends the queued writer's connection through SQLiteEngine.get_connection: Piccolo's
    transaction must still ask the engine for it on entry and only close() it on exit."""
    from piccolo.engine.sqlite import SQLiteTransaction

    assert "self.connection = await self.get_connection()" in inspect.getsource(
        SQLiteTransaction.__aenter__
    ), RECHECK
    assert "self.engine.get_connection()" in inspect.getsource(SQLiteTransaction.get_connection), (
        RECHECK
    )
    assert "await self.connection.close()" in inspect.getsource(SQLiteTransaction.__aexit__), (
        RECHECK
    )


async def test_queued_writers_share_one_connection_and_the_last_closes_it(tmp_path):
    from ecp.db import _queued_sqlite_transaction

    engine = SQLiteSharedReadsEngine(path=str(tmp_path / "writers.sqlite"), timeout=30)
    await engine.run_ddl("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)")
    used = []

    async def write(n: int, fail: bool = False) -> None:
        async with _queued_sqlite_transaction(engine):
            used.append(engine.current_transaction.get().connection._connection)
            await engine.run_querystring(QueryString("INSERT INTO t (n) VALUES ({})", n))
            await asyncio.sleep(0)
            if fail:
                raise LookupError("rolled back")

    try:
        await asyncio.gather(write(1), write(2), write(3))
        # A burst: the writers queued behind the first reuse its connection, the last closes it.
        assert len({id(c) for c in used}) == 1
        assert engine.writer_queue().connection is None
        # Closed, its thread stopped (aiosqlite's close waits for it): none left to keep the
        # process from exiting.
        assert used[0]._connection is None
        # A failed transaction is rolled back and its connection not handed on.
        used.clear()
        results = await asyncio.gather(write(4, fail=True), write(5), return_exceptions=True)
        assert isinstance(results[0], LookupError) and results[1] is None
        assert used[0] is not used[1]
        rows = await engine.run_querystring(QueryString("SELECT n FROM t ORDER BY n"))
        assert [r["n"] for r in rows] == [1, 2, 3, 5]
        assert engine.writer_queue().connection is None
        assert all(c._connection is None for c in used)
    finally:
        engine.close_reader()


def test_piccolos_transaction_uses_only_what_the_inline_writer_offers():
    # _InlineConnection implements execute (awaited or entered), row_factory, commit, close:
    # a transaction or a statement reaching for anything else would fail on it.
    source = inspect.getsource(piccolo_sqlite_module())
    used = set(re.findall(r"\bconnection\.(\w+)", source))
    offered = {"execute", "row_factory", "commit", "close", "in_transaction"}
    assert used <= offered | {"cursor"}, f"{sorted(used - offered)}. {RECHECK}"
    cursor_calls = set(re.findall(r"\bcursor\.(\w+)", source))
    assert cursor_calls <= {
        "fetchall",
        "fetchone",
        "fetchmany",
        "execute",
        "close",
        "lastrowid",
        "description",
    }, f"{sorted(cursor_calls)}. {RECHECK}"


def piccolo_sqlite_module():
    import piccolo.engine.sqlite as module

    return module
