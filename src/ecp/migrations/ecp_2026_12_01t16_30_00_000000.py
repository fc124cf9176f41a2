"""Two indexes the hot pages lacked.

- The place counters of a week by school and day: the week calendar reads its schools'
  counters over five days, and the only index led with (school, activity), so SQLite scanned
  every counter of the school's year (about 100 µs a page on the bench commune, 25 µs with it).
- A school's children: the effectifs page's unbooked children walked every child of the commune
  in name order (3.5 ms at 10,000 families, 0.4 ms with it)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T16:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "slot index by school and day; child index by school"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ecp", description=DESCRIPTION)

    async def run():
        await RawTable.raw('CREATE INDEX "slot_school_day_idx" ON "slot" ("school", "day")')
        await RawTable.raw('CREATE INDEX "child_school_idx" ON "child" ("school")')

    async def run_backwards():
        await RawTable.raw('DROP INDEX IF EXISTS "child_school_idx"')
        await RawTable.raw('DROP INDEX IF EXISTS "slot_school_day_idx"')

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
