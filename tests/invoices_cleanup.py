"""Credit notes (and régularisations' additional invoices) reference their invoice, credit lines
the line they cancel, allocations and refunds their credit note (ON DELETE RESTRICT, checked
row by row on SQLite), so the shared table cleaning must delete them first; test modules that
issue credit notes use it."""

from __future__ import annotations

import pytest

from ecp.invoices.tables import CreditAllocation, CreditRefund, Invoice, InvoiceLine
from ecp.payments.tables import PaymentAllocation, PaymentAttemptInvoice


@pytest.fixture(autouse=True)
async def delete_credit_notes_first(clean_db):
    yield
    credits = Invoice.select(Invoice.id).where(Invoice.corrects.is_not_null())
    await CreditAllocation.delete(force=True)
    await CreditRefund.delete(force=True)
    await PaymentAllocation.delete().where(PaymentAllocation.invoice.is_in(credits))
    await PaymentAttemptInvoice.delete().where(PaymentAttemptInvoice.invoice.is_in(credits))
    await InvoiceLine.delete().where(InvoiceLine.credits_line.is_not_null())
    await InvoiceLine.delete().where(InvoiceLine.invoice.is_in(credits))
    await Invoice.delete().where(Invoice.corrects.is_not_null())
