"""The finance tables' indexes: one counter per exercise, one bordereau per exercise and number,
an invoice in one standing bordereau at most, one set of codes per activity. A migration of its
own because Piccolo runs a migration's raw SQL before its tables."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T15:27:50:000000"
VERSION = "1.38.0"
DESCRIPTION = "finance indexes"

STATEMENTS = [
    'CREATE UNIQUE INDEX "pes_counter_year_uniq" ON "pes_counter" ("year")',
    'CREATE UNIQUE INDEX "pes_bordereau_number_uniq" ON "pes_bordereau" ("year", "number")',
    'CREATE UNIQUE INDEX "pes_piece_invoice_active_uniq" ON "pes_piece" ("invoice") '
    "WHERE state = 'active'",
    'CREATE INDEX "pes_piece_bordereau_idx" ON "pes_piece" ("bordereau")',
    'CREATE UNIQUE INDEX "finance_activity_code_uniq" ON "finance_activity_code" ("activity")',
]
NAMES = [
    "pes_counter_year_uniq",
    "pes_bordereau_number_uniq",
    "pes_piece_invoice_active_uniq",
    "pes_piece_bordereau_idx",
    "finance_activity_code_uniq",
]


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ecp", description=DESCRIPTION)

    async def run():
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    async def run_backwards():
        for name in reversed(NAMES):
            await RawTable.raw(f'DROP INDEX IF EXISTS "{name}"')

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
