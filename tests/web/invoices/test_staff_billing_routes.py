"""Staff billing: start a run, follow its progress, summary with anomalies; credit notes."""

from __future__ import annotations

import asyncio
import datetime as dt

from ecp.audit.tables import AuditLog
from ecp.invoices import billing
from ecp.invoices.billing import run_billing
from ecp.invoices.tables import BillingRun, Invoice, InvoiceLine
from tests import factories
from tests.invoices_factories import NOV, make_billed_family, make_commune, mark
from tests.support import error_summary_links, login_staff, post_form, soup

D = dt.date


async def _wait_runs():
    while billing.RUNNING:
        await asyncio.gather(*list(billing.RUNNING))


async def test_regisseur_starts_the_run_without_js_and_sees_the_summary(client):
    await factories.make_staff(role="regisseur")
    commune = await make_commune()
    _, lea = await make_billed_family(commune, code="F00001")
    await mark(lea, commune, D(2026, 11, 10), "present")
    await login_staff(client)
    page = await client.get("/agents/facturation")
    assert page.status_code == 200 and soup(page.text).h1.get_text() == "Facturation"
    response = await post_form(
        client, "/agents/facturation", {"mois": "2026-11"}, from_page="/agents/facturation"
    )
    assert response.status_code == 303
    run = await BillingRun.select().first()
    assert response.headers["location"] == f"/agents/facturation?run={run['id']}"
    await _wait_runs()
    assert await Invoice.count() == 1
    page = await client.get(response.headers["location"])
    assert "Facturation de novembre 2026 lancée." in page.text
    progress = soup(page.text).select_one("#billing-progress")
    assert "terminée" in progress.h2.get_text()
    assert not progress.has_attr("hx-trigger")  # polling stops once finished
    anomaly = progress.select_one("#billing-anomalies tbody tr").get_text()
    assert "présent sans réservation" in anomaly and "10 novembre" in anomaly
    assert await AuditLog.count().where(AuditLog.action == "facturation_lancee") == 1


async def test_progress_polls_while_running_and_fragment_has_no_layout(client):
    await factories.make_staff(role="regisseur")
    run = BillingRun(
        month=NOV,
        status="en_cours",
        started_at=dt.datetime.now(dt.UTC),
        families_total=10,
        families_done=4,
    )
    await run.save()
    await login_staff(client)
    page = await client.get(f"/agents/facturation?run={run.id}")
    section = soup(page.text).select_one("#billing-progress")
    assert section["hx-trigger"] == "every 2s"
    assert section["hx-get"] == f"/agents/facturation?run={run.id}"
    assert 'http-equiv="refresh"' in str(section.noscript)
    assert "4 sur 10" in section.get_text()
    fragment = await client.get(f"/agents/facturation?run={run.id}", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="billing-progress"' in fragment.text
    assert fragment.headers["vary"] == "HX-Request"
    assert (await client.get("/agents/facturation?run=999")).status_code == 404


async def test_bad_month_is_422_and_starts_nothing(client):
    await factories.make_staff(role="regisseur")
    await login_staff(client)
    for value in ("", "2026-13", "2099-01"):
        response = await post_form(
            client, "/agents/facturation", {"mois": value}, from_page="/agents/facturation"
        )
        assert response.status_code == 422
        assert soup(response.text).title.string.startswith("Erreur : ")
        assert error_summary_links(response.text) == ["#mois"]
    assert await BillingRun.count() == 0


async def test_billing_needs_csrf_and_the_regisseur_role(client):
    await factories.make_staff(role="agent")
    await login_staff(client)
    assert (await client.get("/agents/facturation")).status_code == 403
    response = await post_form(
        client, "/agents/facturation", {"mois": "2026-11"}, from_page="/agents/"
    )
    assert response.status_code == 403
    assert await BillingRun.count() == 0
    response = await client.post("/agents/facturation", data={"mois": "2026-11"})
    assert response.status_code == 403


async def test_family_cannot_reach_staff_billing(client):
    await factories.make_family("F00001")
    from tests.support import login_family

    await login_family(client)
    assert (await client.get("/agents/facturation")).status_code == 404


async def _invoice(settings):
    commune = await make_commune()
    family, _ = await make_billed_family(commune, code="F00001", days=(2, 3))
    await run_billing(NOV, settings=settings)
    invoice = await Invoice.select().first()
    line = await InvoiceLine.select().where(InvoiceLine.invoice == invoice["id"]).first()
    return family, invoice, line


async def test_credit_note_corrects_an_invoice_without_editing_it(client, settings):
    await factories.make_staff(role="regisseur")
    family, invoice, line = await _invoice(settings)
    await login_staff(client)
    page = await client.get(f"/agents/factures/{invoice['id']}")
    assert page.status_code == 200 and "FAC-" in soup(page.text).h1.get_text()
    pdf = await client.get(f"/agents/factures/{invoice['id']}/facture.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    response = await post_form(
        client,
        f"/agents/factures/{invoice['id']}/avoir",
        {"ligne": str(line["id"]), "motif": "Sortie scolaire"},
        from_page=f"/agents/factures/{invoice['id']}",
    )
    assert response.status_code == 303
    credit = await Invoice.select().where(Invoice.kind == "avoir").first()
    assert credit["number"].startswith("AV-") and credit["number"].endswith("-000001")
    assert credit["total_cents"] == -420 and credit["corrects"] == invoice["id"]
    assert credit["note"] == "Sortie scolaire"
    after = await Invoice.select().where(Invoice.id == invoice["id"]).first()
    assert after["total_cents"] == 420 and after["paid_cents"] == 420  # settled by the credit
    page = await client.get(response.headers["location"])
    assert "Avoir " + credit["number"] in page.text and "Sortie scolaire" in page.text
    entry = await AuditLog.select().where(AuditLog.action == "avoir_emis").first()
    assert entry["family"] == family.id
    again = await post_form(
        client,
        f"/agents/factures/{invoice['id']}/avoir",
        {"ligne": str(line["id"]), "motif": "Encore"},
        from_page=f"/agents/factures/{invoice['id']}",
    )
    assert again.status_code == 422 and "déjà fait l’objet d’un avoir" in again.text
    assert await Invoice.count().where(Invoice.kind == "avoir") == 1


async def test_credit_note_bad_input_htmx_and_unknown_invoice(client, settings):
    await factories.make_staff(role="regisseur")
    _, invoice, line = await _invoice(settings)
    await login_staff(client)
    response = await post_form(
        client,
        f"/agents/factures/{invoice['id']}/avoir",
        {"motif": "Erreur de saisie"},
        from_page=f"/agents/factures/{invoice['id']}",
    )
    assert response.status_code == 422
    assert error_summary_links(response.text) == ["#ligne"]
    assert soup(response.text).select_one("#motif")["value"] == "Erreur de saisie"
    fragment = await post_form(
        client,
        f"/agents/factures/{invoice['id']}/avoir",
        {"ligne": str(line["id"])},
        from_page=f"/agents/factures/{invoice['id']}",
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert 'id="credit-note-form"' in fragment.text and "#motif" in fragment.text
    assert await Invoice.count().where(Invoice.kind == "avoir") == 0
    missing = await post_form(
        client, "/agents/factures/9999/avoir", {"ligne": "1", "motif": "x"}, from_page="/agents/"
    )
    assert missing.status_code == 404
    assert (await client.get("/agents/factures/9999")).status_code == 404
    listing = await client.get("/agents/factures?mois=2026-11&famille=f00001")
    assert invoice["number"] in listing.text
    paper = await client.get("/agents/factures?envoi=papier")
    assert f"/agents/factures/{invoice['id']}/facture.pdf" in paper.text
    assert invoice["number"] not in (await client.get("/agents/factures?envoi=courriel")).text
