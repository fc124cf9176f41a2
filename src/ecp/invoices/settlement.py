"""What a credit note does with its amount: it settles the family's invoices still to pay (the
invoice it corrects first, then the oldest), and what nothing is left to settle is refunded by
the régie, which records how and when.

A credit note's `paid_cents` is minus what it has settled or refunded, so what it still holds
for the family is `paid_cents - total_cents` (a credit note of -4,20 € with nothing used:
0 - (-420) = 420). Every allocation is a CreditAllocation row, moves `paid_cents` on both
documents in the same transaction and is journalled; so is every refund. Functions named
`*_in_transaction` run inside the caller's write transaction."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.audit import services as audit
from ecp.db import lock_for_update, write_transaction
from ecp.errors import Rejected
from ecp.invoices.tables import CreditAllocation, CreditRefund, Invoice

REFUND_METHODS = {"virement": "Virement", "cheque": "Chèque", "especes": "Espèces"}


def credit_left(credit: dict) -> int:
    """What a credit note still holds for the family (cents, never negative)."""
    return max(credit["paid_cents"] - credit["total_cents"], 0)


async def _journal(actor, action: str, **fields) -> None:
    if actor is not None:
        await audit.record(actor, action, **fields)
    else:
        await audit.record_system(action, **fields)


async def allocate_credit_in_transaction(
    credit: dict, *, first_invoice: int | None = None, actor=None
) -> list[dict]:
    """Sets what `credit` (a row with id, number, family, total_cents, paid_cents) still holds
    against the family's unpaid invoices: `first_invoice` first (the one it corrects), then by
    due date. Returns the allocations [{"invoice_id", "number", "amount_cents"}]."""
    left = credit_left(credit)
    if left <= 0:
        return []
    unpaid = await lock_for_update(
        Invoice.select(
            Invoice.id, Invoice.number, Invoice.total_cents, Invoice.paid_cents, Invoice.due_on
        )
        .where(
            (Invoice.family == credit["family"])
            & (Invoice.kind == "facture")
            & (Invoice.paid_cents < Invoice.total_cents)
        )
        .order_by(Invoice.id)
    )
    unpaid.sort(key=lambda r: (r["id"] != first_invoice, r["due_on"], r["id"]))
    now = clock.now()
    staff_id = getattr(actor, "staff_id", None)
    allocations, rows = [], []
    for invoice in unpaid:
        share = min(invoice["total_cents"] - invoice["paid_cents"], left)
        if share <= 0:
            continue
        rows.append(
            CreditAllocation(
                credit=credit["id"],
                invoice=invoice["id"],
                amount_cents=share,
                allocated_at=now,
                allocated_by=staff_id,
            )
        )
        await Invoice.update({Invoice.paid_cents: Invoice.paid_cents + share}).where(
            Invoice.id == invoice["id"]
        )
        allocations.append(
            {"invoice_id": invoice["id"], "number": invoice["number"], "amount_cents": share}
        )
        left -= share
        if left == 0:
            break
    if not rows:
        return []
    await CreditAllocation.insert(*rows)
    used = sum(a["amount_cents"] for a in allocations)
    await Invoice.update({Invoice.paid_cents: Invoice.paid_cents - used}).where(
        Invoice.id == credit["id"]
    )
    credit["paid_cents"] -= used
    await _journal(
        actor,
        "avoir_impute",
        family_id=credit["family"],
        target=f"Invoice:{credit['id']}",
        details={
            "avoir": credit["number"],
            "factures": [
                {"facture": a["number"], "montant_cents": a["amount_cents"]} for a in allocations
            ],
        },
    )
    return allocations


async def settle_pending_in_transaction(
    family_ids: list[int] | None = None, actor=None
) -> dict[int, int]:
    """Every credit note that still holds something, of these families (or all), settles their
    unpaid invoices, oldest credit first; returns credit id -> cents it allocated now. One
    query when there is nothing to settle, which is the usual case."""
    query = Invoice.select(
        Invoice.id,
        Invoice.number,
        Invoice.family,
        Invoice.total_cents,
        Invoice.paid_cents,
        Invoice.corrects,
    ).where((Invoice.kind == "avoir") & (Invoice.paid_cents > Invoice.total_cents))
    if family_ids is not None:
        query = query.where(Invoice.family.is_in(family_ids or [-1]))
    used = {}
    for credit in await query.order_by(Invoice.id):
        allocations = await allocate_credit_in_transaction(
            credit, first_invoice=credit["corrects"], actor=actor
        )
        if allocations:
            used[credit["id"]] = sum(a["amount_cents"] for a in allocations)
    return used


async def settle_pending(family_ids: list[int] | None = None, actor=None) -> dict[int, int]:
    async with write_transaction():
        return await settle_pending_in_transaction(family_ids, actor)


NOTHING_TO_REFUND = "Cet avoir est déjà entièrement déduit ou remboursé\u00a0: rien à rembourser."
REFUND_IN_THE_FUTURE = "La date du remboursement ne peut pas être dans le futur."


async def refund_credit(
    actor, credit_id: int, *, method: str, refunded_on: dt.date, reference: str = ""
) -> dict | None:
    """Records that the régie paid back what the credit note still holds. What the family owes
    on other invoices is settled by the credit first (a refund is for money nothing is due
    against). Returns {"number", "family_id", "allocations", "refunded_cents"}; None when there
    is no such credit note."""
    if method not in REFUND_METHODS:
        raise Rejected("Choisissez le mode de remboursement.", field="mode")
    if refunded_on > clock.today():
        raise Rejected(REFUND_IN_THE_FUTURE, field="date")
    async with write_transaction():
        credit = await lock_for_update(
            Invoice.select(
                Invoice.id,
                Invoice.number,
                Invoice.family,
                Invoice.total_cents,
                Invoice.paid_cents,
                Invoice.corrects,
            ).where((Invoice.id == credit_id) & (Invoice.kind == "avoir"))
        ).first()
        if credit is None:
            return None
        if credit_left(credit) <= 0:
            raise Rejected(NOTHING_TO_REFUND, field="mode")
        allocations = await allocate_credit_in_transaction(
            credit, first_invoice=credit["corrects"], actor=actor
        )
        amount = credit_left(credit)
        if amount:
            await CreditRefund(
                credit=credit_id,
                amount_cents=amount,
                method=method,
                refunded_on=refunded_on,
                reference=reference,
                recorded_at=clock.now(),
                recorded_by=actor.staff_id,
            ).save()
            await Invoice.update({Invoice.paid_cents: Invoice.paid_cents - amount}).where(
                Invoice.id == credit_id
            )
            await audit.record(
                actor,
                "avoir_rembourse",
                family_id=credit["family"],
                target=f"Invoice:{credit_id}",
                details={
                    "avoir": credit["number"],
                    "montant_cents": amount,
                    "mode": method,
                    "date": refunded_on.isoformat(),
                    "reference": reference,
                },
            )
    return {
        "number": credit["number"],
        "family_id": credit["family"],
        "allocations": allocations,
        "refunded_cents": amount,
    }
