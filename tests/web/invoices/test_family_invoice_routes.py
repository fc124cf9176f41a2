"""Family invoice pages: list with statuses and totals, detail traced to days, PDF, paperless."""

from __future__ import annotations

import datetime as dt
import io
import re

from pypdf import PdfReader

from ecp import clock
from ecp.families.tables import Family
from ecp.invoices.billing import run_billing
from ecp.invoices.tables import Invoice
from ecp.payments.allocation import record_payment
from tests.invoices_factories import NOV, make_billed_family, make_commune
from tests.support import error_summary_links, login_family, post_form, soup

ISSUED = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


async def _setup(settings):
    commune = await make_commune()
    martin, _ = await make_billed_family(commune, code="F00001", days=(2, 3, 5))
    other, _ = await make_billed_family(
        commune, code="F00002", name="Diallo", days=(2,), password="demo-famille-2"
    )
    await run_billing(NOV, settings=settings, issued_at=ISSUED)
    mine = await Invoice.select().where(Invoice.family == martin.id).first()
    theirs = await Invoice.select().where(Invoice.family == other.id).first()
    return martin, mine, theirs


async def test_list_shows_status_and_totals(client, settings):
    martin, mine, _ = await _setup(settings)
    await login_family(client)
    page = await client.get("/famille/factures")
    assert page.status_code == 200 and "<html" in page.text
    html = soup(page.text)
    row = html.select_one("#invoice-list tbody tr")
    assert "FAC-2026-000001" in row.get_text() and "à payer" in row.get_text()
    assert "6,30" in html.select_one(".figures").get_text()
    assert "FAC-2026-000002" not in page.text  # the other family's invoice

    await record_payment(
        family_id=martin.id, method="especes", amount_cents=200, invoice_ids=[mine["id"]]
    )
    assert "partiellement payée" in (await client.get("/famille/factures")).text
    # Past its due date (the session's clock stays real, so the date moves instead).
    await Invoice.update({Invoice.due_on: clock.today() - dt.timedelta(days=1)}).where(
        Invoice.id == mine["id"]
    )
    assert "en retard" in (await client.get("/famille/factures")).text
    await record_payment(
        family_id=martin.id, method="especes", amount_cents=430, invoice_ids=[mine["id"]]
    )
    page = await client.get("/famille/factures")
    assert "payée" in soup(page.text).select_one("#invoice-list tbody tr").get_text()


async def test_detail_traces_each_line_to_its_days_and_hides_other_families(client, settings):
    _, mine, theirs = await _setup(settings)
    await login_family(client)
    page = await client.get(f"/famille/factures/{mine['id']}")
    assert page.status_code == 200
    html = soup(page.text)
    assert html.h1.get_text() == "Facture FAC-2026-000001"
    row = html.select_one(".invoice-lines tbody tr")
    assert "lundi 2 novembre, mardi 3 novembre, jeudi 5 novembre" in row.get_text()
    assert "6,30" in html.select_one(".invoice-total").get_text()
    assert (await client.get(f"/famille/factures/{theirs['id']}")).status_code == 404
    assert (await client.get(f"/famille/factures/{theirs['id']}.pdf")).status_code == 404
    assert (await client.get("/famille/factures/abc")).status_code == 404
    assert (await client.get(f"/famille/factures/{theirs['id']}/facture.pdf")).status_code == 404


async def test_pdf_is_a_real_tagged_pdf_with_the_page_total(client, settings):
    _, mine, _ = await _setup(settings)
    await login_family(client)
    page = await client.get(f"/famille/factures/{mine['id']}")
    page_total = soup(page.text).select_one(".invoice-total").get_text().strip()
    response = await client.get(f"/famille/factures/{mine['id']}.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="FAC-2026-000001.pdf"'
    reader = PdfReader(io.BytesIO(response.content))
    content = "\n".join(p.extract_text() for p in reader.pages)

    def normalise(s):
        return re.sub(r"\s+", " ", s.replace("\u202f", " ").replace("\xa0", " "))

    assert normalise(page_total) in normalise(content)
    assert "FAC-2026-000001" in content and "Villebelle-sur-Seine" in content
    assert "Comment payer" in content and "31/12/2026" in content
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "fr" and "/StructTreeRoot" in root
    assert root["/MarkInfo"]["/Marked"]
    alias = await client.get(f"/famille/factures/{mine['id']}/facture.pdf")
    assert alias.status_code == 200 and alias.content.startswith(b"%PDF")
    assert b"pdfuaid" in root["/Metadata"].get_object().get_data()  # PDF/UA identification
    assert reader.metadata.title.startswith("Facture FAC-2026-000001")


async def test_paperless_choice_no_js_post_redirects_with_flash(client, settings):
    martin, _, _ = await _setup(settings)
    await login_family(client)
    response = await post_form(
        client,
        "/famille/factures/facture-electronique",
        {"mode": "courriel"},
        from_page="/famille/factures",
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/famille/factures")
    assert (await Family.select(Family.paperless).where(Family.id == martin.id).first())[
        "paperless"
    ] is True
    page = await client.get("/famille/factures")
    assert "Facture électronique choisie" in page.text
    assert soup(page.text).select_one("#mode-courriel").has_attr("checked")


async def test_paperless_choice_htmx_returns_the_fragment(client, settings):
    await _setup(settings)
    await login_family(client)
    response = await post_form(
        client,
        "/famille/factures/facture-electronique",
        {"mode": "papier"},
        from_page="/famille/factures",
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="paperless-choice"' in response.text
    assert "Facture papier choisie" in response.text and "hx-swap-oob" in response.text
    fragment = await client.get("/famille/factures", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="paperless-choice"' in fragment.text
    assert fragment.headers["vary"] == "HX-Request"


async def test_paperless_choice_bad_input_is_422_and_changes_nothing(client, settings):
    martin, _, _ = await _setup(settings)
    await Family.update({Family.email: ""}).where(Family.id == martin.id)
    await login_family(client)
    response = await post_form(
        client,
        "/famille/factures/facture-electronique",
        {"mode": "courriel"},
        from_page="/famille/factures",
    )
    assert response.status_code == 422
    assert soup(response.text).title.string.startswith("Erreur : ")
    assert error_summary_links(response.text) == ["#mode-courriel"]
    assert soup(response.text).select_one("#mode-courriel").has_attr("checked")
    response = await post_form(
        client,
        "/famille/factures/facture-electronique",
        {"mode": "pigeon"},
        from_page="/famille/factures",
    )
    assert response.status_code == 422
    assert (await Family.select(Family.paperless).where(Family.id == martin.id).first())[
        "paperless"
    ] is False


async def test_paperless_choice_without_csrf_is_refused(client, settings):
    await _setup(settings)
    await login_family(client)
    await client.get("/famille/factures")
    response = await client.post(
        "/famille/factures/facture-electronique", data={"mode": "courriel"}
    )
    assert response.status_code == 403
