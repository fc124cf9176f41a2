"""The key of refused_notification: one row per (hour, address, reason), the upsert's conflict
target. A migration of its own because Piccolo runs a migration's raw SQL before its tables."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T09:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "refused_notification key"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ecp", description=DESCRIPTION)

    # The upsert's conflict target: one row per hour, address and reason.
    async def run():
        await RawTable.raw('CREATE UNIQUE INDEX refused_notification_key ON '
                           '"refused_notification" ("hour", "source_ip", "reason")')

    async def run_backwards():
        await RawTable.raw("DROP INDEX IF EXISTS refused_notification_key")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
