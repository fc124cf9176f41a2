"""« Mes données » for a person: French labels, Paris times written the French way, amounts in
euros, codes in words, the child and the invoice named; the JSON file beside it keeps every
column under its own name (for a program)."""

from __future__ import annotations

import datetime as dt
import json

from ecp import clock
from ecp.accounts import export
from ecp.families.tables import ContactChangeRequest
from ecp.invoices.tables import InvoiceLine
from ecp.mail.tables import OutboxEmail
from ecp.payments.tables import Payment, PaymentAllocation
from tests import invoices_factories as inv
from tests.payments_factories import make_invoice
from tests.support import login_family, soup

# 18:05 in Paris on 1 December 2026, an hour behind in UTC.
NOW = dt.datetime(2026, 12, 1, 17, 5, tzinfo=dt.UTC)


async def _family_with_a_history():
    clock.set_now(NOW)
    commune = await inv.make_commune()
    family, child = await inv.make_billed_family(commune, code="F00001", days=(2,))
    invoice = await make_invoice(family, total_cents=1250, number="FAC-2026-000042")
    await InvoiceLine(
        invoice=invoice.id,
        child=child.id,
        activity=commune["canteen"].id,
        kind="prestation",
        label="Cantine",
        days="2026-11-02",
        quantity=1,
        unit_price_cents=1250,
        amount_cents=1250,
    ).save()
    payment = Payment(
        family=family.id, method="cheque", amount_cents=1250, received_at=NOW, reference="123"
    )
    await payment.save()
    await PaymentAllocation(payment=payment.id, invoice=invoice.id, amount_cents=1250).save()
    await ContactChangeRequest(
        family=family.id,
        changes=json.dumps({"city": {"before": "Villebelle", "after": "Montbelle"}}),
        status="en_attente",
        submitted_at=NOW,
    ).save()
    await OutboxEmail(
        to_address="martin@example.org",
        subject="Votre facture",
        body_text="…",
        kind="facture",
        family=family.id,
        status="envoye",
        created_at=NOW,
    ).save()
    return family, child


async def test_the_page_is_in_french_with_paris_times_and_euros(client):
    await _family_with_a_history()
    await login_family(client)
    response = await client.get("/famille/mes-donnees")
    assert response.status_code == 200
    page = soup(response.text)
    text = page.select_one("#my-data").get_text(" ", strip=True)
    labels = {dt_.get_text(strip=True) for dt_ in page.select("#my-data dt")}
    labels |= {th.get_text(strip=True) for th in page.select("#my-data th")}
    # No column name of the database, no ISO timestamp, no cents.
    for english in ("first_name", "created_at", "amount_cents", "quotient_familial", "state"):
        assert english not in labels and english not in text
    assert "T17:05" not in text and "+00:00" not in text and "1250" not in text
    assert {"Code famille", "Prénom", "Date de naissance", "Montant", "Jour", "État"} <= labels
    assert "01/12/2026 à 18:05" in text  # Paris time, French order
    assert "12,50\xa0€" in text
    assert "lundi 2 novembre 2026" in text  # the booked day, in words
    assert "réservée" in text and "Chèque" in text and "en attente de validation" in text
    assert "Commune : « Villebelle » devient « Montbelle »" in text
    assert "facture disponible" in text and "envoyé" in text
    # The invoice line and the allocation name the child and the invoice, not their numbers.
    lines = page.select_one("#data-lignes_de_facture").find_parent("section").get_text(" ")
    assert "FAC-2026-000042" in lines and "Léa" in lines
    allocation = page.select_one("#data-affectations_de_paiement").find_parent("section")
    assert "FAC-2026-000042" in allocation.get_text(" ")
    assert "Chèque, 01/12/2026 à 18:05" in allocation.get_text(" ")
    # Tables can scroll on a phone and are reachable by keyboard.
    wrap = allocation.select_one(".table-wrap")
    assert wrap["tabindex"] == "0" and wrap["role"] == "region"


async def test_the_download_is_the_same_readable_page_and_the_json_keeps_the_columns(client):
    await _family_with_a_history()
    await login_family(client)
    download = await client.get("/famille/mes-donnees.html")
    assert "attachment" in download.headers["content-disposition"]
    assert "mes-donnees-F00001.html" in download.headers["content-disposition"]
    body = soup(download.text)
    assert body.h1.get_text(strip=True) == "Données de la famille Martin (F00001)"
    assert "01/12/2026 à 18:05" in body.get_text(" ") and "<script" not in download.text
    data = json.loads((await client.get("/famille/mes-donnees.json")).text)
    assert data["paiements"][0]["amount_cents"] == 1250
    assert data["paiements"][0]["received_at"].startswith("2026-12-01T17:05")
    page = soup((await client.get("/famille/mes-donnees")).text)
    links = {a.get_text(strip=True): a["href"] for a in page.select(".action-list a")}
    assert links == {
        "Télécharger cette page": "/famille/mes-donnees.html",
        "Télécharger le fichier JSON": "/famille/mes-donnees.json",
    }


async def test_every_exported_column_has_a_french_label(client):
    """A column added to a table the export reads must be given its label in COLUMNS (it would
    show under its database name otherwise)."""
    family, _ = await _family_with_a_history()
    rows = await export.family_data(family.id)
    for key, section in rows.items():
        for row in [section] if key == "famille" else section:
            missing = set(row) - set(export.COLUMNS[key])
            assert not missing, f"{key}: no French label for {sorted(missing)}"


async def test_the_fragment_for_htmx(client):
    await _family_with_a_history()
    await login_family(client)
    response = await client.get("/famille/mes-donnees", headers={"HX-Request": "true"})
    assert "<html" not in response.text and 'id="my-data"' in response.text
