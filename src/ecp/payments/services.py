"""Card payment rules: starting an attempt, settling it from a verified notification, and the
reads behind the family's and the régisseur's pages.

Only a notification whose signature, reference, amount and response code all check out records
a payment; everything received is kept in PaymentNotification for reconciliation.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from babel.dates import format_date

from ecp import clock
from ecp.audit import services as audit
from ecp.audit.services import Actor, record_system
from ecp.db import is_database_unavailable, lock_for_update, write_transaction
from ecp.errors import Rejected
from ecp.families.tables import Family, Guardian
from ecp.invoices.status import LABELS, invoice_status
from ecp.invoices.tables import Invoice
from ecp.mail.outbox import queue_email
from ecp.payments import export, mandates, paybox, queries, refusals, regie
from ecp.payments.allocation import METHODS, DuplicatePayment, PaymentError, record_payment
from ecp.payments.provider import Notification, Payer
from ecp.payments.tables import (
    Payment,
    PaymentAllocation,
    PaymentAttempt,
    PaymentAttemptInvoice,
    PaymentNotification,
)
from ecp.web.plural import counted
from ecp.web.templating import date_heure, euros

log = logging.getLogger("ecp.payments")

ATTEMPT_MINUTES = 20  # Paybox's page times out after 15 minutes (code 00030)
# An attempt Paybox never said a word about is closed ("expirée") this long after its payment
# window ended, i.e. about 2 h 20 after the family last went to the bank. The bank's page is dead
# after 15 minutes and Paybox notifies within seconds of the payment, without documented retries;
# two hours more leave room for a slow delivery or our own restart before the attempt stops being
# "pending" for the régisseur. A notification that still comes later is honoured all the same.
EXPIRY_GRACE = dt.timedelta(hours=2)
NO_ANSWER_LABEL = "expiré sans réponse de la banque"
NO_ANSWER_MESSAGE = (
    "La banque ne nous a donné aucune réponse pour ce paiement. Si votre compte a été débité, "
    "le paiement sera enregistré dès que la banque le confirmera et le service régie le "
    "vérifiera ; sinon, rien n’a été débité et vous pouvez payer à nouveau."
)
STATUS_LABELS = {
    paybox.PAID: "confirmé",
    paybox.PENDING: "en attente",
    paybox.REFUSED: "refusé",
    paybox.CANCELLED: "annulé",
    paybox.EXPIRED: "expiré",
    paybox.ERROR: "en erreur",
}
OUTCOME_LABELS = {
    "payee": "paiement enregistré",
    "doublon": "doublon (déjà enregistré)",
    "surpaiement": "trop-perçu à traiter",
    "attente": "en attente de la banque",
    "refusee": "refusé",
    "annulee": "annulé",
    "expiree": "délai dépassé",
    "erreur": "erreur signalée par Paybox",
    "autorisation": "succès sans numéro d’autorisation",
    "transaction": "succès sans numéro de transaction",
    "montant": "montant différent de la tentative",
    "reference": "référence inconnue",
    "signature": "signature invalide",
    "exception": "erreur du portail à l’enregistrement (voir les journaux)",
    "confirmee": "confirme le paiement constaté par la régie",
    "ecart": "diffère du résultat constaté par la régie (rien enregistré)",
    "echec_contredit": "paiement enregistré alors que la régie avait constaté un échec",
}
# Outcomes the régisseur must look at.
ANOMALIES = {
    "surpaiement",
    "erreur",
    "exception",
    "autorisation",
    "transaction",
    "montant",
    "reference",
    "signature",
    "ecart",
    "echec_contredit",
}
# The régisseur's settlement of an attempt Paybox said nothing about (PaymentAttempt.resolution),
# read from Paybox's back office: it records the payment, or closes the attempt.
RESOLVED_PAID, RESOLVED_FAILED = "payee", "echouee"
RESOLUTIONS = {RESOLVED_PAID: "payé", RESOLVED_FAILED: "échoué"}
RESOLUTION_LABELS = {
    RESOLVED_PAID: "confirmé (constaté par la régie)",
    RESOLVED_FAILED: "échoué (constaté par la régie)",
}
WITHOUT_NEWS_LIMIT = 200
PROVIDER_NAMES = {"paybox": "Paybox", "payfip": "PayFiP"}


class StartError(Rejected):
    """A payment cannot start; the message is French and shown to the family, next to the
    choice of invoices."""

    def __init__(self, message: str, attempt_reference: str | None = None):
        super().__init__(message, field="factures")
        self.attempt_reference = attempt_reference


class NotYours(Exception):
    """An invoice id that is not this family's (answered 404)."""


def new_reference() -> str:
    """PBX_CMD: unguessable, [A-Za-z0-9_-] only (docs/payments.md)."""
    return "ECP-" + secrets.token_urlsafe(18)


def month_label(month: dt.date) -> str:
    return format_date(month, "MMMM y", locale="fr_FR")


def remaining(row: dict) -> int:
    return max(row["total_cents"] - row["paid_cents"], 0)


# --- Family side ----------------------------------------------------------------------------


async def payable_invoices(family_id: int) -> list[dict]:
    """Unpaid invoices, oldest due first, each with the open attempt that covers it (if any)."""
    rows = (
        await Invoice.select(
            Invoice.id,
            Invoice.number,
            Invoice.month,
            Invoice.due_on,
            Invoice.total_cents,
            Invoice.paid_cents,
        )
        .where(
            (Invoice.family == family_id)
            & (Invoice.kind == "facture")
            & (Invoice.total_cents > Invoice.paid_cents)
        )
        .order_by(Invoice.due_on, Invoice.month)
    )
    # Direct debit pays these: card payment is not offered (ecp.payments.mandates).
    debited = await mandates.card_refused(family_id, rows)
    rows = [r for r in rows if r["id"] not in debited]
    open_by_invoice = await _open_attempts([r["id"] for r in rows])
    today = clock.today()
    for row in rows:
        row["remaining_cents"] = remaining(row)
        row["month_label"] = month_label(row["month"])
        row["status_label"] = LABELS[
            invoice_status(row["total_cents"], row["paid_cents"], row["due_on"], today)
        ]
        row["open_attempt"] = open_by_invoice.get(row["id"])
    return rows


async def _open_attempts(invoice_ids: list[int]) -> dict[int, str]:
    if not invoice_ids:
        return {}
    links = await PaymentAttemptInvoice.select(
        PaymentAttemptInvoice.invoice,
        PaymentAttemptInvoice.attempt.reference,
    ).where(
        PaymentAttemptInvoice.invoice.is_in(invoice_ids)
        & (PaymentAttemptInvoice.attempt.status == paybox.PENDING)
        & (PaymentAttemptInvoice.attempt.expires_at > clock.now())
    )
    return {link["invoice"]: link["attempt.reference"] for link in links}


async def start_attempt(
    family_id: int, invoice_ids: list[int], minimum_cents: int = 100, provider: str = "paybox"
) -> tuple[str, bool]:
    """Creates the attempt for these invoices at the amount the database says they owe.

    Returns (reference, reused). An open attempt for exactly the same invoices is reused; one
    that covers only some of them is refused, so two tabs cannot start two payments.
    """
    ids = sorted(set(invoice_ids))
    if not ids:
        raise StartError("Choisissez au moins une facture à payer.")
    async with write_transaction():
        # The invoice rows serialise starts: two tabs wait for each other here.
        rows = await lock_for_update(
            Invoice.select(
                Invoice.id,
                Invoice.number,
                Invoice.kind,
                Invoice.total_cents,
                Invoice.paid_cents,
                Invoice.due_on,
            ).where(Invoice.id.is_in(ids) & (Invoice.family == family_id))
        )
        if len(rows) != len(ids):
            raise NotYours()
        debited = await mandates.card_refused(family_id, rows)
        for row in rows:
            if row["id"] in debited:
                raise StartError(
                    f"La facture {row['number']} est réglée par prélèvement automatique : "
                    f"le paiement par carte n’est pas proposé pour elle."
                )
        for row in rows:
            if row["kind"] != "facture" or remaining(row) <= 0:
                raise StartError(f"La facture {row['number']} n’a plus rien à payer.")
        amount = sum(remaining(row) for row in rows)
        links = await PaymentAttemptInvoice.select(
            PaymentAttemptInvoice.invoice,
            PaymentAttemptInvoice.attempt.id,
            PaymentAttemptInvoice.attempt.reference,
            PaymentAttemptInvoice.attempt.amount_cents,
            PaymentAttemptInvoice.attempt.provider,
        ).where(
            PaymentAttemptInvoice.invoice.is_in(ids)
            & (PaymentAttemptInvoice.attempt.status == paybox.PENDING)
            & (PaymentAttemptInvoice.attempt.expires_at > clock.now())
        )
        if links:
            attempt_ids = {link["attempt.id"] for link in links}
            if len(attempt_ids) == 1:
                attempt_id = attempt_ids.pop()
                covered = await PaymentAttemptInvoice.select(PaymentAttemptInvoice.invoice).where(
                    PaymentAttemptInvoice.attempt == attempt_id
                )
                if (
                    sorted(c["invoice"] for c in covered) == ids
                    and links[0]["attempt.amount_cents"] == amount
                    and links[0]["attempt.provider"] == provider
                ):
                    # The parent is going back to the bank: give the attempt its full time.
                    await PaymentAttempt.update(
                        {
                            PaymentAttempt.expires_at: clock.now()
                            + dt.timedelta(minutes=ATTEMPT_MINUTES)
                        }
                    ).where(PaymentAttempt.id == attempt_id)
                    return links[0]["attempt.reference"], True
            numbers = ", ".join(
                sorted({r["number"] for r in rows if r["id"] in {lk["invoice"] for lk in links}})
            )
            raise StartError(
                f"Un paiement est déjà en cours pour la facture {numbers}. Terminez-le ou "
                f"abandonnez-le avant d’en commencer un autre.",
                links[0]["attempt.reference"],
            )
        if amount < minimum_cents:
            raise StartError(
                f"Le paiement par carte n’est possible qu’à partir de "
                f"{euros(minimum_cents)}. Réglez ce montant au guichet."
            )
        now = clock.now()
        attempt = PaymentAttempt(
            reference=new_reference(),
            family=family_id,
            amount_cents=amount,
            provider=provider,
            status=paybox.PENDING,
            created_at=now,
            expires_at=now + dt.timedelta(minutes=ATTEMPT_MINUTES),
        )
        await attempt.save()
        for row in rows:
            await PaymentAttemptInvoice(
                attempt=attempt.id, invoice=row["id"], amount_cents=remaining(row)
            ).save()
    return attempt.reference, False


UNAVAILABLE = (
    "Le paiement en ligne est momentanément indisponible. Réglez au guichet ou réessayez plus tard."
)
NO_EMAIL = (
    "Le paiement par carte demande une adresse électronique : ajoutez-la dans « Mes coordonnées »."
)


PAYFIP_ONE_INVOICE = (
    "PayFiP ne permet de régler qu’une facture par paiement : cochez une seule facture, puis "
    "payez les autres l’une après l’autre."
)
CHOOSE_PROVIDER = "Choisissez comment payer."


async def start_card_payment(
    family_id: int,
    invoice_ids: list[int],
    *,
    ready: bool,
    minimum_cents: int,
    provider: str = "paybox",
    providers: tuple[str, ...] | list[str] | None = None,
) -> tuple[str, bool]:
    """start_attempt, once card payment is possible at all: the provider is one offered
    (`providers`, ecp.payments.payfip.card_providers; `ready` for Paybox alone) and the family
    has an e-mail address, which Paybox (PBX_PORTEUR) and PayFiP (mel) require and send their
    own receipt to. PayFiP takes one invoice per payment: several are refused, saying so.
    Raises StartError (a Rejected) or NotYours."""
    offered = list(providers) if providers is not None else (["paybox"] if ready else [])
    if not offered:
        raise StartError(UNAVAILABLE)
    if provider not in offered:
        if len(offered) > 1:
            raise Rejected(CHOOSE_PROVIDER, field="moyen")
        provider = offered[0]
    if len((await payer_for(family_id)).email) < 6:
        raise StartError(NO_EMAIL)
    if provider == "payfip" and len(set(invoice_ids)) > 1:
        raise StartError(PAYFIP_ONE_INVOICE)
    return await start_attempt(family_id, invoice_ids, minimum_cents, provider=provider)


async def abandon_attempt(family_id: int, reference: str) -> bool:
    """The family gives up an attempt it has not paid; a later success still counts."""
    async with write_transaction():
        attempt = await lock_for_update(
            PaymentAttempt.select(PaymentAttempt.id, PaymentAttempt.status).where(
                (PaymentAttempt.reference == reference) & (PaymentAttempt.family == family_id)
            )
        ).first()
        if attempt is None:
            raise NotYours()
        if attempt["status"] != paybox.PENDING:
            return False
        await PaymentAttempt.update(
            {PaymentAttempt.status: paybox.CANCELLED, PaymentAttempt.settled_at: clock.now()}
        ).where(PaymentAttempt.id == attempt["id"])
    return True


async def attempt_amount(reference: str) -> int | None:
    """The amount of the attempt with this reference, or None when this site made none."""
    row = (
        await PaymentAttempt.select(PaymentAttempt.amount_cents)
        .where(PaymentAttempt.reference == reference[:64])
        .first()
    )
    return row["amount_cents"] if row else None


async def attempt_for_family(family_id: int, reference: str) -> dict:
    """The attempt with its invoices (and their status now), or NotYours."""
    attempt = (
        await PaymentAttempt.select()
        .where((PaymentAttempt.reference == reference) & (PaymentAttempt.family == family_id))
        .first()
    )
    if attempt is None:
        raise NotYours()
    invoices = (
        await PaymentAttemptInvoice.select(
            PaymentAttemptInvoice.amount_cents,
            PaymentAttemptInvoice.invoice.id,
            PaymentAttemptInvoice.invoice.number,
            PaymentAttemptInvoice.invoice.month,
            PaymentAttemptInvoice.invoice.total_cents,
            PaymentAttemptInvoice.invoice.paid_cents,
            PaymentAttemptInvoice.invoice.due_on,
        )
        .where(PaymentAttemptInvoice.attempt == attempt["id"])
        .order_by(PaymentAttemptInvoice.invoice.due_on)
    )
    today = clock.today()
    attempt["invoices"] = [
        {
            "id": row["invoice.id"],
            "number": row["invoice.number"],
            "month_label": month_label(row["invoice.month"]),
            "amount_cents": row["amount_cents"],
            "status_label": LABELS[
                invoice_status(
                    row["invoice.total_cents"],
                    row["invoice.paid_cents"],
                    row["invoice.due_on"],
                    today,
                )
            ],
        }
        for row in invoices
    ]
    now = clock.now()
    attempt["open"] = attempt["status"] == paybox.PENDING and attempt["expires_at"] > now
    # No news long after the bank's page closed: stop waiting on screen, staff will look.
    attempt["overdue"] = attempt["status"] == paybox.PENDING and now > attempt[
        "expires_at"
    ] + dt.timedelta(minutes=10)
    attempt["status_label"] = _status_label(attempt)
    attempt["message"] = (
        NO_ANSWER_MESSAGE if _no_answer(attempt) else paybox.family_message(attempt["status"])
    )
    return attempt


def _no_answer(attempt: dict) -> bool:
    """Expired by the job, not by Paybox (whose 00030 leaves its code): money may have been
    taken without our knowing, so nobody is told that nothing was."""
    return attempt["status"] == paybox.EXPIRED and not attempt["error_code"]


def _status_label(attempt: dict) -> str:
    resolution = attempt.get("resolution")
    # A success Paybox notified after a failure the régie saw wins: the money was taken.
    if resolution == RESOLVED_PAID or (
        resolution == RESOLVED_FAILED and attempt["status"] != paybox.PAID
    ):
        return RESOLUTION_LABELS[resolution]
    if _no_answer(attempt):
        return NO_ANSWER_LABEL
    return STATUS_LABELS.get(attempt["status"], attempt["status"])


async def expire_abandoned_attempts(now: dt.datetime | None = None) -> int:
    """Closes the attempts still pending without any notification EXPIRY_GRACE after their
    payment window; returns how many. Idempotent: a second call finds none.

    One conditional UPDATE, so a notification settling the same attempt at the same moment wins
    or waits (SQLite's write lock, PostgreSQL's row lock taken by _settle) and is never undone.
    An attempt Paybox said was pending (99999) is not abandoned: it stays for the régisseur.
    """
    now = now or clock.now()
    async with write_transaction():
        rows = (
            await PaymentAttempt.update(
                {
                    PaymentAttempt.status: paybox.EXPIRED,
                    PaymentAttempt.settled_at: now,
                }
            )
            .where(
                (PaymentAttempt.status == paybox.PENDING)
                & (PaymentAttempt.error_code == "")
                & (PaymentAttempt.expires_at < now - EXPIRY_GRACE)
            )
            .returning(
                PaymentAttempt.id,
                PaymentAttempt.family,
                PaymentAttempt.reference,
                PaymentAttempt.amount_cents,
            )
        )
        for row in rows:
            await record_system(
                "payment_attempt_expired",
                family_id=row["family"],
                target=f"tentative {row['reference']}",
                details={"amount_cents": row["amount_cents"]},
            )
    return len(rows)


async def payer_for(family_id: int) -> Payer:
    family = await Family.select(Family.email, Family.name).where(Family.id == family_id).first()
    guardian = (
        await Guardian.select().where(Guardian.family == family_id).order_by(Guardian.rank).first()
    )
    email = family["email"] if family else ""
    if guardian is None:
        return Payer(email=email, last_name=family["name"] if family else "")
    return Payer(
        email=email or guardian["email"],
        first_name=guardian["first_name"],
        last_name=guardian["last_name"],
        address1=guardian["address_line1"],
        address2=guardian["address_line2"],
        postcode=guardian["postcode"],
        city=guardian["city"],
    )


async def history(family_id: int, limit: int = 50) -> dict:
    """Payments (all means) with the invoices they paid, and recent unfinished card attempts."""
    payments = (
        await Payment.select(
            Payment.id,
            Payment.method,
            Payment.amount_cents,
            Payment.received_at,
            Payment.unallocated_cents,
            Payment.reference,
        )
        .where(Payment.family == family_id)
        .order_by(Payment.received_at, ascending=False)
        .limit(limit)
    )
    allocations = await PaymentAllocation.select(
        PaymentAllocation.payment,
        PaymentAllocation.invoice.number,
    ).where(PaymentAllocation.payment.is_in([p["id"] for p in payments] or [-1]))
    numbers: dict[int, list[str]] = {}
    for row in allocations:
        numbers.setdefault(row["payment"], []).append(row["invoice.number"])
    for p in payments:
        p["method_label"] = METHODS.get(p["method"], p["method"])
        p["invoices"] = sorted(numbers.get(p["id"], []))
    attempts = (
        await PaymentAttempt.select(
            PaymentAttempt.reference,
            PaymentAttempt.amount_cents,
            PaymentAttempt.status,
            PaymentAttempt.created_at,
            PaymentAttempt.expires_at,
            PaymentAttempt.error_code,
            PaymentAttempt.resolution,
        )
        .where((PaymentAttempt.family == family_id) & (PaymentAttempt.status != paybox.PAID))
        .order_by(PaymentAttempt.created_at, ascending=False)
        .limit(10)
    )
    now = clock.now()
    for a in attempts:
        a["status_label"] = _status_label(a)
        if a["status"] == paybox.PENDING and a["expires_at"] < now:
            a["status_label"] = "sans confirmation de la banque"
    return {"payments": payments, "attempts": attempts}


# --- Notifications (IPN) --------------------------------------------------------------------


@dataclass(frozen=True)
class Settled:
    http_status: int
    outcome: str


async def handle_notification(
    note: Notification,
    *,
    source_ip: str = "",
    expected_sources: tuple[str, ...] = (),
    received_at: dt.datetime | None = None,
) -> Settled:
    """Applies one notification; idempotent (the Paybox transaction number is recorded once).

    Order of checks (docs/security.md, « Paiement »): signature, reference, amount, response
    code and authorisation number; only then a payment. A success never gets downgraded later.
    An unavailable database is raised, not recorded: the caller keeps the notification in the
    spool (ecp.payments.spool) and it is recorded once the database is back.
    """
    if expected_sources and source_ip not in expected_sources:
        # Log only: Paybox's address lists change without notice (docs/payments.md).
        log.warning("Paybox notification from an unexpected address %s", source_ip)
    now = received_at or clock.now()
    if not note.signed:
        log.warning(
            "Paybox notification refused (%s) from %s", note.refusal or "signature", source_ip
        )
        await refusals.record(source_ip, note.refusal or "signature", note.raw, now)
        return Settled(403, "signature")
    try:
        return await _settle(note, source_ip=source_ip, now=now)
    except Exception as exc:
        if is_database_unavailable(exc):
            raise
        # Kept for the régisseur; Paybox only e-mails a warning on 5xx.
        log.exception("Paybox notification could not be applied")
        await PaymentNotification(
            received_at=now,
            source_ip=source_ip[:45],
            raw_query=note.raw,
            signature_valid=True,
            outcome="exception",
            transaction=note.transaction[:40],
            amount_cents=note.amount_cents,
            error_code=note.code[:10],
        ).save()
        return Settled(500, "exception")


async def _settle(note: Notification, *, source_ip: str, now: dt.datetime) -> Settled:
    receipt = None
    async with write_transaction():
        # The attempt row serialises deliveries of the same notification (5 at once -> 1).
        attempt = await lock_for_update(
            PaymentAttempt.select().where(PaymentAttempt.reference == note.reference)
        ).first()
        status = note.status
        if attempt is None:
            outcome = "reference"
        elif note.amount_cents != attempt["amount_cents"]:
            outcome = "montant"
        elif attempt["resolution"] == RESOLVED_PAID:
            # The régisseur recorded this payment from Paybox's back office: it is settled, and
            # the notification only confirms it (same transaction) or contradicts it.
            outcome = await _against_resolution(attempt, note)
        elif status == paybox.PAID and not note.authorisation:
            outcome, status = "autorisation", paybox.REFUSED
        elif status == paybox.PAID and not note.transaction:
            outcome, status = "transaction", paybox.ERROR
        elif status == paybox.PAID:
            outcome, receipt = await _record(attempt, note, now)
            if attempt["resolution"] == RESOLVED_FAILED and outcome in ("payee", "surpaiement"):
                # The bank took the money after all: recorded, and shown to the régisseur.
                outcome = "echec_contredit"
        elif status == paybox.PENDING:
            outcome = "attente"
        else:
            outcome = status
        if attempt is not None and outcome not in (
            "montant",
            "payee",
            "surpaiement",
            "doublon",
            "attente",
            "confirmee",
            "ecart",
            "echec_contredit",
        ):
            if attempt["status"] != paybox.PAID:  # a late refusal never undoes a success
                await PaymentAttempt.update(
                    {
                        PaymentAttempt.status: status,
                        PaymentAttempt.error_code: note.code[:10],
                        PaymentAttempt.settled_at: now,
                    }
                ).where(PaymentAttempt.id == attempt["id"])
        elif attempt is not None and outcome == "attente" and attempt["status"] != paybox.PAID:
            values = {PaymentAttempt.error_code: note.code[:10]}
            if attempt["status"] == paybox.EXPIRED:
                # Closed for want of news, and news came: the bank is still deciding.
                values[PaymentAttempt.status] = paybox.PENDING
                values[PaymentAttempt.settled_at] = None
            await PaymentAttempt.update(values).where(PaymentAttempt.id == attempt["id"])
        await PaymentNotification(
            received_at=now,
            source_ip=source_ip[:45],
            raw_query=note.raw,
            signature_valid=True,
            outcome=outcome,
            attempt=attempt["id"] if attempt else None,
            transaction=note.transaction[:40],
            amount_cents=note.amount_cents,
            error_code=note.code[:10],
        ).save()
        if receipt is not None:
            await queue_email(**receipt)
    if outcome in ANOMALIES:
        log.warning("Paybox notification needs attention: %s (%s)", outcome, note.reference)
    return Settled(200, outcome)


async def _against_resolution(attempt: dict, note: Notification) -> str:
    """A notification for an attempt the régisseur settled as paid records nothing more:
    "confirmee" when it is the success of the transaction the régisseur typed, else "ecart"
    (another transaction, or not a success), an anomaly for the régisseur to look at."""
    if note.status != paybox.PAID or not note.authorisation or not note.transaction:
        return "ecart"
    recorded = await Payment.exists().where(
        (Payment.attempt == attempt["id"]) & (Payment.provider_transaction == note.transaction)
    )
    return "confirmee" if recorded else "ecart"


async def _record(attempt: dict, note: Notification, now: dt.datetime) -> tuple[str, dict | None]:
    if await Payment.exists().where(Payment.provider_transaction == note.transaction):
        return "doublon", None
    links = await PaymentAttemptInvoice.select(PaymentAttemptInvoice.invoice).where(
        PaymentAttemptInvoice.attempt == attempt["id"]
    )
    second = attempt["status"] == paybox.PAID
    try:
        result = await record_payment(
            family_id=attempt["family"],
            method="carte",
            amount_cents=note.amount_cents,
            # A second success for a paid attempt pays nothing: all of it is kept as overpayment.
            invoice_ids=[] if second else [link["invoice"] for link in links],
            received_at=note.paid_at or now,
            reference=attempt["reference"],
            provider_transaction=note.transaction,
            attempt_id=attempt["id"],
            note=(
                f"PayFiP : idOp {note.transaction}, autorisation {note.authorisation}, "
                f"refdet {note.call_number}"
                if attempt["provider"] == "payfip"
                else f"Paybox : autorisation {note.authorisation}, appel {note.call_number}, "
                f"clé {note.key_name}"
            ),
        )
    except DuplicatePayment:
        return "doublon", None
    if not second:
        await PaymentAttempt.update(
            {
                PaymentAttempt.status: paybox.PAID,
                PaymentAttempt.settled_at: now,
                PaymentAttempt.error_code: note.code[:10],
            }
        ).where(PaymentAttempt.id == attempt["id"])
    outcome = "surpaiement" if result["unallocated_cents"] else "payee"
    return outcome, await _receipt(
        attempt, note.amount_cents or 0, note.paid_at or now, note.transaction, result
    )


async def _receipt(
    attempt: dict, amount_cents: int, paid_at: dt.datetime, transaction: str, result: dict
) -> dict | None:
    family = (
        await Family.select(Family.email, Family.name).where(Family.id == attempt["family"]).first()
    )
    if not family or not family["email"]:
        return None
    numbers = {}
    if result["allocations"]:
        rows = await Invoice.select(Invoice.id, Invoice.number).where(
            Invoice.id.is_in([a["invoice_id"] for a in result["allocations"]])
        )
        numbers = {r["id"]: r["number"] for r in rows}
    lines = [
        f"- facture {numbers.get(a['invoice_id'], a['invoice_id'])} : {euros(a['amount_cents'])}"
        for a in result["allocations"]
    ]
    if result["unallocated_cents"]:
        lines.append(
            f"- trop-perçu : {euros(result['unallocated_cents'])} (le service "
            f"régie vous contactera pour le rembourser ou l’imputer)"
        )
    text = "\n".join(
        [
            f"Bonjour,\n\nNous avons bien reçu votre paiement par carte de "
            f"{euros(amount_cents)}, le {date_heure(paid_at)}.\n",
            *lines,
            f"\nRéférence du paiement : {attempt['reference']}",
            f"Numéro de transaction {PROVIDER_NAMES.get(attempt.get('provider'), 'Paybox')} : "
            f"{transaction}",
            "\nCe courriel vaut reçu. Vous retrouvez l’historique de vos paiements dans votre "
            "espace famille, rubrique « Paiements ».\n\nLe service Scolaire-Enfance-Jeunesse",
        ]
    )
    return {
        "to": family["email"],
        "subject": f"Reçu de votre paiement de {euros(amount_cents)}",
        "text": text,
        "kind": "recu",
        "family_id": attempt["family"],
    }


# --- Régisseur ------------------------------------------------------------------------------


async def reconciliation(days: int) -> dict:
    """Attempts and notifications of the last `days` days, and what needs the régisseur."""
    since = clock.now() - dt.timedelta(days=days)
    attempts = (
        await PaymentAttempt.select(
            PaymentAttempt.id,
            PaymentAttempt.reference,
            PaymentAttempt.amount_cents,
            PaymentAttempt.status,
            PaymentAttempt.created_at,
            PaymentAttempt.settled_at,
            PaymentAttempt.expires_at,
            PaymentAttempt.error_code,
            PaymentAttempt.resolution,
            PaymentAttempt.family.code,
            PaymentAttempt.family.name,
        )
        .where(PaymentAttempt.created_at >= since)
        .order_by(PaymentAttempt.created_at, ascending=False)
    )
    notifications = (
        await PaymentNotification.select(
            PaymentNotification.id,
            PaymentNotification.received_at,
            PaymentNotification.source_ip,
            PaymentNotification.signature_valid,
            PaymentNotification.outcome,
            PaymentNotification.transaction,
            PaymentNotification.amount_cents,
            PaymentNotification.error_code,
            PaymentNotification.attempt.reference,
            PaymentNotification.attempt.amount_cents,
            PaymentNotification.attempt.family.code,
        )
        .where(PaymentNotification.received_at >= since)
        .order_by(PaymentNotification.received_at, ascending=False)
    )
    card = await Payment.select(Payment.amount_cents, Payment.unallocated_cents).where(
        (Payment.method == "carte") & (Payment.received_at >= since)
    )
    refused = await refusals.summary(since)
    now = clock.now()
    for a in attempts:
        a["status_label"] = _status_label(a)
        a["stale"] = a["status"] == paybox.PENDING and a["expires_at"] < now
        a["resolvable"] = resolvable(a, now)
    for n in notifications:
        n["outcome_label"] = OUTCOME_LABELS.get(n["outcome"], n["outcome"])
        n["anomaly"] = n["outcome"] in ANOMALIES
    return {
        "attempts": attempts,
        "notifications": notifications,
        "anomalies": [n for n in notifications if n["anomaly"]],
        # Every attempt still pending past its window, however old: the period does not hide one.
        "stale": await attempts_without_news(now),
        "refused": refused,
        "totals": {
            "card_cents": sum(p["amount_cents"] for p in card),
            "card_count": len(card),
            "unallocated_cents": sum(p["unallocated_cents"] for p in card),
            "attempts": len(attempts),
            "paid_attempts": sum(1 for a in attempts if a["status"] == paybox.PAID),
            "unanswered_attempts": sum(1 for a in attempts if _no_answer(a)),
        },
    }


def age_label(age: dt.timedelta) -> str:
    """How long an attempt has waited, in French: « 45 min », « 2 h 05 », « 3 jours »."""
    minutes = max(int(age.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h {minutes % 60:02d}"
    return counted(hours // 24, "jour")


def resolvable(attempt: dict, now: dt.datetime) -> bool:
    """The régisseur may settle an attempt by hand once the bank's page is closed and Paybox
    has said nothing conclusive: still pending past its window, or closed by the expiry job
    without an answer (money may have been taken without our knowing)."""
    if attempt.get("resolution"):
        return False
    pending_past = attempt["status"] == paybox.PENDING and attempt["expires_at"] < now
    return pending_past or _no_answer(attempt)


async def attempts_without_news(now: dt.datetime | None = None) -> list[dict]:
    """Attempts still pending past their payment window, oldest first, with their age
    (at most WITHOUT_NEWS_LIMIT; one query)."""
    now = now or clock.now()
    rows = (
        await PaymentAttempt.select(
            PaymentAttempt.id,
            PaymentAttempt.reference,
            PaymentAttempt.amount_cents,
            PaymentAttempt.status,
            PaymentAttempt.created_at,
            PaymentAttempt.expires_at,
            PaymentAttempt.error_code,
            PaymentAttempt.family.code,
            PaymentAttempt.family.name,
        )
        .where((PaymentAttempt.status == paybox.PENDING) & (PaymentAttempt.expires_at < now))
        .order_by(PaymentAttempt.created_at)
        .limit(WITHOUT_NEWS_LIMIT)
    )
    for row in rows:
        row["age"] = age_label(now - row["created_at"])
        row["paybox_pending"] = row["error_code"] == "99999"
    return rows


async def attempt_for_resolution(attempt_id: int) -> dict | None:
    """An attempt as the régisseur settles it: its family, the invoices it was for (with what
    they still owe), the payments recorded for it, whether it may be settled by hand and, once
    settled, by whom; None when there is no such attempt (three queries)."""
    attempt = (
        await PaymentAttempt.select(
            PaymentAttempt.all_columns(),
            PaymentAttempt.family.code.as_alias("family_code"),
            PaymentAttempt.family.name.as_alias("family_name"),
            PaymentAttempt.resolved_by.display_name.as_alias("resolved_by_name"),
        )
        .where(PaymentAttempt.id == attempt_id)
        .first()
    )
    if attempt is None:
        return None
    attempt["invoices"] = await PaymentAttemptInvoice.select(
        PaymentAttemptInvoice.amount_cents,
        PaymentAttemptInvoice.invoice.number.as_alias("number"),
        PaymentAttemptInvoice.invoice.total_cents.as_alias("total_cents"),
        PaymentAttemptInvoice.invoice.paid_cents.as_alias("paid_cents"),
    ).where(PaymentAttemptInvoice.attempt == attempt_id)
    for row in attempt["invoices"]:
        row["remaining_cents"] = remaining(row)
    attempt["payments"] = await Payment.select(
        Payment.id,
        Payment.amount_cents,
        Payment.received_at,
        Payment.provider_transaction,
        Payment.unallocated_cents,
    ).where(Payment.attempt == attempt_id)
    now = clock.now()
    attempt["status_label"] = _status_label(attempt)
    attempt["resolvable"] = resolvable(attempt, now)
    attempt["age"] = age_label(now - attempt["created_at"])
    attempt["created_on"] = attempt["created_at"].astimezone(clock.PARIS).date()
    return attempt


class AttemptNotFound(Exception):
    """No attempt has this id (answered 404)."""


class AlreadySettled(Rejected):
    """The attempt is no longer waiting for news: a notification (or another agent) settled it
    first. The message says how it stands now."""


ALREADY_RECORDED = (
    "Ce numéro de transaction est déjà enregistré pour un paiement : vérifiez-le dans le "
    "back-office Paybox."
)


def resolution_received_at(day: dt.date, created_at: dt.datetime) -> dt.datetime:
    """When a payment seen in the back office on `day` was received: the attempt's start on
    the day it began (the bank's page lived 20 minutes), now for a later day that is today,
    else noon in Paris (the day stays the same in every time zone used)."""
    if day == created_at.astimezone(clock.PARIS).date():
        return created_at
    if day == clock.today():
        return clock.now()
    return dt.datetime.combine(day, dt.time(12), tzinfo=clock.PARIS)


async def resolve_attempt(
    actor: Actor,
    attempt_id: int,
    *,
    outcome: str,
    transaction: str = "",
    paid_on: dt.date | None = None,
    note: str = "",
) -> dict:
    """The régisseur settles an attempt Paybox said nothing about, from what Paybox's back
    office shows, in one transaction with its journal line:

    - "payee": the payment is recorded once (the transaction number is unique, as for a
      notification), for the attempt's amount, spread over its invoices as a notified success
      would be (what they no longer owe is kept as overpayment), and the family gets its
      receipt; a notification that comes later records nothing more (_against_resolution);
    - "echouee": the attempt is closed, nothing is recorded; a success notified later is still
      recorded (the bank took the money) and shown as an anomaly.

    Raises AttemptNotFound, AlreadySettled (no longer waiting for news) or Rejected (a
    transaction number missing or already recorded, a day to come or before the attempt)."""
    if outcome not in RESOLUTIONS:
        raise Rejected("Choisissez ce que montre le back-office Paybox.", field="resultat")
    transaction = transaction.strip()
    note = note.strip()
    if outcome == RESOLVED_PAID and not transaction:
        raise Rejected(
            "Indiquez le numéro de transaction lu dans le back-office Paybox.", field="transaction"
        )
    now = clock.now()
    receipt = None
    async with write_transaction():
        # The attempt row serialises this with a notification arriving at the same moment.
        attempt = await lock_for_update(
            PaymentAttempt.select().where(PaymentAttempt.id == attempt_id)
        ).first()
        if attempt is None:
            raise AttemptNotFound()
        if not resolvable(attempt, now):
            raise AlreadySettled(
                f"Cette tentative n’attend plus de nouvelles de la banque : elle est "
                f"« {_status_label(attempt)} ». Rien n’a été enregistré."
            )
        details = {"resultat": outcome, "montant_cents": attempt["amount_cents"], "note": note}
        result = None
        if outcome == RESOLVED_PAID:
            created_on = attempt["created_at"].astimezone(clock.PARIS).date()
            paid_on = paid_on or clock.today()
            if paid_on > clock.today():
                raise Rejected("La date du paiement ne peut pas être dans le futur.", field="date")
            if paid_on < created_on:
                raise Rejected(
                    f"La tentative a commencé le {created_on.strftime('%d/%m/%Y')} : le "
                    f"paiement ne peut pas être antérieur.",
                    field="date",
                )
            if await Payment.exists().where(Payment.provider_transaction == transaction):
                raise Rejected(ALREADY_RECORDED, field="transaction")
            links = await PaymentAttemptInvoice.select(PaymentAttemptInvoice.invoice).where(
                PaymentAttemptInvoice.attempt == attempt_id
            )
            received_at = resolution_received_at(paid_on, attempt["created_at"])
            try:
                result = await record_payment(
                    family_id=attempt["family"],
                    method="carte",
                    amount_cents=attempt["amount_cents"],
                    invoice_ids=[link["invoice"] for link in links],
                    received_at=received_at,
                    reference=attempt["reference"],
                    provider_transaction=transaction,
                    attempt_id=attempt_id,
                    recorded_by=actor.staff_id,
                    # The régisseur's own words stay on the attempt (blanked by retention).
                    note=f"Constaté sur le back-office Paybox par {actor.name}",
                )
            except DuplicatePayment:
                raise Rejected(ALREADY_RECORDED, field="transaction") from None
            status, action = paybox.PAID, "paiement_carte_constate"
            details.update(
                transaction=transaction,
                jour=paid_on.isoformat(),
                paiement=result["payment_id"],
                allocations=result["allocations"],
            )
            receipt = await _receipt(
                attempt, attempt["amount_cents"], received_at, transaction, result
            )
        else:
            status, action = paybox.ERROR, "paiement_carte_echec_constate"
        await PaymentAttempt.update(
            {
                PaymentAttempt.status: status,
                PaymentAttempt.settled_at: now,
                PaymentAttempt.resolution: outcome,
                PaymentAttempt.resolved_by: actor.staff_id,
                PaymentAttempt.resolved_at: now,
                PaymentAttempt.resolution_note: note,
            }
        ).where(PaymentAttempt.id == attempt_id)
        await audit.record(
            actor,
            action,
            family_id=attempt["family"],
            target=f"tentative {attempt['reference']}",
            details=details,
        )
        if receipt is not None:
            await queue_email(**receipt)
    return {
        "outcome": outcome,
        "reference": attempt["reference"],
        "amount_cents": attempt["amount_cents"],
        "payment_id": result["payment_id"] if result else None,
        "unallocated_cents": result["unallocated_cents"] if result else 0,
    }


# --- Counter (régie) ------------------------------------------------------------------------

# Card payments come from Paybox only: the counter takes every other means.
COUNTER_METHODS = {
    code: label for code, label in METHODS.items() if code not in ("carte", "prelevement")
}
# The means whose payment carries a number the régisseur copies (cheque, CESU, transfer label).
REFERENCED_METHODS = ("cheque", "virement", "cesu")


def counter_received_at(day: dt.date) -> dt.datetime:
    """When a payment handed in on `day` was received: now for today; for an earlier day noon
    in Paris, so the day of the receipt stays the same in every time zone used."""
    if day == clock.today():
        return clock.now()
    return dt.datetime.combine(day, dt.time(12), tzinfo=clock.PARIS)


async def record_counter_payment(
    actor: Actor,
    *,
    family_id: int,
    method: str,
    amount_cents: int,
    invoice_ids: list[int],
    received_on: dt.date,
    reference: str = "",
    drawer: str = "",
    bank: str = "",
    settings=None,
) -> dict:
    """A payment handed in at the régie, spread over the invoices in the order given, its line
    in the journal and, for a family with an e-mail address, its receipt e-mail (amount, mode,
    invoices settled, what is left to pay), all in one transaction
    (ecp.payments.allocation.record_payment's result). A cheque keeps its drawer and bank for
    the bordereau de remise; another mode keeps neither.

    Raises PaymentError (an ecp.errors.Rejected) for a card payment, a day to come, or an
    invoice that is not this family's; nothing is then written, and no e-mail queued."""
    if method not in COUNTER_METHODS:
        raise PaymentError("Choisissez le mode de paiement.", field="mode")
    if received_on > clock.today():
        raise PaymentError("La date de réception ne peut pas être dans le futur.", field="date")
    if method != "cheque":
        drawer = bank = ""
    if settings is None:  # a script or a test: the receipt's link needs the base URL
        from ecp.settings import Settings

        settings = Settings.from_env()
    async with write_transaction():
        result = await record_payment(
            family_id=family_id,
            method=method,
            amount_cents=amount_cents,
            invoice_ids=invoice_ids,
            received_at=counter_received_at(received_on),
            reference=reference,
            recorded_by=actor.staff_id,
        )
        if drawer or bank:
            await Payment.update({Payment.drawer: drawer[:120], Payment.bank: bank[:80]}).where(
                Payment.id == result["payment_id"]
            )
        await audit.record(
            actor,
            "paiement_guichet",
            family_id=family_id,
            target=f"Payment:{result['payment_id']}",
            details={
                "mode": method,
                "montant_cents": amount_cents,
                "reference": reference,
                "allocations": result["allocations"],
            },
        )
        receipt = await queries.counter_receipt(result["payment_id"])
        if receipt is not None:
            await queue_email(**regie.receipt_mail(receipt, settings))
    return result


async def export_payments(actor: Actor, start: dt.date, end: dt.date) -> str:
    """The trésorerie's CSV of the payments received from `start` to `end` (both included);
    the export is journalled, with its period and how many lines it held."""
    payments = await queries.payments_received(start, end)
    content = export.payments_csv(payments)
    await audit.record(
        actor,
        "export_paiements",
        target="payments.csv",
        details={"du": start.isoformat(), "au": end.isoformat(), "lignes": len(payments)},
    )
    return content
