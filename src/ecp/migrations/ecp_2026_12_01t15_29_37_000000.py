"""The index of the agents' schools: one row per agent and school. A migration of its own
because Piccolo runs a migration's raw SQL before its tables."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T15:29:37:000000"
VERSION = "1.38.0"
DESCRIPTION = "staff_school index"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ecp", description=DESCRIPTION)

    async def run():
        await RawTable.raw(
            'CREATE UNIQUE INDEX "staff_school_uniq" ON "staff_school" ("staff", "school")'
        )

    async def run_backwards():
        await RawTable.raw('DROP INDEX IF EXISTS "staff_school_uniq"')

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
