"""Recording a payment (card or counter) and allocating it to invoices, in one transaction.

Rules: a payment belongs to one family; it is spread over the given invoices in order, each
taking at most what it still owes; what is left is kept as `unallocated_cents` (overpayment) for
the régisseur. A Paybox transaction number is recorded once (unique index): a second recording
raises DuplicatePayment and changes nothing.
"""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.db import lock_for_update, write_transaction
from ecp.errors import Rejected
from ecp.invoices.tables import Invoice
from ecp.payments.tables import Payment, PaymentAllocation

METHODS = {
    "carte": "Carte bancaire",
    "especes": "Espèces",
    "cheque": "Chèque",
    "cesu": "CESU",
    "ancv": "Chèques vacances (ANCV)",
    "virement": "Virement",
    "prelevement": "Prélèvement SEPA",
}


class PaymentError(Rejected):
    """A payment that cannot be recorded; the message is French and shown to staff."""


class DuplicatePayment(PaymentError):
    pass


async def record_payment(
    *,
    family_id: int,
    method: str,
    amount_cents: int,
    invoice_ids: list[int],
    received_at: dt.datetime | None = None,
    reference: str = "",
    recorded_by: int | None = None,
    provider_transaction: str | None = None,
    attempt_id: int | None = None,
    note: str = "",
) -> dict:
    """Returns {"payment_id", "allocated_cents", "unallocated_cents", "allocations": [...]}."""
    if method not in METHODS:
        raise PaymentError("Mode de paiement inconnu.")
    if amount_cents <= 0:
        raise PaymentError("Le montant doit être positif.")
    async with write_transaction():
        if provider_transaction and await Payment.exists().where(
            Payment.provider_transaction == provider_transaction
        ):
            raise DuplicatePayment("Ce paiement est déjà enregistré.")
        invoices = await lock_for_update(
            Invoice.select(
                Invoice.id, Invoice.total_cents, Invoice.paid_cents, Invoice.family, Invoice.kind
            ).where(Invoice.id.is_in(invoice_ids or [-1]))
        )
        by_id = {row["id"]: row for row in invoices}
        if len(by_id) != len(set(invoice_ids)) or any(
            row["family"] != family_id or row["kind"] != "facture" for row in invoices
        ):
            raise PaymentError("Une des factures n’existe pas ou n’appartient pas à cette famille.")
        payment = Payment(
            family=family_id,
            method=method,
            amount_cents=amount_cents,
            received_at=received_at or clock.now(),
            reference=reference,
            provider_transaction=provider_transaction,
            attempt=attempt_id,
            recorded_by=recorded_by,
            note=note,
        )
        await payment.save()
        remaining, allocations = amount_cents, []
        for invoice_id in invoice_ids:
            row = by_id[invoice_id]
            share = min(max(row["total_cents"] - row["paid_cents"], 0), remaining)
            if share <= 0:
                continue
            await PaymentAllocation(
                payment=payment.id, invoice=invoice_id, amount_cents=share
            ).save()
            await Invoice.update({Invoice.paid_cents: Invoice.paid_cents + share}).where(
                Invoice.id == invoice_id
            )
            allocations.append({"invoice_id": invoice_id, "amount_cents": share})
            remaining -= share
        if remaining:
            await Payment.update({Payment.unallocated_cents: remaining}).where(
                Payment.id == payment.id
            )
    return {
        "payment_id": payment.id,
        "allocated_cents": amount_cents - remaining,
        "unallocated_cents": remaining,
        "allocations": allocations,
    }
