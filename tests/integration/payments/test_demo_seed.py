"""The payments demo seed: reconciliation content on other families, idempotent."""

from __future__ import annotations

from ecp.demo import payments as demo
from ecp.invoices.tables import Invoice
from ecp.payments.config import TEST_HMAC_KEY, PayboxConfig
from ecp.payments.tables import PaymentAttempt, PaymentNotification
from ecp.settings import Settings
from tests.factories import make_family
from tests.payments_factories import make_invoice


async def test_seed_adds_a_refused_and_a_lost_attempt_once(tmp_path):
    martin = await make_family(code="F00001")
    mine = await make_invoice(martin, 4250)
    other = await make_family(code="F00003", name="Petit")
    for total in (3000, 2000, 1000):
        await make_invoice(other, total)
    config = PayboxConfig(
        site="1999888",
        rang="32",
        identifiant="107904482",
        hmac_key=TEST_HMAC_KEY,
        endpoints=("/simulateur-paybox/paiement",),
        simulator=True,
        test_keys_dir=str(tmp_path),
    )
    context = {"settings": Settings(paybox=config)}
    await demo.seed(context)
    await demo.seed(context)
    attempts = await PaymentAttempt.select().order_by(PaymentAttempt.id)
    assert [a["status"] for a in attempts] == ["refusee", "en_attente"]
    assert all(a["family"] == other.id for a in attempts)
    notes = await PaymentNotification.select()
    assert len(notes) == 1 and notes[0]["outcome"] == "refusee" and notes[0]["signature_valid"]
    paid = await Invoice.select(Invoice.paid_cents).where(Invoice.family == other.id)
    assert {p["paid_cents"] for p in paid} == {0}
    assert await PaymentAttempt.count().where(PaymentAttempt.family == martin.id) == 0
    assert mine.id


async def test_seed_without_invoices_does_nothing():
    await demo.seed({"settings": Settings()})
    assert await PaymentAttempt.count() == 0
