"""Credit notes: numbered AV-YYYY-NNNNNN without gaps, applied to what is owed, refund beyond."""

from __future__ import annotations

import asyncio

import pytest

from ecp.families.tables import Family
from ecp.invoices.billing import run_billing
from ecp.invoices.credit_notes import CreditNoteError, issue_credit_note
from ecp.invoices.tables import Invoice, InvoiceLine
from ecp.mail.tables import OutboxEmail
from ecp.payments.allocation import record_payment
from tests.invoices_cleanup import delete_credit_notes_first  # noqa: F401
from tests.invoices_factories import NOV, make_billed_family, make_commune


async def _billed(settings, n=1):
    commune = await make_commune()
    families = []
    for i in range(n):
        families.append(await make_billed_family(commune, code=f"F{i + 1:05d}", days=(2, 3)))
    await run_billing(NOV, settings=settings)
    return commune, families


async def test_credit_on_a_paid_invoice_is_left_to_refund(settings):
    _, [(family, _)] = await _billed(settings)
    invoice = await Invoice.select().first()
    await record_payment(
        family_id=family.id, method="especes", amount_cents=420, invoice_ids=[invoice["id"]]
    )
    line = await InvoiceLine.select().where(InvoiceLine.invoice == invoice["id"]).first()
    result = await issue_credit_note(
        invoice_id=invoice["id"], line_ids=[line["id"]], reason="Repas non servis"
    )
    assert (result["total_cents"], result["applied_cents"], result["refund_cents"]) == (
        -420,
        0,
        420,
    )
    after = await Invoice.select().where(Invoice.id == invoice["id"]).first()
    assert (after["total_cents"], after["paid_cents"]) == (420, 420)  # never edited
    credit_lines = await InvoiceLine.select().where(InvoiceLine.invoice == result["id"])
    assert [(ln["days"], ln["amount_cents"]) for ln in credit_lines] == [
        ("2026-11-02,2026-11-03", -420)
    ]


async def test_paperless_family_is_told_of_the_credit_note(settings):
    _, [(family, _)] = await _billed(settings)
    await Family.update({Family.paperless: True}).where(Family.id == family.id)
    invoice = await Invoice.select().first()
    line = await InvoiceLine.select().first()
    result = await issue_credit_note(
        invoice_id=invoice["id"], line_ids=[line["id"]], reason="Sortie scolaire", settings=settings
    )
    mail = await OutboxEmail.select().where(OutboxEmail.kind == "avoir").first()
    assert mail["to_address"] == family.email
    assert mail["subject"] == f"Avoir {result['number']} sur votre facture {invoice['number']}"
    assert "Sortie scolaire" in mail["body_text"] and "4,20" in mail["body_text"]
    assert f"/famille/factures/{result['id']}" in mail["body_html"]


async def test_credit_notes_are_numbered_without_gaps_under_concurrency(settings):
    await _billed(settings, n=6)
    invoices = await Invoice.select().order_by(Invoice.id)
    lines = {ln["invoice"]: ln["id"] for ln in await InvoiceLine.select()}
    results = await asyncio.gather(
        *(
            issue_credit_note(invoice_id=inv["id"], line_ids=[lines[inv["id"]]], reason="Erreur")
            for inv in invoices
        )
    )
    numbers = sorted(int(r["number"][-6:]) for r in results)
    assert numbers == list(range(1, 7))
    assert all(r["number"].startswith("AV-") for r in results)


async def test_wrong_line_or_missing_reason_is_refused(settings):
    await _billed(settings, n=1)
    invoice = await Invoice.select().first()
    with pytest.raises(CreditNoteError):
        await issue_credit_note(invoice_id=invoice["id"], line_ids=[99999], reason="x")
    line = await InvoiceLine.select().first()
    with pytest.raises(CreditNoteError):
        await issue_credit_note(invoice_id=invoice["id"], line_ids=[line["id"]], reason=" ")
    assert await Invoice.count().where(Invoice.kind == "avoir") == 0
