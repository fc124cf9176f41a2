"""The family's payment pages on a phone (issue 15, item 7): invoices as big ticked boxes with
their amount for the live total, required marked, the chosen total computed again on the next
page without JavaScript, spaced « Continuer » / « Abandonner », honest wording once a payment is
refused or cancelled, and tables that turn into labelled lists (named, focusable regions)."""

from __future__ import annotations

from ecp.payments.tables import PaymentAttempt
from tests.payments_factories import ipn_query
from tests.support import post_form, soup
from tests.web.payments.helpers import (
    family_with_invoices,
    login_family,
    started_reference,
)


async def test_choice_boxes_carry_their_amount_and_the_group_is_required(client):
    _, invoices = await family_with_invoices(4250, 9650)
    await login_family(client)
    page = soup((await client.get("/famille/paiements")).text)
    boxes = page.select("[data-pay-choices] input[type=checkbox][name=factures]")
    assert sorted(b["data-cents"] for b in boxes) == ["4250", "9650"]
    legend = page.select_one("[data-pay-choices] legend").get_text(" ", strip=True)
    assert legend == "Factures à payer (obligatoire)"
    assert "Cochez au moins une facture" in page.select_one("[data-pay-choices]").get_text()
    total = page.select_one("[data-chosen-total]")
    assert total["aria-live"] == "polite" and total.has_attr("hidden")  # app.js fills it


async def test_the_next_page_computes_the_chosen_total_without_javascript(client):
    _, invoices = await family_with_invoices(4250, 9650)
    await login_family(client)
    reference = await started_reference(client, invoices[1:])
    response = await client.get(f"/famille/paiements/{reference}")
    page = soup(response.text)
    assert page.h1.get_text(" ", strip=True).replace("\xa0", " ") == "Paiement de 96,50 €"
    rows = page.select("#attempt-invoices tbody tr")
    assert [r.th.get_text() for r in rows] == [invoices[1].number]
    # « Continuer » and « Abandonner » sit apart in one spaced group, each its own form.
    actions = page.select_one(".payment-actions")
    assert [b.get_text(strip=True) for b in actions.select("button")] == [
        "Continuer vers le paiement sécurisé",
        "Abandonner ce paiement",
    ]
    assert len(actions.select("form")) == 2 and "actions" in actions["class"]
    assert page.select_one("#attempt-invoices caption").get_text() == (
        "Factures concernées par ce paiement"
    )


async def test_paid_refused_and_cancelled_are_worded_after_what_happened(client):
    _, invoices = await family_with_invoices(4250)
    await login_family(client)
    paid = await started_reference(client, invoices)
    await client.get(f"/paiement/paybox/ipn?{ipn_query(paid, 4250).decode()}")
    page = soup((await client.get(f"/famille/paiements/{paid}")).text)
    assert page.select_one("#attempt-invoices caption").get_text() == (
        "Factures réglées par ce paiement"
    )
    assert "Montant payé" in page.select_one("#attempt-invoices thead").get_text()

    _, others = await family_with_invoices(3000, code="F00002", name="Diallo")
    await login_family(client, "F00002")
    refused = await started_reference(client, others)
    await client.get(f"/paiement/paybox/ipn?{ipn_query(refused, 3000, code='00105').decode()}")
    for path in (f"/famille/paiements/{refused}", f"/famille/paiements/{refused}/retour/refuse"):
        response = await client.get(path)
        text = soup(response.text).get_text(" ", strip=True).replace("\xa0", " ")
        assert "Factures réglées par ce paiement" not in text and "Montant payé" not in text
        assert "Factures que ce paiement devait régler (elles restent à payer)" in text
        assert "Paiement refusé par votre banque. Aucune somme n’a été débitée." in text
        assert "Rien n’a été payé : vos factures restent à payer, sans frais." in text
        assert "payer à nouveau en ligne (avec une autre carte" in text
        assert "régler au guichet de la régie, par chèque ou par virement" in text

    cancelled = await started_reference(client, others)
    response = await post_form(
        client, f"/famille/paiements/{cancelled}/abandon", {}, from_page="/famille/paiements"
    )
    assert response.status_code == 303
    status = (
        await PaymentAttempt.select(PaymentAttempt.status)
        .where(PaymentAttempt.reference == cancelled)
        .first()
    )
    assert status["status"] == "annulee"
    text = soup((await client.get(f"/famille/paiements/{cancelled}")).text).get_text(" ")
    assert "Montant payé" not in text and "Paiement annulé" in text and "autre carte" not in text


async def test_payment_tables_are_named_focusable_regions_and_labelled_lists(client):
    _, invoices = await family_with_invoices(4250)
    await login_family(client)
    reference = await started_reference(client, invoices)
    await client.get(f"/paiement/paybox/ipn?{ipn_query(reference, 4250).decode()}")
    for path in ("/famille/paiements", f"/famille/paiements/{reference}"):
        page = soup((await client.get(path)).text)
        for wrap in page.select(".table-wrap"):
            assert wrap["role"] == "region" and wrap["tabindex"] == "0", path
            assert page.find(id=wrap["aria-labelledby"]).name == "caption"
            table = wrap.find("table")
            assert "table-stack" in table["class"]
            for td in table.select("tbody td"):
                assert td.get("data-label"), (path, str(td)[:80])
