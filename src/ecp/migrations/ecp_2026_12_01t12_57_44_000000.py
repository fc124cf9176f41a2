"""The relances' indexes: one reminder per invoice and level, and a batch's letters. A migration
of its own because Piccolo runs a migration's raw SQL before its tables."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T12:57:44:000000"
VERSION = "1.38.0"
DESCRIPTION = "invoice_reminder indexes"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ecp", description=DESCRIPTION)

    async def run():
        # A relance is sent once per invoice and level, however often the batch is run.
        await RawTable.raw('CREATE UNIQUE INDEX "invoice_reminder_level_uniq" ON '
                           '"invoice_reminder" ("invoice", "level")')
        # The letters of one batch.
        await RawTable.raw('CREATE INDEX "invoice_reminder_batch_idx" ON '
                           '"invoice_reminder" ("batch")')

    async def run_backwards():
        await RawTable.raw('DROP INDEX IF EXISTS "invoice_reminder_batch_idx"')
        await RawTable.raw('DROP INDEX IF EXISTS "invoice_reminder_level_uniq"')

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
