"""Read models for invoice pages; each function costs a fixed number of queries."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.commune.tables import CommuneSettings
from ecp.db import fetch
from ecp.invoices.status import LABELS, invoice_status
from ecp.invoices.tables import Invoice, InvoiceLine

INVOICE_COLUMNS = (
    Invoice.id,
    Invoice.number,
    Invoice.kind,
    Invoice.family,
    Invoice.month,
    Invoice.issued_at,
    Invoice.due_on,
    Invoice.total_cents,
    Invoice.paid_cents,
    Invoice.corrects,
    Invoice.family_name,
    Invoice.address,
    Invoice.paperless,
    Invoice.note,
)


def decorate(row: dict, today: dt.date | None = None) -> dict:
    """Adds status code and label and the amount still owed."""
    status = invoice_status(
        row["total_cents"], row["paid_cents"], row["due_on"], today or clock.today(), row["kind"]
    )
    row["status"] = status
    row["status_label"] = LABELS[status]
    row["remaining_cents"] = (
        max(row["total_cents"] - row["paid_cents"], 0) if row["kind"] == "facture" else 0
    )
    return row


# Raw SQL for the family's list, opened on every visit: building the Piccolo select with its
# self-join cost more than running it.
FAMILY_INVOICES_SQL = (
    "SELECT i.id, i.number, i.kind, i.family, i.month, i.issued_at, i.due_on, i.total_cents, "
    "i.paid_cents, i.corrects, i.family_name, i.address, i.paperless, i.note, "
    "c.number AS corrects_number "
    "FROM invoice i LEFT JOIN invoice c ON c.id = i.corrects "
    "WHERE i.family = {} ORDER BY i.month DESC, i.id DESC"
)
FAMILY_INVOICES_TYPES = {"month": dt.date, "due_on": dt.date, "issued_at": dt.datetime}


async def family_invoices(family_id: int) -> list[dict]:
    rows = await fetch(FAMILY_INVOICES_SQL, family_id, types=FAMILY_INVOICES_TYPES)
    today = clock.today()
    return [decorate(r, today) for r in rows]


def totals(invoices: list[dict]) -> dict:
    factures = [i for i in invoices if i["kind"] == "facture"]
    return {
        "to_pay_cents": sum(i["remaining_cents"] for i in factures),
        "late_cents": sum(i["remaining_cents"] for i in factures if i["status"] == "en_retard"),
        "billed_cents": sum(i["total_cents"] for i in factures),
        "paid_cents": sum(min(i["paid_cents"], i["total_cents"]) for i in factures),
        "unpaid_count": sum(1 for i in factures if i["remaining_cents"] > 0),
    }


async def invoice_document(invoice_id: int, family_id: int | None = None) -> dict | None:
    """The invoice with its lines, credit notes and the commune's details; None if not found
    (or, with family_id, not this family's)."""
    query = Invoice.select(
        *INVOICE_COLUMNS,
        Invoice.family.code.as_alias("family_code"),
        Invoice.corrects.number.as_alias("corrects_number"),
    ).where(Invoice.id == invoice_id)
    if family_id is not None:
        query = query.where(Invoice.family == family_id)
    invoice = await query.first()
    if invoice is None:
        return None
    decorate(invoice)
    lines = (
        await InvoiceLine.select(
            InvoiceLine.id,
            InvoiceLine.kind,
            InvoiceLine.label,
            InvoiceLine.days,
            InvoiceLine.quantity,
            InvoiceLine.unit_price_cents,
            InvoiceLine.amount_cents,
            InvoiceLine.child,
            InvoiceLine.activity,
        )
        .where(InvoiceLine.invoice == invoice_id)
        .order_by(InvoiceLine.id)
    )
    for line in lines:
        line["day_list"] = [dt.date.fromisoformat(d) for d in line["days"].split(",") if d]
    credits = (
        await Invoice.select(*INVOICE_COLUMNS)
        .where((Invoice.corrects == invoice_id) & (Invoice.kind == "avoir"))
        .order_by(Invoice.id)
    )
    commune = await CommuneSettings.select().first() or {
        "service_name": "Service Scolaire-Enfance-Jeunesse",
        "address": "",
        "phone": "",
        "email": "",
    }
    return {"invoice": invoice, "lines": lines, "credits": credits, "commune": commune}
