"""The billing run against the database: totals, traceability, numbering, idempotence."""

from __future__ import annotations

import asyncio
import datetime as dt

from ecp.commune.tables import Closure
from ecp.invoices.billing import run_billing
from ecp.invoices.tables import BillingRun, Invoice, InvoiceCounter, InvoiceLine
from ecp.mail.tables import OutboxEmail
from tests.invoices_factories import NOV, book_days, make_billed_family, make_commune, mark

D = dt.date
ISSUED = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


async def test_run_creates_one_traceable_invoice_per_family(settings):
    commune = await make_commune()
    martin, lea = await make_billed_family(commune, code="F00001", qf=720, days=(2, 3, 5))
    await book_days(lea, commune, [D(2026, 11, 6)], state="malade")
    await mark(lea, commune, D(2026, 11, 9), "present")  # no booking -> majoration
    diallo, _ = await make_billed_family(commune, code="F00002", name="Diallo", qf=300, days=(2,))
    await make_billed_family(
        commune, code="F00003", name="Petit", qf=None, days=(12,), out_of_town=True
    )
    await Closure(starts_on=D(2026, 11, 5), ends_on=D(2026, 11, 5), reason="Grève").save()

    result = await run_billing(NOV, settings=settings, issued_at=ISSUED)

    assert result["invoices_created"] == 3
    invoices = {r["family"]: r for r in await Invoice.select().order_by(Invoice.id)}
    assert [invoices[f.id]["number"] for f in (martin,)] == ["FAC-2026-000001"]
    # Martin: the 2nd and 3rd at 2,10 € (5th closed, 6th ill), the 9th at 2,10 € + 3 €.
    assert invoices[martin.id]["total_cents"] == 2 * 210 + 510
    assert invoices[martin.id]["due_on"] == D(2026, 12, 31)
    assert invoices[diallo.id]["total_cents"] == 120
    assert sorted(r["total_cents"] for r in invoices.values()) == [120, 620, 930]
    lines = await InvoiceLine.select().where(InvoiceLine.invoice == invoices[martin.id]["id"])
    traced = {(ln["kind"], ln["days"], ln["quantity"], ln["amount_cents"]) for ln in lines}
    assert traced == {
        ("prestation", "2026-11-02,2026-11-03", 2, 420),
        ("majoration", "2026-11-09", 1, 510),
    }
    run = await BillingRun.select().output(load_json=True).first()
    assert run["status"] == "terminee" and run["families_done"] == run["families_total"] == 3
    assert [(a["kind"], a["day"]) for a in run["anomalies"]] == [
        ("present_sans_reservation", "2026-11-09")
    ]


async def test_second_run_creates_nothing_and_numbers_continue(settings):
    commune = await make_commune()
    await make_billed_family(commune, code="F00001")
    await run_billing(NOV, settings=settings, issued_at=ISSUED)
    again = await run_billing(NOV, settings=settings, issued_at=ISSUED)
    assert again["invoices_created"] == 0
    assert await Invoice.count() == 1
    await make_billed_family(commune, code="F00002", name="Diallo", days=(2,), month=D(2026, 10, 1))
    await run_billing(D(2026, 10, 1), settings=settings, issued_at=ISSUED)
    assert sorted(r["number"] for r in await Invoice.select(Invoice.number)) == [
        "FAC-2026-000001",
        "FAC-2026-000002",
    ]
    assert (await InvoiceCounter.select().first())["last_number"] == 2


async def test_concurrent_runs_give_one_invoice_per_family_without_gaps(settings):
    commune = await make_commune()
    for i in range(12):
        await make_billed_family(commune, code=f"F{i + 1:05d}", name=f"Famille{i}")
    await asyncio.gather(
        *(run_billing(NOV, settings=settings, batch_size=3, issued_at=ISSUED) for _ in range(3))
    )
    rows = await Invoice.select(Invoice.number, Invoice.family)
    assert len(rows) == 12 and len({r["family"] for r in rows}) == 12
    assert sorted(r["number"] for r in rows) == [f"FAC-2026-{n:06d}" for n in range(1, 13)]


async def test_paperless_families_are_told_by_email(settings):
    commune = await make_commune()
    paper, _ = await make_billed_family(commune, code="F00001", paperless=False)
    online, _ = await make_billed_family(
        commune, code="F00002", name="Diallo", paperless=True, email="fatou.diallo@example.org"
    )
    await run_billing(NOV, settings=settings, issued_at=ISSUED)
    mails = await OutboxEmail.select()
    assert [m["to_address"] for m in mails] == ["fatou.diallo@example.org"]
    mail = mails[0]
    assert mail["subject"] == "Votre facture de novembre 2026 est disponible"
    assert "FAC-2026-00000" in mail["body_text"] and "6,30" in mail["body_text"]
    assert "<img" not in mail["body_html"] and "facture électronique" in mail["body_text"]
    invoice = await Invoice.select().where(Invoice.family == online.id).first()
    assert f"{settings.base_url}/famille/factures/{invoice['id']}" in mail["body_html"]
    assert invoice["paperless"] == "courriel" and invoice["notified_at"] is not None
