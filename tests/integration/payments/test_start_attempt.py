"""Starting attempts directly against the database: two tabs at once open one attempt (I6)."""

from __future__ import annotations

import asyncio

import pytest

from ecp.payments import services
from ecp.payments.tables import PaymentAttempt, PaymentAttemptInvoice
from tests.factories import make_family
from tests.payments_factories import make_invoice


async def test_five_simultaneous_starts_open_one_attempt():
    family = await make_family(code="F00001")
    invoice = await make_invoice(family, 4250)
    results = await asyncio.gather(
        *(services.start_attempt(family.id, [invoice.id]) for _ in range(5))
    )
    references = {ref for ref, _ in results}
    assert len(references) == 1 and sorted(reused for _, reused in results) == [False] + [True] * 4
    assert await PaymentAttempt.count() == 1 and await PaymentAttemptInvoice.count() == 1


async def test_amount_is_what_the_invoices_still_owe():
    family = await make_family(code="F00001")
    a = await make_invoice(family, 4250, paid_cents=1000)
    b = await make_invoice(family, 990)
    reference, reused = await services.start_attempt(family.id, [a.id, b.id, a.id])
    attempt = await PaymentAttempt.select().where(PaymentAttempt.reference == reference).first()
    assert attempt["amount_cents"] == 3250 + 990 and not reused
    shares = sorted(r["amount_cents"] for r in await PaymentAttemptInvoice.select())
    assert shares == [990, 3250]


async def test_references_are_unique_and_unguessable():
    references = {services.new_reference() for _ in range(1000)}
    assert len(references) == 1000
    assert all(len(r) == 28 and r.replace("-", "").replace("_", "").isalnum() for r in references)


async def test_credit_notes_and_other_families_invoices_cannot_be_paid():
    family = await make_family(code="F00001")
    other = await make_family(code="F00002", name="Diallo")
    credit = await make_invoice(family, -500, kind="avoir")
    theirs = await make_invoice(other, 4250)
    with pytest.raises(services.StartError):
        await services.start_attempt(family.id, [credit.id])
    with pytest.raises(services.NotYours):
        await services.start_attempt(family.id, [theirs.id])
    assert await PaymentAttempt.count() == 0
