"""PayFiP attempts: opening an operation (idOp) for a family's attempt, and settling it from
PayFiP's own answer to recupererDetailPaiementSecurise.

The notification and the browser return only say "ask PayFiP about this idOp": whatever they
carry is ignored. The detail answer is turned into a Notification and applied by
ecp.payments.services.handle_notification, the same rules as a Paybox notification: the
attempt's amount, one payment per operation (the idOp is the transaction, unique), a success
never undone, a late success still recorded, every answer kept for the régisseur.

No SOAP call happens inside a database transaction (the simulator answers from the same
database, and a slow DGFiP must not hold a write lock).
"""

from __future__ import annotations

import datetime as dt
import logging

from ecp import clock
from ecp.db import write_transaction
from ecp.errors import Rejected
from ecp.payments import paybox, refusals, services
from ecp.payments.payfip import (
    FAULT_IN_PROGRESS,
    FAULT_UNKNOWN,
    NOTIFY_PATH,
    OPERATION_MINUTES,
    Client,
    PayfipConfig,
    PayfipFault,
    notification,
    objet_for,
    refdet_for,
)
from ecp.payments.tables import (
    PayfipOperation,
    PaymentAttempt,
    PaymentAttemptInvoice,
    PaymentNotification,
)

log = logging.getLogger("ecp.payments")

UNAVAILABLE = (
    "PayFiP ne répond pas pour le moment : rien n’a été payé. Réessayez dans quelques minutes "
    "ou choisissez un autre moyen de paiement."
)


# The refusal reason of an idOp this site never opened (ecp.payments.refusals).
UNKNOWN_OPERATION = "operation"


def return_path(reference: str) -> str:
    """Where PayFiP sends the browser back (urlredirect): written out because the simulator
    checks it as is, like the Paybox return stems (ecp.payments.routes._return_path)."""
    return f"/famille/paiements/{reference}/payfip/retour"


async def open_operation(
    client: Client,
    config: PayfipConfig,
    family_id: int,
    reference: str,
    *,
    base_url: str,
    commune: str,
) -> str:
    """The idOp for this family's open PayFiP attempt: the one opened less than
    OPERATION_MINUTES ago, or a new one from creerPaiementSecurise. Raises NotYours, Rejected
    (the attempt is no longer open) or PayfipFault / an httpx error (PayFiP unreachable)."""
    attempt = (
        await PaymentAttempt.select()
        .where((PaymentAttempt.reference == reference) & (PaymentAttempt.family == family_id))
        .first()
    )
    if attempt is None or attempt["provider"] != "payfip":
        raise services.NotYours()
    now = clock.now()
    if attempt["status"] != paybox.PENDING or attempt["expires_at"] <= now:
        raise Rejected("Ce paiement n’est plus en cours : choisissez à nouveau la facture à payer.")
    recent = (
        await PayfipOperation.select(PayfipOperation.id_op)
        .where(
            (PayfipOperation.attempt == attempt["id"])
            & (PayfipOperation.created_at > now - dt.timedelta(minutes=OPERATION_MINUTES))
        )
        .order_by(PayfipOperation.created_at, ascending=False)
        .first()
    )
    if recent is not None:
        return recent["id_op"]
    link = (
        await PaymentAttemptInvoice.select(
            PaymentAttemptInvoice.invoice.number, PaymentAttemptInvoice.invoice.month
        )
        .where(PaymentAttemptInvoice.attempt == attempt["id"])
        .first()
    )
    payer = await services.payer_for(family_id)
    refdet = refdet_for(link["invoice.number"], attempt["id"])
    exer = link["invoice.month"].year
    base = base_url.rstrip("/")
    id_op = await client.create_operation(
        exer=exer,
        refdet=refdet,
        montant=attempt["amount_cents"],
        mel=payer.email,
        objet=objet_for(link["invoice.number"], commune),
        urlnotif=base + NOTIFY_PATH,
        urlredirect=base + return_path(reference),
    )
    async with write_transaction():
        await PayfipOperation(
            attempt=attempt["id"], id_op=id_op, refdet=refdet, exer=exer, created_at=clock.now()
        ).save()
        # The family is going to PayFiP's page: give the attempt its full time again.
        await PaymentAttempt.update(
            {
                PaymentAttempt.expires_at: clock.now()
                + dt.timedelta(minutes=services.ATTEMPT_MINUTES)
            }
        ).where(PaymentAttempt.id == attempt["id"])
    return id_op


async def settle_operation(
    client: Client, id_op: str, *, source_ip: str = "", throttle=None
) -> services.Settled:
    """Asks PayFiP about this idOp and applies its answer. Idempotent: asked 50 times about a
    paid operation, it records one payment. An idOp this site never opened is counted as a
    refused request and PayFiP is not asked. A PayFiP that cannot be reached raises (httpx)."""
    id_op = id_op.strip()[:64]
    operation = (
        await PayfipOperation.select(
            PayfipOperation.id,
            PayfipOperation.refdet,
            PayfipOperation.exer,
            PayfipOperation.attempt.reference.as_alias("reference"),
        )
        .where(PayfipOperation.id_op == id_op)
        .first()
        if id_op
        else None
    )
    if operation is None:
        # `throttle`: an async check that this address was refused too often (answered 429).
        if throttle is not None and await throttle():
            return services.Settled(429, "reference")
        await refusals.record(source_ip, UNKNOWN_OPERATION, f"payfip idop={id_op}")
        return services.Settled(403, "reference")
    try:
        detail = await client.fetch_detail(id_op)
    except PayfipFault as fault:
        return await _fault(operation, id_op, fault, source_ip)
    reference = operation["reference"]
    if (
        detail.id_op != id_op
        or detail.refdet != operation["refdet"]
        or detail.numcli != client.config.numcli
        or detail.exer != str(operation["exer"])
    ):
        # Not the debt we asked PayFiP for: recorded as an unknown reference, nothing paid.
        log.warning("PayFiP detail does not match operation %s", id_op)
        reference = ""
    settled = await services.handle_notification(
        notification(detail, reference=reference), source_ip=source_ip
    )
    async with write_transaction():
        await PayfipOperation.update(
            {
                PayfipOperation.resultrans: detail.resultrans[:2],
                PayfipOperation.checked_at: clock.now(),
            }
        ).where(PayfipOperation.id == operation["id"])
    return settled


async def _fault(
    operation: dict, id_op: str, fault: PayfipFault, source_ip: str
) -> services.Settled:
    """P5 (still under way) leaves the attempt pending; any other fault is kept for the
    régisseur. Neither records anything else."""
    outcome = "attente" if fault.code == FAULT_IN_PROGRESS else "erreur"
    if fault.code == FAULT_UNKNOWN:
        outcome = "reference"
    async with write_transaction():
        attempt = (
            await PaymentAttempt.select(PaymentAttempt.id)
            .where(PaymentAttempt.reference == operation["reference"])
            .first()
        )
        await PaymentNotification(
            received_at=clock.now(),
            source_ip=source_ip[:45],
            raw_query=f"payfip idop={id_op} erreur={fault.code} {fault.message}"[:1200],
            signature_valid=True,
            outcome=outcome,
            attempt=attempt["id"] if attempt else None,
            transaction=id_op[:40],
            error_code=fault.code[:10],
        ).save()
        await PayfipOperation.update({PayfipOperation.checked_at: clock.now()}).where(
            PayfipOperation.id == operation["id"]
        )
    return services.Settled(200, outcome)


async def settle_attempt(client: Client, family_id: int, reference: str) -> str:
    """The browser came back from PayFiP: ask PayFiP about the attempt's latest operation (a
    server-to-server call, as for the notification), then say which return page fits.
    Raises NotYours."""
    attempt = (
        await PaymentAttempt.select(
            PaymentAttempt.id, PaymentAttempt.status, PaymentAttempt.provider
        )
        .where((PaymentAttempt.reference == reference) & (PaymentAttempt.family == family_id))
        .first()
    )
    if attempt is None or attempt["provider"] != "payfip":
        raise services.NotYours()
    if attempt["status"] == paybox.PENDING:
        latest = (
            await PayfipOperation.select(PayfipOperation.id_op)
            .where(PayfipOperation.attempt == attempt["id"])
            .order_by(PayfipOperation.created_at, ascending=False)
            .first()
        )
        if latest is not None:
            await settle_operation(client, latest["id_op"], source_ip="retour navigateur")
        attempt = (
            await PaymentAttempt.select(PaymentAttempt.status)
            .where(PaymentAttempt.id == attempt["id"])
            .first()
        )
    return {
        paybox.PAID: "effectue",
        paybox.PENDING: "attente",
        paybox.CANCELLED: "annule",
    }.get(attempt["status"], "refuse")
