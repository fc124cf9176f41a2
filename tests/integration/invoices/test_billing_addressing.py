"""Billing reads what the family record says: the quotient familial in force on each billed
day, the payer's address on the invoice, and the e-mail to every responsable who receives
them."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.families.tables import Guardian, QuotientHistory
from ecp.invoices.billing import run_billing
from ecp.invoices.tables import Invoice, InvoiceLine
from ecp.mail.tables import OutboxEmail
from tests import factories
from tests.invoices_factories import NOV, make_billed_family, make_commune

D = dt.date
ISSUED = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


async def _quotient(family, value, effective_from):
    await QuotientHistory(
        family=family.id,
        value=value,
        effective_from=effective_from,
        source="caf",
        recorded_at=clock.now(),
    ).save()


async def test_the_quotient_in_force_on_each_day_prices_it(settings):
    commune = await make_commune()
    # The row still says 720 (bracket B), but the history says 300 (bracket A) until the 3rd
    # and 720 from the 4th: the 2nd and 3rd at 1,20 €, the 5th at 2,10 €.
    family, _ = await make_billed_family(commune, code="F00001", qf=720, days=(2, 3, 5))
    await _quotient(family, 300, D(2026, 9, 1))
    await _quotient(family, 720, D(2026, 11, 4))
    await run_billing(NOV, settings=settings, issued_at=ISSUED)
    invoice = await Invoice.select().where(Invoice.family == family.id).first()
    assert invoice["total_cents"] == 2 * 120 + 210
    lines = await InvoiceLine.select(InvoiceLine.days, InvoiceLine.unit_price_cents).where(
        InvoiceLine.invoice == invoice["id"]
    )
    assert sorted((ln["days"], ln["unit_price_cents"]) for ln in lines) == [
        ("2026-11-02,2026-11-03", 120),
        ("2026-11-05", 210),
    ]


async def test_a_quotient_recorded_after_the_month_does_not_change_it(settings):
    commune = await make_commune()
    family, _ = await make_billed_family(commune, code="F00001", qf=300, days=(2,))
    await _quotient(family, 720, D(2026, 9, 1))
    await _quotient(family, 300, D(2026, 12, 1))  # the row holds today's value
    await run_billing(NOV, settings=settings, issued_at=ISSUED)
    invoice = await Invoice.select().where(Invoice.family == family.id).first()
    assert invoice["total_cents"] == 210


async def test_a_family_without_history_keeps_its_row_quotient(settings):
    commune = await make_commune()
    family, _ = await make_billed_family(commune, code="F00001", qf=300, days=(2,))
    await run_billing(NOV, settings=settings, issued_at=ISSUED)
    assert (await Invoice.select().where(Invoice.family == family.id).first())["total_cents"] == 120


async def test_invoice_bears_the_payer_and_mails_every_recipient(settings):
    commune = await make_commune()
    family, _ = await make_billed_family(
        commune,
        code="F00001",
        paperless=True,
        email="claire.martin@example.org",
        with_guardian=False,
    )
    await factories.make_guardian(
        family, rank=1, first_name="Claire", email="claire.martin@example.org"
    )
    await factories.make_guardian(
        family,
        rank=2,
        civility="M.",
        first_name="Bao",
        email="bao.martin@example.org",
        is_payer=True,
        address_line1="8 allée des Tilleuls",
    )
    await factories.make_guardian(
        family, rank=3, first_name="Zoé", email="zoe@example.org", receives_email=False
    )
    assert await Guardian.count() == 3
    await run_billing(NOV, settings=settings, issued_at=ISSUED)
    invoice = await Invoice.select().where(Invoice.family == family.id).first()
    assert invoice["address"].splitlines()[:2] == ["M. Bao Martin", "8 allée des Tilleuls"]
    mails = await OutboxEmail.select(OutboxEmail.to_address, OutboxEmail.kind).order_by(
        OutboxEmail.id
    )
    assert [(m["to_address"], m["kind"]) for m in mails] == [
        ("claire.martin@example.org", "facture"),
        ("bao.martin@example.org", "facture"),
    ]
