"""setup_version: a row that database triggers change whenever the commune's set-up changes.

The week calendar and the booking toggle read the set-up (settings, current school year,
activities, capacities, closures) on every request. Each process now caches it under this
version, which the session query reads for free; triggers rather than application code bump it,
so a change from any path (staff pages, CLI, restore, another process) invalidates every cache.
The version is random rather than a counter, so a recreated database never matches a stale cache.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.table import Table

ID = "2026-11-29T21:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "setup_version row kept by triggers"

SETUP_TABLES = ("commune_settings", "school_year", "activity", "activity_capacity", "closure")


class RawTable(Table):
    pass


def _sqlite_statements() -> list[str]:
    out = ['CREATE TABLE "setup_version" ("id" INTEGER PRIMARY KEY, '
           '"version" INTEGER NOT NULL DEFAULT 0)',
           'INSERT INTO "setup_version" ("id", "version") VALUES (1, abs(random()))']
    for table in SETUP_TABLES:
        for op in ("INSERT", "UPDATE", "DELETE"):
            out.append(
                f'CREATE TRIGGER "setup_version_{table}_{op.lower()}" AFTER {op} ON "{table}" '
                'BEGIN INSERT INTO "setup_version" ("id", "version") VALUES (1, abs(random())) '
                'ON CONFLICT ("id") DO UPDATE SET "version" = excluded."version"; END')
    return out


def _postgres_statements() -> list[str]:
    out = ['CREATE TABLE "setup_version" ("id" SERIAL PRIMARY KEY, '
           '"version" BIGINT NOT NULL DEFAULT 0)',
           'INSERT INTO "setup_version" ("id", "version") '
           'VALUES (1, floor(random() * 9e15)::bigint)',
           "CREATE FUNCTION bump_setup_version() RETURNS trigger AS $$ BEGIN "
           'INSERT INTO "setup_version" ("id", "version") '
           "VALUES (1, floor(random() * 9e15)::bigint) "
           'ON CONFLICT ("id") DO UPDATE SET "version" = excluded."version"; '
           "RETURN NULL; END $$ LANGUAGE plpgsql"]
    for table in SETUP_TABLES:
        out.append(f'CREATE TRIGGER "setup_version_{table}" AFTER INSERT OR UPDATE OR DELETE '
                   f'OR TRUNCATE ON "{table}" FOR EACH STATEMENT '
                   "EXECUTE FUNCTION bump_setup_version()")
    return out


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ecp", description=DESCRIPTION)

    async def run():
        postgres = engine_finder().engine_type == "postgres"
        for statement in _postgres_statements() if postgres else _sqlite_statements():
            await RawTable.raw(statement)

    async def run_backwards():
        postgres = engine_finder().engine_type == "postgres"
        for table in SETUP_TABLES:
            if postgres:
                await RawTable.raw(f'DROP TRIGGER IF EXISTS "setup_version_{table}" ON "{table}"')
            else:
                for op in ("insert", "update", "delete"):
                    await RawTable.raw(f'DROP TRIGGER IF EXISTS "setup_version_{table}_{op}"')
        if postgres:
            await RawTable.raw("DROP FUNCTION IF EXISTS bump_setup_version()")
        await RawTable.raw('DROP TABLE IF EXISTS "setup_version"')

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
