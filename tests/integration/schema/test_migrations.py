"""The schema workflow, end to end, in a temporary copy of the project and a throwaway database
of this pass's engine (a SQLite file, or PostgreSQL database ecp_schema_<pid>, dropped after):
`piccolo migrations new ecp --auto` proposes nothing on HEAD; a column added to a table gives a
migration that runs forwards, backwards and forwards again; all migrations go forwards,
backwards all the way, and forwards again, leaving exactly the declared indexes and triggers."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[3]
ENGINE = os.environ.get("ECP_TEST_ENGINE", "sqlite")
# The migrations folder, relative to a checkout (ecp.resources.MIGRATIONS in the package).
MIGRATIONS = Path("src", "ecp", "migrations")


@pytest.fixture
def checkout(tmp_path) -> Path:
    """What the piccolo CLI needs: the package (with its migrations) and the root piccolo_conf.py.
    ecp.piccolo_app finds the migrations inside the package, so generated files land in the
    copy."""
    copy = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "src", copy / "src", ignore=ignore)
    shutil.copy(ROOT / "piccolo_conf.py", copy / "piccolo_conf.py")
    return copy


@pytest.fixture
async def database_url(tmp_path):
    if ENGINE != "postgres":
        yield f"sqlite:///{tmp_path / 'schema.sqlite'}"
        return
    import asyncpg

    base = os.environ["ECP_TEST_POSTGRES_URL"]
    name = f"ecp_schema_{os.getpid()}"
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield urlunsplit(urlsplit(base)._replace(path=f"/{name}"))
    finally:
        conn = await asyncpg.connect(base)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


def run(checkout: Path, url: str, *args: str, expect: int = 0) -> str:
    env = {**os.environ, "PYTHONPATH": str(checkout / "src"), "ECP_DATABASE_URL": url}
    env.pop("PICCOLO_CONF", None)
    proc = subprocess.run(
        [sys.executable, *args], cwd=checkout, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == expect, f"{args}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout


def migrate(checkout, url):
    assert "Base de données à jour." in run(checkout, url, "-m", "ecp.cli", "migrate")


def backwards(checkout, url, migration_id):
    out = run(
        checkout,
        url,
        "-m",
        "piccolo.main",
        "migrations",
        "backwards",
        "ecp",
        f"--migration_id={migration_id}",
        "--auto_agree",
    )
    assert "ok!" in out


def new_auto(checkout, url) -> str:
    return run(
        checkout,
        url,
        "-m",
        "piccolo.main",
        "migrations",
        "new",
        "ecp",
        "--auto",
        "--desc=schema test",
    )


def schema_check(checkout, url) -> None:
    assert "conformes aux déclarations" in run(checkout, url, "-m", "ecp.schema")


async def query(url: str, sql: str) -> list[tuple]:
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            with conn:  # commits
                return conn.execute(sql).fetchall()
        finally:
            conn.close()
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


async def columns(url: str, table: str) -> set[str]:
    if url.startswith("sqlite:///"):
        return {r[1] for r in await query(url, f'PRAGMA table_info("{table}")')}
    return {
        r[0]
        for r in await query(
            url, f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'"
        )
    }


async def leftovers(url: str) -> dict[str, set[str]]:
    """What remains of the schema besides Piccolo's own migration table."""
    if url.startswith("sqlite:///"):
        rows = await query(
            url,
            "SELECT type, name FROM sqlite_master "
            "WHERE name NOT LIKE 'sqlite_%' AND tbl_name != 'migration'",
        )
        return {kind: {n for t, n in rows if t == kind} for kind in ("table", "index", "trigger")}
    schema = "(SELECT oid FROM pg_namespace WHERE nspname = 'public')"
    return {
        "table": {
            r[0]
            for r in await query(
                url,
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename != 'migration'",
            )
        },
        "index": {
            r[0]
            for r in await query(
                url,
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' "
                "AND tablename != 'migration'",
            )
        },
        "trigger": {
            r[0] for r in await query(url, "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        },
        "function": {
            r[0]
            for r in await query(url, f"SELECT proname FROM pg_proc WHERE pronamespace = {schema}")
        },
    }


async def test_auto_proposes_no_migration_on_head(checkout, database_url):
    before = sorted(os.listdir(checkout / MIGRATIONS))
    real_before = sorted(os.listdir(ROOT / MIGRATIONS))
    out = new_auto(checkout, database_url)
    assert "No changes detected" in out
    assert sorted(os.listdir(checkout / MIGRATIONS)) == before
    assert sorted(os.listdir(ROOT / MIGRATIONS)) == real_before


async def test_all_migrations_go_forwards_backwards_all_the_way_and_forwards_again(
    checkout, database_url
):
    migrate(checkout, database_url)
    schema_check(checkout, database_url)
    assert await query(database_url, 'SELECT "id" FROM "setup_version"') == [(1,)]
    assert "setup_version" in (await leftovers(database_url))["table"]

    backwards(checkout, database_url, "all")
    assert all(not names for names in (await leftovers(database_url)).values()), await leftovers(
        database_url
    )
    assert await query(database_url, 'SELECT count(*) FROM "migration"') == [(0,)]

    migrate(checkout, database_url)
    schema_check(checkout, database_url)
    # The set-up triggers work again: a new activity changes the set-up version.
    (before,) = await query(database_url, 'SELECT "version" FROM "setup_version"')
    await query(
        database_url,
        "INSERT INTO activity (code, label, short_label, weekdays, "
        "starts_at, ends_at, eligible_levels, group_code, deadline_rule, "
        "default_capacity, sort_order, billable, active) VALUES "
        "('cantine', 'Cantine', 'Cantine', '1,2,4,5', '12:00', '13:30', "
        "'CP', '', 'working_days', 0, 0, true, true)",
    )
    assert await query(database_url, 'SELECT "version" FROM "setup_version"') != [before]


async def test_a_column_added_to_a_table_gives_an_auto_migration_that_runs_both_ways(
    checkout, database_url
):
    tables = checkout / "src" / "ecp" / "commune" / "tables.py"
    text = tables.read_text()
    anchor = "    billable = Boolean(default=True)\n"
    assert text.count(anchor) == 1
    tables.write_text(
        text.replace(anchor, anchor + '    schema_probe = Varchar(length=30, default="")\n')
    )
    before = set(os.listdir(checkout / MIGRATIONS))

    new_auto(checkout, database_url)
    (generated,) = set(os.listdir(checkout / MIGRATIONS)) - before
    source = (checkout / MIGRATIONS / generated).read_text()
    # Only the new column: no set-up table re-created, no phantom alteration.
    assert source.count("manager.add_column(") == 1 and 'column_name="schema_probe"' in source
    for other in ("add_table(", "alter_column(", "drop_column(", "drop_table("):
        assert other not in source

    migrate(checkout, database_url)
    assert "schema_probe" in await columns(database_url, "activity")
    schema_check(checkout, database_url)

    backwards(checkout, database_url, "1")
    assert "schema_probe" not in await columns(database_url, "activity")
    assert "billable" in await columns(database_url, "activity")

    migrate(checkout, database_url)
    assert "schema_probe" in await columns(database_url, "activity")
    schema_check(checkout, database_url)
    # With the table and its migration in step again, --auto has nothing more to propose.
    assert "No changes detected" in new_auto(checkout, database_url)
