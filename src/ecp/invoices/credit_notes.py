"""Credit notes (avoirs): the only way to correct an issued invoice, which is never edited.

A credit note copies the chosen lines of the invoice with negative amounts, is numbered
AV-YYYY-NNNNNN without gaps (its own InvoiceCounter row, bumped in the same transaction) and is
applied at once to what the invoice still owes (Invoice.paid_cents counts what is settled,
by payments or by credit); any excess, when the invoice was already paid, is left to refund and
shown on the credit note.
"""

from __future__ import annotations

from ecp import clock
from ecp.db import lock_for_update, write_transaction
from ecp.errors import Rejected
from ecp.families.tables import Family
from ecp.invoices.billing import format_number
from ecp.invoices.queries import CREDIT_PREFIX, credited_lines
from ecp.invoices.tables import Invoice, InvoiceCounter, InvoiceLine

__all__ = ["CreditNoteError", "InvoiceNotFound", "credited_lines", "issue_credit_note"]


class CreditNoteError(Rejected):
    """A credit note that cannot be issued; the message is French and shown to staff, under
    the lines field unless another is named."""


class InvoiceNotFound(CreditNoteError):
    pass


async def issue_credit_note(
    *,
    invoice_id: int,
    line_ids: list[int],
    reason: str,
    staff_id: int | None = None,
    actor=None,
    settings=None,
) -> dict:
    """Returns {"id", "number", "total_cents", "applied_cents", "refund_cents"}."""
    if not line_ids:
        raise CreditNoteError("Choisissez au moins une ligne à annuler.")
    if not reason.strip():
        raise CreditNoteError("Indiquez le motif de l’avoir.", field="motif")
    now = clock.now()
    year = clock.today().year
    await InvoiceCounter.insert(InvoiceCounter(year=year, kind="AV", last_number=0)).on_conflict(
        action="DO NOTHING"
    )
    async with write_transaction():
        counter = await lock_for_update(
            InvoiceCounter.select().where(
                (InvoiceCounter.year == year) & (InvoiceCounter.kind == "AV")
            )
        )
        invoice = await lock_for_update(
            Invoice.select().where((Invoice.id == invoice_id) & (Invoice.kind == "facture"))
        ).first()
        if invoice is None:
            raise InvoiceNotFound("Cette facture n’existe pas.")
        lines = (
            await InvoiceLine.select()
            .where(InvoiceLine.invoice == invoice_id)
            .order_by(InvoiceLine.id)
        )
        chosen = [ln for ln in lines if ln["id"] in set(line_ids)]
        if len(chosen) != len(set(line_ids)):
            raise CreditNoteError("Une des lignes n’appartient pas à cette facture.")
        # A line is credited at most once: its credit copy has the same days and label.
        done = {(row["label"], row["days"]) for row in await credited_lines(invoice_id)}
        for line in chosen:
            if (_credit_label(line), line["days"]) in done:
                raise CreditNoteError(
                    f"La ligne « {line['label']} » a déjà fait l’objet d’un avoir."
                )
        total = -sum(ln["amount_cents"] for ln in chosen)
        owed = max(invoice["total_cents"] - invoice["paid_cents"], 0)
        applied = min(-total, owed)
        number = format_number("AV", year, counter[0]["last_number"] + 1)
        credit = Invoice(
            number=number,
            kind="avoir",
            family=invoice["family"],
            month=invoice["month"],
            issued_at=now,
            due_on=clock.today(),
            total_cents=total,
            paid_cents=-applied,
            corrects=invoice_id,
            billing_run=None,
            family_name=invoice["family_name"],
            address=invoice["address"],
            paperless=invoice["paperless"],
            note=reason.strip(),
        )
        await credit.save()
        await InvoiceLine.insert(
            *[
                InvoiceLine(
                    invoice=credit.id,
                    child=ln["child"],
                    activity=ln["activity"],
                    kind="avoir",
                    label=_credit_label(ln),
                    days=ln["days"],
                    quantity=ln["quantity"],
                    unit_price_cents=-ln["unit_price_cents"],
                    amount_cents=-ln["amount_cents"],
                )
                for ln in chosen
            ]
        )
        if applied:
            await Invoice.update({Invoice.paid_cents: Invoice.paid_cents + applied}).where(
                Invoice.id == invoice_id
            )
        await InvoiceCounter.update(
            {InvoiceCounter.last_number: InvoiceCounter.last_number + 1}
        ).where(InvoiceCounter.id == counter[0]["id"])
        family = (
            await Family.select(Family.email, Family.paperless)
            .where(Family.id == invoice["family"])
            .first()
        )
        if settings is not None and family and family["paperless"] and family["email"]:
            from ecp.mail.notices import queue_credit_note_notice

            await queue_credit_note_notice(
                {
                    "family_id": invoice["family"],
                    "email": family["email"],
                    "family_name": invoice["family_name"],
                    "number": number,
                    "invoice_number": invoice["number"],
                    "month": invoice["month"],
                    "amount_cents": -total,
                    "refund_cents": -total - applied,
                    "reason": reason.strip(),
                    "credit_id": credit.id,
                },
                settings,
            )
        if actor is not None:
            from ecp.audit import services as audit

            await audit.record(
                actor,
                "avoir_emis",
                family_id=invoice["family"],
                target=f"Invoice:{credit.id}",
                details={
                    "avoir": number,
                    "facture": invoice["number"],
                    "montant_cents": total,
                    "motif": reason.strip(),
                    "lignes": [ln["id"] for ln in chosen],
                },
            )
    return {
        "id": credit.id,
        "number": number,
        "total_cents": total,
        "applied_cents": applied,
        "refund_cents": -total - applied,
        "family_id": invoice["family"],
        "invoice_number": invoice["number"],
        "reason": reason,
    }


def _credit_label(line: dict) -> str:
    return f"{CREDIT_PREFIX}{line['label']}"[:200]
