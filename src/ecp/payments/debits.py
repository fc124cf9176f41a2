"""The month's SEPA direct-debit file (pain.008.001.02, built with sepaxml) and rejected debits.

For a billed month, every invoice still owing something of a family with an active mandate,
and not already in a file (unless its debit was rejected), is debited: FRST for a mandate's
first debit (or the first after a rejected FRST), RCUR after. The collection date is the
invoice's due date, the date pre-notified on the invoice, or two days from now when that date
has passed. Each debit is recorded as a payment through the allocation (method
« prelevement »), so balances, the régie journal and exports count it; the file is kept as
produced and downloaded again unchanged.

A rejected debit (R-transaction) entered by the régisseur, with its reason, is reversed by a
negative payment allocated to the same invoice: the invoice is back to pay (card payment is
offered again) and the family is told by e-mail. Both actions are journalled.
"""

from __future__ import annotations

import datetime as dt
import re

from sepaxml import SepaDD

from ecp import clock
from ecp.audit import services as audit
from ecp.audit.services import Actor
from ecp.db import lock_for_update, write_transaction
from ecp.errors import Rejected
from ecp.families.tables import DirectDebitMandate, Family
from ecp.invoices.tables import Invoice
from ecp.mail.outbox import queue_email
from ecp.payments.allocation import record_payment
from ecp.payments.mandates import ACTIVE, open_iban
from ecp.payments.tables import (
    DebitBatch,
    DirectDebit,
    Payment,
    PaymentAllocation,
)
from ecp.web.templating import euros

SCHEMA = "pain.008.001.02"
DEBITED, REJECTED = "preleve", "rejete"
LEAD_DAYS = 2
# The usual R-transaction reasons (ISO 20022 codes) and their French meaning.
REJECT_REASONS = {
    "AM04": "Provision insuffisante",
    "AC04": "Compte clôturé",
    "AC06": "Compte bloqué",
    "MD01": "Pas de mandat (ou mandat révoqué)",
    "MD06": "Remboursement demandé par le titulaire",
    "MS02": "Opposition du titulaire",
    "MS03": "Raison non communiquée par la banque",
    "AG01": "Prélèvement interdit sur ce compte",
}


# The demo's creditor (with the payment simulator on and nothing set): of no real account.
DEMO_CREDITOR = {"ics": "FR12ZZZ123456", "iban": "FR7610107001011234567890129", "bic": "BREDFRPP"}


def creditor(settings) -> dict:
    """The régie's creditor details: the ECP_SEPA_* settings, or the demo's with the simulator."""
    values = {
        "name": settings.sepa_creditor_name or f"Ville de {settings.commune_name}",
        "ics": settings.sepa_creditor_id.replace(" ", ""),
        "iban": settings.sepa_creditor_iban.replace(" ", ""),
        "bic": settings.sepa_creditor_bic.replace(" ", ""),
    }
    if settings.payment_simulator and not (values["ics"] or values["iban"] or values["bic"]):
        values.update(DEMO_CREDITOR)
    return values


def config_problems(settings) -> list[str]:
    """What the régie must set before a file can be produced (French, for the régisseur)."""
    found = []
    c = creditor(settings)
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{3}[A-Z0-9]{1,28}", c["ics"]):
        found.append("L’identifiant créancier SEPA (ICS, ECP_SEPA_ICS) n’est pas renseigné.")
    if not c["iban"]:
        found.append("L’IBAN du compte de la régie (ECP_SEPA_CREDITOR_IBAN) n’est pas renseigné.")
    if not c["bic"]:
        found.append("Le BIC du compte de la régie (ECP_SEPA_CREDITOR_BIC) n’est pas renseigné.")
    return found


def _month_label(month: dt.date) -> str:
    from babel.dates import format_date

    return format_date(month, "MMMM y", locale="fr_FR")


async def candidates(month: dt.date) -> list[dict]:
    """The invoices of this billed month the file would debit (two queries)."""
    rows = (
        await Invoice.select(
            Invoice.id,
            Invoice.number,
            Invoice.family,
            Invoice.family_name,
            Invoice.total_cents,
            Invoice.paid_cents,
            Invoice.due_on,
        )
        .where(
            (Invoice.month == month)
            & (Invoice.kind == "facture")
            & (Invoice.total_cents > Invoice.paid_cents)
        )
        .order_by(Invoice.number)
    )
    if not rows:
        return []
    mandates = {
        m["family"]: m
        for m in await DirectDebitMandate.select().where(
            DirectDebitMandate.family.is_in(list({r["family"] for r in rows}))
            & (DirectDebitMandate.status == ACTIVE)
        )
    }
    debits = await DirectDebit.select(DirectDebit.invoice, DirectDebit.status).where(
        DirectDebit.invoice.is_in([r["id"] for r in rows])
    )
    taken = {d["invoice"] for d in debits if d["status"] != REJECTED}
    out = []
    for row in rows:
        mandate = mandates.get(row["family"])
        if mandate is None or row["id"] in taken:
            continue
        row["amount_cents"] = row["total_cents"] - row["paid_cents"]
        row["mandate"] = mandate
        out.append(row)
    return out


async def preview(month: dt.date) -> dict:
    items = await candidates(month)
    return {
        "month": month,
        "month_label": _month_label(month),
        "items": items,
        "total_cents": sum(i["amount_cents"] for i in items),
    }


def _collection_on(due_on: dt.date, today: dt.date) -> dt.date:
    return max(due_on, today + dt.timedelta(days=LEAD_DAYS))


async def create_batch(settings, actor: Actor, month: dt.date) -> dict:
    """Produces the month's file, records each debit as a payment and marks the invoices, in
    one transaction with its journal line. Raises Rejected (settings missing, nothing to
    debit)."""
    problems = config_problems(settings)
    if problems:
        raise Rejected(" ".join(problems), field="mois")
    today = clock.today()
    details = creditor(settings)
    name = details["name"]
    async with write_transaction():
        items = await candidates(month)
        if not items:
            raise Rejected(
                f"Aucune facture à prélever pour {_month_label(month)} : aucune famille au "
                f"prélèvement n’a de facture à régler ce mois-là, ou elles sont déjà dans un "
                f"fichier.",
                field="mois",
            )
        # The invoice rows serialise two régisseurs producing the same month at once.
        await lock_for_update(
            Invoice.select(Invoice.id).where(Invoice.id.is_in([i["id"] for i in items]))
        )
        sepa = SepaDD(
            {
                "name": name[:70],
                "IBAN": details["iban"],
                "BIC": details["bic"],
                "batch": True,
                "creditor_id": details["ics"],
                "currency": "EUR",
                "instrument": "CORE",
            },
            schema=SCHEMA,
            clean=True,
        )
        previous = await DirectDebit.select(DirectDebit.mandate, DirectDebit.sequence).where(
            DirectDebit.mandate.is_in(list({i["mandate"]["id"] for i in items}))
            & (DirectDebit.status == DEBITED)
        )
        started = {p["mandate"] for p in previous}
        planned = []
        for item in items:
            mandate = item["mandate"]
            sequence = "RCUR" if mandate["id"] in started else "FRST"
            started.add(mandate["id"])  # a second invoice of the same mandate in this file
            collection_on = _collection_on(item["due_on"], today)
            end_to_end = f"{re.sub(r'[^A-Za-z0-9]', '', item['number'])}"[:35]
            sepa.add_payment(
                {
                    "name": mandate["holder"],
                    "IBAN": open_iban(
                        settings,
                        mandate["iban_sealed"],
                        family_id=item["family"],
                        rum=mandate["rum"],
                    ),
                    "BIC": mandate["bic"],
                    "amount": item["amount_cents"],
                    "type": sequence,
                    "collection_date": collection_on,
                    "mandate_id": mandate["rum"],
                    "mandate_date": mandate["signed_on"],
                    "description": f"Facture {item['number']} {name}",
                    "endtoend_id": end_to_end,
                }
            )
            planned.append((item, sequence, collection_on, end_to_end))
        xml = sepa.export(validate=True).decode("utf-8")
        batch = DebitBatch(
            month=month,
            message_id=sepa.msg_id[:35],
            created_at=clock.now(),
            created_by=actor.staff_id,
            debits=len(planned),
            total_cents=sum(i["amount_cents"] for i, *_ in planned),
            xml=xml,
        )
        await batch.save()
        for item, sequence, collection_on, end_to_end in planned:
            result = await record_payment(
                family_id=item["family"],
                method="prelevement",
                amount_cents=item["amount_cents"],
                invoice_ids=[item["id"]],
                received_at=dt.datetime.combine(collection_on, dt.time(12), tzinfo=clock.PARIS),
                reference=item["mandate"]["rum"],
                recorded_by=actor.staff_id,
                note=f"Prélèvement SEPA {sequence}, fichier {batch.message_id}",
            )
            await DirectDebit(
                batch=batch.id,
                invoice=item["id"],
                family=item["family"],
                mandate=item["mandate"]["id"],
                amount_cents=item["amount_cents"],
                sequence=sequence,
                collection_on=collection_on,
                end_to_end=end_to_end,
                payment=result["payment_id"],
                status=DEBITED,
            ).save()
        await audit.record(
            actor,
            "fichier_prelevement_produit",
            target=f"fichier {batch.message_id}",
            details={
                "mois": month.isoformat(),
                "prelevements": len(planned),
                "montant_cents": batch.total_cents,
            },
        )
    return {"id": batch.id, "debits": batch.debits, "total_cents": batch.total_cents}


async def batches(limit: int = 24) -> list[dict]:
    rows = (
        await DebitBatch.select(
            DebitBatch.id,
            DebitBatch.month,
            DebitBatch.message_id,
            DebitBatch.created_at,
            DebitBatch.debits,
            DebitBatch.total_cents,
        )
        .order_by(DebitBatch.id, ascending=False)
        .limit(limit)
    )
    for row in rows:
        row["month_label"] = _month_label(row["month"])
    return rows


async def batch_page(batch_id: int) -> dict | None:
    batch = (
        await DebitBatch.select(
            DebitBatch.id,
            DebitBatch.month,
            DebitBatch.message_id,
            DebitBatch.created_at,
            DebitBatch.debits,
            DebitBatch.total_cents,
            DebitBatch.created_by.display_name.as_alias("created_by_name"),
        )
        .where(DebitBatch.id == batch_id)
        .first()
    )
    if batch is None:
        return None
    batch["month_label"] = _month_label(batch["month"])
    batch["lines"] = (
        await DirectDebit.select(
            DirectDebit.id,
            DirectDebit.amount_cents,
            DirectDebit.sequence,
            DirectDebit.collection_on,
            DirectDebit.status,
            DirectDebit.reject_reason,
            DirectDebit.rejected_at,
            DirectDebit.invoice.number.as_alias("number"),
            DirectDebit.family.code.as_alias("family_code"),
            DirectDebit.family.name.as_alias("family_name"),
            DirectDebit.mandate.rum.as_alias("rum"),
            DirectDebit.mandate.iban_hint.as_alias("iban_hint"),
        )
        .where(DirectDebit.batch == batch_id)
        .order_by(DirectDebit.id)
    )
    for line in batch["lines"]:
        line["reason_label"] = REJECT_REASONS.get(line["reject_reason"], line["reject_reason"])
    return batch


async def download_batch(actor: Actor, batch_id: int) -> tuple[str, str] | None:
    """(message id, the file as produced), the download journalled; None: no such file."""
    row = (
        await DebitBatch.select(DebitBatch.message_id, DebitBatch.xml)
        .where(DebitBatch.id == batch_id)
        .first()
    )
    if row is None:
        return None
    await audit.record(
        actor, "fichier_prelevement_telecharge", target=f"fichier {row['message_id']}"
    )
    return row["message_id"], row["xml"]


async def batch_of(debit_id: int) -> int | None:
    row = await DirectDebit.select(DirectDebit.batch).where(DirectDebit.id == debit_id).first()
    return row["batch"] if row else None


class DebitNotFound(Exception):
    pass


async def reject_debit(settings, actor: Actor, debit_id: int, reason: str) -> dict:
    """The bank rejected this debit: a negative payment reverses it on the same invoice, which
    is back to pay; the family is e-mailed; journalled. Raises DebitNotFound or Rejected
    (unknown reason, already rejected)."""
    if reason not in REJECT_REASONS:
        raise Rejected("Choisissez le motif du rejet indiqué par la banque.", field="motif")
    async with write_transaction():
        # The row alone is locked (PostgreSQL locks no outer join); its names come after.
        debit = await lock_for_update(
            DirectDebit.select().where(DirectDebit.id == debit_id)
        ).first()
        if debit is None:
            raise DebitNotFound()
        names = (
            await DirectDebit.select(
                DirectDebit.invoice.number.as_alias("number"),
                DirectDebit.mandate.rum.as_alias("rum"),
            )
            .where(DirectDebit.id == debit_id)
            .first()
        )
        debit.update(names)
        if debit["status"] == REJECTED:
            raise Rejected("Ce prélèvement est déjà enregistré comme rejeté.", field="motif")
        now = clock.now()
        reversal = Payment(
            family=debit["family"],
            method="prelevement",
            amount_cents=-debit["amount_cents"],
            received_at=now,
            reference=debit["rum"],
            recorded_by=actor.staff_id,
            note=f"Rejet du prélèvement ({reason} : {REJECT_REASONS[reason]})",
        )
        await reversal.save()
        await PaymentAllocation(
            payment=reversal.id, invoice=debit["invoice"], amount_cents=-debit["amount_cents"]
        ).save()
        await Invoice.update(
            {Invoice.paid_cents: Invoice.paid_cents - debit["amount_cents"]}
        ).where(Invoice.id == debit["invoice"])
        await DirectDebit.update(
            {
                DirectDebit.status: REJECTED,
                DirectDebit.reject_reason: reason,
                DirectDebit.rejected_at: now,
                DirectDebit.rejected_by: actor.staff_id,
                DirectDebit.reversal: reversal.id,
            }
        ).where(DirectDebit.id == debit_id)
        await audit.record(
            actor,
            "prelevement_rejete",
            family_id=debit["family"],
            target=f"facture {debit['number']}",
            details={
                "motif": reason,
                "montant_cents": debit["amount_cents"],
                "mandat": debit["rum"],
            },
        )
        family = await Family.select(Family.email).where(Family.id == debit["family"]).first()
        if family and family["email"]:
            await queue_email(
                to=family["email"],
                subject=f"Votre prélèvement de {euros(debit['amount_cents'])} a été rejeté",
                text=(
                    "Bonjour,\n\n"
                    f"Votre banque a rejeté le prélèvement de {euros(debit['amount_cents'])} "
                    f"de la facture {debit['number']} (motif : "
                    f"{REJECT_REASONS[reason].lower()}).\n\n"
                    "Cette facture est de nouveau à régler : vous pouvez la payer en ligne "
                    "depuis votre espace famille, rubrique « Paiements », ou au guichet du "
                    "service.\n\nLe service Scolaire-Enfance-Jeunesse"
                ),
                kind="prelevement_rejete",
                family_id=debit["family"],
            )
    return {"batch_id": debit["batch"], "number": debit["number"]}
