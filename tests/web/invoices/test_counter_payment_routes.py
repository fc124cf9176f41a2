"""Counter payments at the régie: partial payments over several invoices, receipt, audit, CSV."""

from __future__ import annotations

import datetime as dt

from ecp.audit.tables import AuditLog
from ecp.invoices.billing import run_billing
from ecp.invoices.tables import Invoice
from ecp.payments.tables import Payment, PaymentAllocation
from ecp.web.forms import parse_euros
from tests import factories
from tests.invoices_factories import NOV, book_days, make_billed_family, make_commune
from tests.support import error_summary_links, login_family, login_staff, post_form, soup

OCT = dt.date(2026, 10, 1)


async def _two_invoices(settings):
    commune = await make_commune()
    family, lea = await make_billed_family(commune, code="F00001", days=(2, 3))  # 4,20 €
    await book_days(lea, commune, [dt.date(2026, 10, 1), dt.date(2026, 10, 2)])  # 4,20 €
    await run_billing(OCT, settings=settings)
    await run_billing(NOV, settings=settings)
    oct_, nov = await Invoice.select().order_by(Invoice.month)
    return family, oct_, nov


def test_parse_euros():
    assert parse_euros("12,50") == 1250 and parse_euros("12.5") == 1250
    assert parse_euros("12") == 1200 and parse_euros("1 234,05 €") == 123405
    assert parse_euros("abc") is None and parse_euros("-3") is None and parse_euros("1,234") is None


async def test_partial_payment_over_two_invoices_with_receipt_and_audit(client, settings):
    await factories.make_staff(role="regisseur")
    family, oct_, nov = await _two_invoices(settings)
    await login_staff(client)
    page = await client.get("/agents/paiements?famille=f00001")
    assert page.status_code == 200
    labels = [lab.get_text() for lab in soup(page.text).select("#counter-payment-form label")]
    assert any(oct_["number"] in text for text in labels)
    response = await post_form(
        client,
        "/agents/paiements",
        {
            "famille": "F00001",
            "facture": [str(oct_["id"]), str(nov["id"])],
            "montant": "6,00",
            "mode": "cheque",
            "reference": "CHQ 1234567",
            "tireur": "Mme Claire Martin",
            "banque": "Crédit Mutuel",
            "date": "15/11/2026",
        },
        from_page="/agents/paiements",
    )
    assert response.status_code == 303
    payment = await Payment.select().first()
    assert response.headers["location"] == f"/agents/paiements/{payment['id']}/recu"
    assert payment["amount_cents"] == 600 and payment["method"] == "cheque"
    paid = {r["id"]: r["paid_cents"] for r in await Invoice.select(Invoice.id, Invoice.paid_cents)}
    assert paid == {oct_["id"]: 420, nov["id"]: 180}
    receipt = await client.get(response.headers["location"])
    text = soup(receipt.text).select_one("#payment-receipt").get_text()
    assert "Reçu de paiement" in text and "CHQ 1234567" in text and "15/11/2026" in text
    assert oct_["number"] in text and "2,40" in text  # left on November's invoice
    assert "Paiement de 6,00" in receipt.text  # the flash
    entry = await AuditLog.select().where(AuditLog.action == "paiement_guichet").first()
    assert entry["family"] == family.id

    csv_response = await client.get("/agents/paiements/export.csv?du=01/11/2026&au=30/11/2026")
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_response.headers["content-disposition"]
    lines = csv_response.text.lstrip("\ufeff").strip().split("\r\n")
    assert lines[0].startswith("Date;Code famille")
    assert len(lines) == 2 and "15/11/2026;F00001" in lines[1] and ";6,00;" in lines[1]
    assert f"{oct_['number']} (4,20)" in lines[1]
    assert await AuditLog.count().where(AuditLog.action == "export_paiements") == 1


async def test_bad_payment_input_is_422_with_values_kept_and_nothing_written(client, settings):
    await factories.make_staff(role="regisseur")
    _, oct_, _ = await _two_invoices(settings)
    await login_staff(client)
    response = await post_form(
        client,
        "/agents/paiements",
        {
            "famille": "F00001",
            "montant": "douze",
            "mode": "cheque",
            "reference": "",
            "date": "31/12/2999",
        },
        from_page="/agents/paiements",
    )
    assert response.status_code == 422
    page = soup(response.text)
    assert page.title.string.startswith("Erreur : ")
    assert error_summary_links(response.text) == [
        "#facture",
        "#montant",
        "#reference",
        "#tireur",
        "#banque",
        "#date",
    ]
    assert page.select_one("#montant")["value"] == "douze"
    assert page.select_one("#mode-cheque").has_attr("checked")
    fragment = await post_form(
        client,
        "/agents/paiements",
        {"famille": "F00001"},
        from_page="/agents/paiements",
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert 'id="counter-payment-form"' in fragment.text
    assert await Payment.count() == 0 and await PaymentAllocation.count() == 0


async def test_invoice_of_another_family_is_refused(client, settings):
    await factories.make_staff(role="regisseur")
    _, oct_, _ = await _two_invoices(settings)
    await factories.make_family("F00002", name="Diallo")
    await login_staff(client)
    response = await post_form(
        client,
        "/agents/paiements",
        {
            "famille": "F00002",
            "facture": str(oct_["id"]),
            "montant": "4",
            "mode": "especes",
            "date": "15/11/2026",
        },
        from_page="/agents/paiements",
    )
    assert response.status_code == 422
    assert await Payment.count() == 0
    assert (await client.get("/agents/paiements/999/recu")).status_code == 404


async def test_lookup_fragment_and_unknown_family(client, settings):
    await factories.make_staff(role="regisseur")
    await _two_invoices(settings)
    await login_staff(client)
    fragment = await client.get("/agents/paiements?famille=F00001", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="counter-payment-form"' in fragment.text
    assert fragment.headers["vary"] == "HX-Request"
    unknown = await client.get("/agents/paiements?famille=F99999")
    assert "Aucune famille n’a le code" in unknown.text


async def test_payments_need_csrf_and_the_regisseur_role(client, settings):
    await factories.make_staff(role="agent")
    _, oct_, _ = await _two_invoices(settings)
    await login_staff(client)
    assert (await client.get("/agents/paiements")).status_code == 403
    assert (await client.get("/agents/paiements/export.csv")).status_code == 403
    data = {
        "famille": "F00001",
        "facture": str(oct_["id"]),
        "montant": "4",
        "mode": "especes",
        "date": "15/11/2026",
    }
    assert (
        await post_form(client, "/agents/paiements", data, from_page="/agents/")
    ).status_code == 403
    assert (await client.post("/agents/paiements", data=data)).status_code == 403
    assert await Payment.count() == 0


async def test_family_cannot_reach_counter_payments(client, settings):
    await _two_invoices(settings)
    await login_family(client)
    assert (await client.get("/agents/paiements")).status_code == 404
