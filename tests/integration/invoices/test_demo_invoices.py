"""The demo seed: past months invoiced, some paid, Martin with exactly one unpaid invoice."""

from __future__ import annotations

from ecp import clock
from ecp.demo.invoices import demo_months
from ecp.demo.seed import seed_demo
from ecp.families.tables import Family
from ecp.invoices.tables import Invoice
from ecp.payments.tables import Payment


async def test_demo_seed_bills_past_months_and_is_idempotent(settings):
    await seed_demo(settings, n_families=12)
    months = demo_months(clock.today())
    invoices = await Invoice.select().where(Invoice.kind == "facture")
    assert {i["month"] for i in invoices} == set(months)
    martin = await Family.select(Family.id).where(Family.code == "F00001").first()
    mine = [i for i in invoices if i["family"] == martin["id"]]
    unpaid = [i for i in mine if i["paid_cents"] < i["total_cents"]]
    assert len(mine) >= 2 and len(unpaid) == 1
    assert unpaid[0]["month"] == max(i["month"] for i in mine)
    assert any(i["paid_cents"] >= i["total_cents"] for i in invoices)
    counts = (await Invoice.count(), await Payment.count())
    await seed_demo(settings, n_families=12)
    assert (await Invoice.count(), await Payment.count()) == counts
