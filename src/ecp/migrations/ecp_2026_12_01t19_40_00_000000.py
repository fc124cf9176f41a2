"""The day's lists read from the booking index alone (issue 17).

The effectifs page sizes a school's lists (children per activity and state), counts the
kitchen's meals and leaves the children already on a list out of the « add a child » choice:
each walked the school's bookings of the day through (day, school, activity) and then read
every booking row for its state and child, in a table of three million rows at 10,000
families (about 1 ms each). With state and child in the index they are read from it alone
(0.25 ms each). The index replaces the old one, which is its prefix (the place counts and the
lists use it the same way)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T19:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "booking index by day, school, activity, state and child"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ecp", description=DESCRIPTION)

    async def run():
        await RawTable.raw(
            'CREATE INDEX "booking_day_school_activity_state_idx" '
            'ON "booking" ("day", "school", "activity", "state", "child")'
        )
        await RawTable.raw('DROP INDEX IF EXISTS "booking_day_school_activity_idx"')

    async def run_backwards():
        await RawTable.raw(
            'CREATE INDEX "booking_day_school_activity_idx" '
            'ON "booking" ("day", "school", "activity")'
        )
        await RawTable.raw('DROP INDEX IF EXISTS "booking_day_school_activity_state_idx"')

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
