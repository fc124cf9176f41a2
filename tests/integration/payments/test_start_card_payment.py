"""When a card payment may start at all, without HTTP: the provider configured, the payer's
e-mail known (Paybox requires it); only then an attempt is written."""

from __future__ import annotations

import pytest

from ecp.errors import Rejected
from ecp.payments import services
from ecp.payments.tables import PaymentAttempt
from tests.factories import make_family
from tests.payments_factories import make_invoice


async def test_no_attempt_while_card_payment_is_unavailable():
    family = await make_family(code="F00001")
    invoice = await make_invoice(family, 4250)
    with pytest.raises(Rejected) as refused:
        await services.start_card_payment(family.id, [invoice.id], ready=False, minimum_cents=100)
    assert refused.value.field == "factures" and "indisponible" in refused.value.message
    assert await PaymentAttempt.count() == 0


async def test_no_attempt_without_the_payers_email():
    family = await make_family(code="F00001", email="")
    invoice = await make_invoice(family, 4250)
    with pytest.raises(services.StartError, match="adresse électronique"):
        await services.start_card_payment(family.id, [invoice.id], ready=True, minimum_cents=100)
    assert await PaymentAttempt.count() == 0


async def test_an_attempt_once_everything_is_there():
    family = await make_family(code="F00001", email="claire@example.org")
    invoice = await make_invoice(family, 4250)
    reference, reused = await services.start_card_payment(
        family.id, [invoice.id], ready=True, minimum_cents=100
    )
    assert not reused and reference.startswith("ECP-")
    assert await PaymentAttempt.count() == 1
    # The rules of start_attempt still apply behind it.
    with pytest.raises(services.StartError, match="à partir de"):
        other = await make_invoice(family, 50)
        await services.start_card_payment(family.id, [other.id], ready=True, minimum_cents=100)
