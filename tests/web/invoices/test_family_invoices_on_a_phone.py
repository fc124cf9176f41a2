"""Family invoices on a phone and on paper (issue 15, item 7): the list and the detail's lines
as labelled lists, « Payer » at the top of the detail, the PDF on one page with its totals once
and the régie's IBAN and payment means, the paperless choice marked required."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from tests.conftest import default_settings, make_client
from tests.support import login_family, soup
from tests.web.invoices.test_family_invoice_routes import _setup

IBAN = "FR76 3000 1007 9412 3456 7890 185"


@pytest.fixture
def settings():
    return default_settings().with_(regie_iban=IBAN.replace(" ", ""), regie_bic="BDFEFRPPCCT")


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u202f", " ").replace("\xa0", " "))


async def test_list_is_a_labelled_list_in_a_named_region(client, settings):
    await _setup(settings)
    await login_family(client)
    page = soup((await client.get("/famille/factures")).text)
    wrap = page.select_one(".table-wrap")
    assert wrap["role"] == "region" and wrap["tabindex"] == "0"
    table = page.select_one("#invoice-list")
    assert "table-stack" in table["class"]
    labels = [td["data-label"] for td in table.select("tbody tr")[0].find_all("td")]
    assert labels == ["Période", "Montant", "Reste à payer", "À régler avant le", "État", "PDF"]


async def test_detail_puts_payer_first_and_names_the_regie_account(client, settings):
    _, mine, _ = await _setup(settings)
    await login_family(client)
    page = soup((await client.get(f"/famille/factures/{mine['id']}")).text)
    main = page.find("main")
    first_button = main.select_one(".button")
    assert _flat(first_button.get_text(" ", strip=True)) == (
        "Payer 6,30 € pour la facture FAC-2026-000001"
    )
    assert first_button["href"] == "/famille/paiements"
    # It comes before the invoice itself.
    assert str(main).index("Payer 6,30") < str(main).index('id="invoice-title"')
    lines = page.select(".invoice-lines tbody td")
    assert [td["data-label"] for td in lines] == [
        "Jours facturés",
        "Quantité",
        "Prix unitaire",
        "Montant",
    ]
    how = _flat(page.select_one(".how-to-pay").get_text())
    assert "Par carte bancaire, en ligne" in how and "Par chèque à l’ordre du Trésor public" in how
    assert (
        f"Par virement au compte Régie de Villebelle-sur-Seine : IBAN {IBAN}, BIC BDFEFRPPCCT, "
        "en indiquant la référence FAC-2026-000001." in how
    )


async def test_pdf_fits_one_page_with_totals_once_and_the_iban(client, settings):
    _, mine, _ = await _setup(settings)
    await login_family(client)
    response = await client.get(f"/famille/factures/{mine['id']}.pdf")
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 1
    text = _flat(reader.pages[0].extract_text())
    assert text.count("Reste à payer") == 1 and text.count("Total") == 1
    assert "2, 3 et 5 novembre" in text  # the days, short
    assert IBAN in text and "BDFEFRPPCCT" in text and "référence FAC-2026-000001" in text
    assert "Par chèque" in text and "Au guichet de la régie" in text


async def test_pdf_of_a_long_month_keeps_one_table_and_totals_once(client, settings):
    from tests.invoices_factories import make_billed_family, make_commune

    commune = await make_commune()
    from ecp.invoices.billing import run_billing
    from ecp.invoices.tables import Invoice
    from tests.invoices_factories import NOV
    from tests.web.invoices.test_family_invoice_routes import ISSUED

    family, child = await make_billed_family(
        commune, code="F00001", days=tuple(d for d in range(2, 31) if d not in (7, 8, 14, 15))
    )
    await run_billing(NOV, settings=settings, issued_at=ISSUED)
    invoice = await Invoice.select().where(Invoice.family == family.id).first()
    await login_family(client)
    reader = PdfReader(
        io.BytesIO((await client.get(f"/famille/factures/{invoice['id']}.pdf")).content)
    )
    assert len(reader.pages) == 1
    text = _flat(reader.pages[0].extract_text())
    assert text.count("Reste à payer") == 1


async def test_without_an_iban_the_invoice_says_to_ask_the_service(app_for):
    plain = default_settings()
    _, mine, _ = await _setup(plain)
    async with make_client(app_for(plain)) as client:
        await login_family(client)
        page = soup((await client.get(f"/famille/factures/{mine['id']}")).text)
    how = _flat(page.select_one(".how-to-pay").get_text())
    assert "demandez les coordonnées bancaires de la régie au service" in how
    assert "IBAN" not in how


async def test_paperless_choice_is_marked_required(client, settings):
    await _setup(settings)
    await login_family(client)
    page = soup((await client.get("/famille/factures")).text)
    choice = page.select_one("#paperless-choice")
    assert "(obligatoire)" in choice.select_one("legend").get_text()
    assert all(r.has_attr("required") for r in choice.select("input[type=radio]"))


async def test_a_pdf_too_long_for_one_page_prints_its_totals_once(client, settings):
    """Forty-five lines do not fit one A4 page: the table goes on, its header repeated, but
    the totals come once, after the last line."""
    import datetime as dt

    from ecp import clock
    from ecp.invoices.tables import Invoice, InvoiceLine
    from tests import factories

    family = await factories.make_family("F00001", name="Martin")
    invoice = Invoice(
        number="FAC-2026-000100",
        family=family.id,
        month=dt.date(2026, 11, 1),
        issued_at=clock.now(),
        due_on=dt.date(2026, 12, 31),
        total_cents=45 * 210,
        family_name="Martin",
    )
    await invoice.save()
    await InvoiceLine.insert(
        *[
            InvoiceLine(
                invoice=invoice.id,
                label=f"Cantine de l’enfant {n}",
                days="2026-11-02",
                quantity=1,
                unit_price_cents=210,
                amount_cents=210,
            )
            for n in range(45)
        ]
    )
    await login_family(client)
    response = await client.get(f"/famille/factures/{invoice.id}.pdf")
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) >= 2
    pages = [_flat(p.extract_text()) for p in reader.pages]
    everything = " ".join(pages)
    assert everything.count("Reste à payer") == 1 and everything.count("Déjà réglé") == 1
    assert "Reste à payer" in pages[-1] and "Reste à payer" not in pages[0]
    assert "Cantine de l’enfant 44" in everything
