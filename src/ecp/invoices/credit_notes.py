"""Credit notes (avoirs): the only way to correct an issued invoice, which is never edited.

The régisseur picks days of the invoice's lines (or whole lines) and gives a reason from a list
(pricing.MANUAL_REASONS; « autre » needs a text). The credit note copies each chosen line with
the chosen days and negative amounts, names the line it cancels (InvoiceLine.credits_line: a
day is credited once only) and is numbered AV-YYYY-NNNNNN without gaps (its own InvoiceCounter
row, locked and bumped in the same transaction). Its amount settles at once what the family
still owes, the corrected invoice first (ecp.invoices.settlement); what nothing is due against
is left to refund, and shown on the credit note.

A credit note issued by hand also tells the régularisations that its days are not due: they are
not billed again (pricing.regularise).
"""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.db import lock_for_update, write_transaction
from ecp.errors import Rejected
from ecp.families import queries as family_queries
from ecp.families.tables import Family
from ecp.invoices import numbering, pricing, settlement
from ecp.invoices.queries import CREDIT_PREFIX, credited_days, credited_lines
from ecp.invoices.tables import Invoice, InvoiceLine
from ecp.web.templating import jour

__all__ = [
    "CreditNoteError",
    "InvoiceNotFound",
    "credited_lines",
    "issue_credit_note",
    "reason_text",
]


class CreditNoteError(Rejected):
    """A credit note that cannot be issued; the message is French and shown to staff, under
    the lines field unless another is named."""


class InvoiceNotFound(CreditNoteError):
    pass


def reason_text(cause: str, text: str) -> str:
    """What the credit note says as its reason: the listed reason, then the régisseur's words
    (« autre »: the words alone)."""
    text = text.strip()
    if cause == "autre":
        return text
    label = pricing.MANUAL_REASONS[cause]
    return f"{label}\u00a0: {text}" if text else label


async def issue_credit_note(
    *,
    invoice_id: int,
    line_ids: list[int],
    reason: str,
    cause: str = "autre",
    days: dict[int, list[dt.date]] | None = None,
    staff_id: int | None = None,
    actor=None,
    settings=None,
) -> dict:
    """`line_ids`: whole lines (what is left of them); `days`: line id -> some of its days.
    Returns {"id", "number", "total_cents", "applied_cents", "refund_cents", ...}."""
    days = {k: sorted(set(v)) for k, v in (days or {}).items() if v}
    if not line_ids and not days:
        raise CreditNoteError("Choisissez au moins une ligne ou un jour à annuler.")
    if cause not in pricing.MANUAL_REASONS:
        raise CreditNoteError("Choisissez le motif de l’avoir dans la liste.", field="raison")
    note = reason_text(cause, reason)
    if not note:
        raise CreditNoteError("Indiquez le motif de l’avoir.", field="motif")
    now = clock.now()
    year = clock.today().year
    await numbering.ensure_counters(year, "AV")
    async with write_transaction():
        numbers = await numbering.lock_counters(year, "AV")
        invoice = await lock_for_update(
            Invoice.select().where((Invoice.id == invoice_id) & (Invoice.kind == "facture"))
        ).first()
        if invoice is None:
            raise InvoiceNotFound("Cette facture n’existe pas.")
        lines = {
            ln["id"]: ln
            for ln in await InvoiceLine.select()
            .where(InvoiceLine.invoice == invoice_id)
            .order_by(InvoiceLine.id)
        }
        wanted = set(line_ids) | set(days)
        if not wanted <= set(lines):
            raise CreditNoteError("Une des lignes n’appartient pas à cette facture.")
        done = credited_days(list(lines.values()), await credited_lines(invoice_id))
        chosen = []
        for line_id in sorted(wanted):
            line = lines[line_id]
            billed = [dt.date.fromisoformat(d) for d in line["days"].split(",") if d]
            already = done.get(line_id, set())
            if line_id in line_ids:
                picked = [d for d in billed if d not in already]
                if not picked:
                    raise CreditNoteError(
                        f"La ligne « {line['label']} » a déjà fait l’objet d’un avoir."
                    )
            else:
                picked = days[line_id]
                stray = [d for d in picked if d not in billed]
                if stray:
                    raise CreditNoteError(
                        f"Le {jour(stray[0])} n’est pas facturé sur la ligne « {line['label']} »."
                    )
                twice = [d for d in picked if d in already]
                if twice:
                    raise CreditNoteError(
                        f"Le {jour(twice[0])} de la ligne « {line['label']} » a déjà fait "
                        "l’objet d’un avoir."
                    )
            chosen.append((line, picked))
        total = -sum(ln["unit_price_cents"] * len(picked) for ln, picked in chosen)
        number = numbers.take("AV")
        credit = Invoice(
            number=number,
            kind="avoir",
            family=invoice["family"],
            month=invoice["month"],
            issued_at=now,
            due_on=clock.today(),
            total_cents=total,
            paid_cents=0,
            corrects=invoice["corrects"] or invoice_id,
            billing_run=None,
            family_name=invoice["family_name"],
            address=invoice["address"],
            paperless=invoice["paperless"],
            note=note,
        )
        await credit.save()
        await InvoiceLine.insert(
            *[
                InvoiceLine(
                    invoice=credit.id,
                    child=ln["child"],
                    activity=ln["activity"],
                    kind="avoir",
                    label=credit_label(ln["label"]),
                    days=",".join(d.isoformat() for d in picked),
                    quantity=len(picked),
                    unit_price_cents=-ln["unit_price_cents"],
                    amount_cents=-ln["unit_price_cents"] * len(picked),
                    credits_line=ln["id"],
                    cause=cause,
                )
                for ln, picked in chosen
            ]
        )
        await numbers.save()
        row = {
            "id": credit.id,
            "number": number,
            "family": invoice["family"],
            "total_cents": total,
            "paid_cents": 0,
        }
        allocations = await settlement.allocate_credit_in_transaction(
            row, first_invoice=invoice_id, actor=actor
        )
        applied = sum(a["amount_cents"] for a in allocations)
        family = (
            await Family.select(Family.email, Family.paperless)
            .where(Family.id == invoice["family"])
            .first()
        )
        recipients = await family_queries.mail_recipients(invoice["family"]) if family else []
        if settings is not None and family and family["paperless"] and recipients:
            from ecp.mail.notices import queue_credit_note_notice

            await queue_credit_note_notice(
                {
                    "family_id": invoice["family"],
                    "emails": recipients,
                    "family_name": invoice["family_name"],
                    "number": number,
                    "invoice_number": invoice["number"],
                    "month": invoice["month"],
                    "amount_cents": -total,
                    "refund_cents": -total - applied,
                    "reason": note,
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
                    "motif": note,
                    "raison": cause,
                    "lignes": [ln["id"] for ln, _ in chosen],
                    "jours": {
                        str(ln["id"]): [d.isoformat() for d in picked] for ln, picked in chosen
                    },
                },
            )
    return {
        "id": credit.id,
        "number": number,
        "total_cents": total,
        "applied_cents": applied,
        "refund_cents": -total - applied,
        "allocations": allocations,
        "family_id": invoice["family"],
        "invoice_number": invoice["number"],
        "reason": note,
    }


def credit_label(label: str) -> str:
    return f"{CREDIT_PREFIX}{label}"[:200]
