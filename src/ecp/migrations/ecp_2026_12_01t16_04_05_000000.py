"""The care certificates' indexes: one per family and year (the year's run, run again, adds
nothing), and a family's certificates. A migration of its own because Piccolo runs a
migration's raw SQL before its tables."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T16:04:05:000000"
VERSION = "1.38.0"
DESCRIPTION = "care_certificate indexes"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ecp", description=DESCRIPTION)

    async def run():
        await RawTable.raw(
            'CREATE UNIQUE INDEX "care_certificate_year_family_uniq" ON "care_certificate" '
            '("year", "family")'
        )
        await RawTable.raw(
            'CREATE INDEX "care_certificate_family_idx" ON "care_certificate" ("family")'
        )

    async def run_backwards():
        await RawTable.raw('DROP INDEX IF EXISTS "care_certificate_family_idx"')
        await RawTable.raw('DROP INDEX IF EXISTS "care_certificate_year_family_uniq"')

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
