"""The indexes of the family record's new columns and tables: a creation key used once, a
family's contacts, and one quotient familial per family and day. A migration of its own because Piccolo runs a migration's raw SQL
before its tables."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T13:11:54:000000"
VERSION = "1.38.0"
DESCRIPTION = "family_contact and quotient_history indexes"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ecp", description=DESCRIPTION)

    async def run():
        # The creation form's key is used once: posting the form again creates nothing.
        await RawTable.raw(
            'CREATE UNIQUE INDEX "family_creation_key_uniq" ON "family" ("creation_key")'
        )
        # A family's emergency contacts and people allowed to collect the children.
        await RawTable.raw(
            'CREATE INDEX "family_contact_family_idx" ON "family_contact" ("family")'
        )
        # One quotient familial per family and day (a correction replaces the day's row).
        await RawTable.raw(
            'CREATE UNIQUE INDEX "quotient_history_family_day_uniq" ON "quotient_history" '
            '("family", "effective_from")'
        )

    async def run_backwards():
        await RawTable.raw('DROP INDEX IF EXISTS "quotient_history_family_day_uniq"')
        await RawTable.raw('DROP INDEX IF EXISTS "family_contact_family_idx"')
        await RawTable.raw('DROP INDEX IF EXISTS "family_creation_key_uniq"')

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
