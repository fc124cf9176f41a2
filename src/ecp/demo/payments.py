"""Demo card-payment history for the régisseur's reconciliation view: a refused attempt and an
attempt whose notification never came, on other families' unpaid invoices (balances unchanged).

Idempotent: each demo attempt's reference is derived from its invoice number.
"""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.invoices.tables import Invoice
from ecp.payments import paybox
from ecp.payments.config import paybox_config
from ecp.payments.tables import PaymentAttempt, PaymentAttemptInvoice, PaymentNotification

DEMO_FAMILIES_SKIPPED = ("F00001", "F00002")  # the demo accounts keep a clean slate


async def seed(context: dict) -> None:
    settings = context.get("settings")
    config = paybox_config(settings) if settings is not None else None
    invoices = (
        await Invoice.select(
            Invoice.id,
            Invoice.number,
            Invoice.family,
            Invoice.total_cents,
            Invoice.paid_cents,
        )
        .where(
            (Invoice.kind == "facture")
            & (Invoice.total_cents > Invoice.paid_cents)
            & Invoice.family.code.not_in(list(DEMO_FAMILIES_SKIPPED))
            & (Invoice.total_cents >= 100)
        )
        .order_by(Invoice.id)
        .limit(2)
    )
    if not invoices:
        return
    now = clock.now()
    for invoice, (status, code, hours_ago) in zip(
        invoices, ((paybox.REFUSED, "00151", 26), (paybox.PENDING, "", 3))
    ):
        reference = f"ECP-demo-{invoice['number']}"
        if await PaymentAttempt.exists().where(PaymentAttempt.reference == reference):
            continue
        amount = invoice["total_cents"] - invoice["paid_cents"]
        created = now - dt.timedelta(hours=hours_ago)
        attempt = PaymentAttempt(
            reference=reference,
            family=invoice["family"],
            amount_cents=amount,
            provider="paybox",
            status=status,
            created_at=created,
            expires_at=created + dt.timedelta(minutes=20),
            settled_at=created + dt.timedelta(minutes=3) if code else None,
            error_code=code,
        )
        await attempt.save()
        await PaymentAttemptInvoice(
            attempt=attempt.id, invoice=invoice["id"], amount_cents=amount
        ).save()
        if code and config is not None and config.simulator:
            from ecp.payments import simulator

            pbx = {
                "PBX_TOTAL": paybox.pbx_total(amount),
                "PBX_CMD": reference,
                "PBX_RETOUR": paybox.RETOUR,
            }
            raw = simulator.signed_replies(pbx, code, config.test_keys_dir, "")[0].decode("ascii")
            await PaymentNotification(
                received_at=created + dt.timedelta(minutes=3),
                source_ip="simulateur",
                raw_query=raw,
                signature_valid=True,
                outcome=status,
                attempt=attempt.id,
                transaction="",
                amount_cents=amount,
                error_code=code,
            ).save()
