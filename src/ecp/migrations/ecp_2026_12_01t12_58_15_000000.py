"""The keys of billing_anomaly: one row per (month, kind, child, activity, day), which a re-run
finds again, and the month's list by state. A migration of its own because Piccolo runs a
migration's raw SQL before its tables."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T12:58:15:000000"
VERSION = "1.38.0"
DESCRIPTION = "billing_anomaly keys"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ecp", description=DESCRIPTION)

    async def run():
        # One anomaly per month, kind and subject: a re-run finds the row again.
        await RawTable.raw(
            'CREATE UNIQUE INDEX "billing_anomaly_key" ON "billing_anomaly" '
            '("month", "kind", "child", "activity", "day")'
        )
        # The month's anomalies by state.
        await RawTable.raw(
            'CREATE INDEX "billing_anomaly_month_state_idx" ON "billing_anomaly" '
            '("month", "state")'
        )

    async def run_backwards():
        await RawTable.raw('DROP INDEX IF EXISTS "billing_anomaly_month_state_idx"')
        await RawTable.raw('DROP INDEX IF EXISTS "billing_anomaly_key"')

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
