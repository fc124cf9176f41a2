"""Indexes of the staff family-search index (hand-written; runs on both engines).

The term column is compared byte-wise on both engines (SQLite's default BINARY collation,
COLLATE "C" on PostgreSQL), so a prefix search `term >= 'dup' AND term < 'duq'` is a plain
B-tree range scan whatever the server's locale.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.table import Table

ID = "2026-11-29T18:38:45:046037"
VERSION = "1.38.0"
DESCRIPTION = "family search index: collation and indexes"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ecp", description=DESCRIPTION)

    async def run():
        if engine_finder().engine_type == "postgres":
            await RawTable.raw('ALTER TABLE family_search_term ALTER COLUMN term '
                               'TYPE VARCHAR(120) COLLATE "C"')
        await RawTable.raw("CREATE INDEX family_search_term_idx ON family_search_term (term)")
        await RawTable.raw("CREATE INDEX family_search_term_family_idx "
                           "ON family_search_term (family)")

    async def run_backwards():
        await RawTable.raw("DROP INDEX IF EXISTS family_search_term_family_idx")
        await RawTable.raw("DROP INDEX IF EXISTS family_search_term_idx")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
