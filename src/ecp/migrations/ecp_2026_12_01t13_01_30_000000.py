"""The indexes of credit allocations and refunds, and the one-invoice-per-month rule narrowed to
the month's first invoice: a régularisation's additional invoice corrects it (`corrects` set) and
may repeat. A migration of its own because Piccolo runs a migration's raw SQL before its tables.

Backwards restores the former rule, which fails while additional invoices exist (as it should:
they would break it)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T13:01:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "credit allocation and refund indexes; one first invoice per family and month"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ecp", description=DESCRIPTION)

    async def run():
        # Credit notes set against invoices, seen from either document.
        await RawTable.raw('CREATE INDEX "credit_allocation_invoice_idx" ON '
                           '"credit_allocation" ("invoice")')
        await RawTable.raw('CREATE INDEX "credit_allocation_credit_idx" ON '
                           '"credit_allocation" ("credit")')
        # The refunds of a credit note.
        await RawTable.raw('CREATE INDEX "credit_refund_credit_idx" ON "credit_refund" ("credit")')
        # One invoice per family and month from the billing run; additional invoices repeat.
        await RawTable.raw('DROP INDEX IF EXISTS "invoice_family_month_facture_uniq"')
        await RawTable.raw('CREATE UNIQUE INDEX "invoice_family_month_facture_uniq" ON '
                           '"invoice" ("family", "month") '
                           "WHERE kind = 'facture' AND corrects IS NULL")

    async def run_backwards():
        await RawTable.raw('DROP INDEX IF EXISTS "invoice_family_month_facture_uniq"')
        await RawTable.raw("CREATE UNIQUE INDEX invoice_family_month_facture_uniq ON invoice "
                           "(family, month) WHERE kind = 'facture'")
        await RawTable.raw('DROP INDEX IF EXISTS "credit_refund_credit_idx"')
        await RawTable.raw('DROP INDEX IF EXISTS "credit_allocation_credit_idx"')
        await RawTable.raw('DROP INDEX IF EXISTS "credit_allocation_invoice_idx"')

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
