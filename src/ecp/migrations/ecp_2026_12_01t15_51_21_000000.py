"""The index of the sent messages' list. A migration of its own because Piccolo runs a
migration's raw SQL before its tables."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T15:51:21:000000"
VERSION = "1.38.0"
DESCRIPTION = "family_message index"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ecp", description=DESCRIPTION)

    async def run():
        await RawTable.raw(
            'CREATE INDEX "family_message_sent_idx" ON "family_message" ("sent_at")'
        )

    async def run_backwards():
        await RawTable.raw('DROP INDEX IF EXISTS "family_message_sent_idx"')

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
