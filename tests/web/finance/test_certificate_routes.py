"""/agents/finance/attestations and /famille/attestations: the régisseur's run (full page, htmx,
no-JS post, 422, CSRF, roles), the family's list and its PDF (another family's is 404)."""

from __future__ import annotations

import pytest

from ecp.finance.tables import CareCertificate
from tests import factories
from tests.conftest import default_settings
from tests.finance_factories import paid_care_2026
from tests.support import error_summary_links, login_family, login_staff, post_form, soup

STAFF = "/agents/finance/attestations"
FAMILY = "/famille/attestations"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def settings():
    return default_settings()


async def _login(client, role: str = "regisseur") -> dict:
    data = await paid_care_2026()
    await factories.make_staff(username="regie", role=role, display_name="Régie")
    await login_staff(client, "regie")
    return data


async def test_the_regisseur_issues_the_years_certificates_without_javascript(client):
    await _login(client)
    page = await client.get(STAFF)
    assert page.status_code == 200
    html = soup(page.text)
    assert html.h1.get_text() == "Attestations de frais de garde"
    assert html.select_one("#annee option[selected]")["value"] == "2026"
    assert (
        "Aucune attestation émise pour 2026" in html.select_one("#certificates-summary").get_text()
    )
    done = await post_form(client, STAFF, {"annee": "2026"}, from_page=STAFF)
    assert done.status_code == 303 and done.headers["location"] == STAFF + "?annee=2026"
    after = await client.get(done.headers["location"])
    assert "2 émises, 1 envoyée par courriel." in after.text
    assert "2 attestations" in soup(after.text).select_one("#certificates-summary").get_text()
    again = await post_form(client, STAFF, {"annee": "2026"}, from_page=STAFF, headers=HTMX)
    assert again.status_code == 200 and again.headers["hx-redirect"] == STAFF + "?annee=2026"
    assert await CareCertificate.count() == 2
    fragment = await client.get(STAFF + "?annee=2025", headers=HTMX)
    assert fragment.status_code == 200 and "<html" not in fragment.text


async def test_a_year_not_offered_is_422_and_nothing_is_issued(client):
    await _login(client)
    response = await post_form(client, STAFF, {"annee": "2027"}, from_page=STAFF)
    assert response.status_code == 422 and error_summary_links(response.text) == ["#annee"]
    assert soup(response.text).title.get_text().startswith("Erreur : ")
    fragment = await post_form(client, STAFF, {"annee": ""}, from_page=STAFF, headers=HTMX)
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert "Choisissez l’année" in soup(fragment.text).select_one("#annee-error").get_text()
    assert (await client.get(STAFF + "?annee=1990")).status_code == 422
    assert await CareCertificate.count() == 0


async def test_the_family_downloads_its_own_certificate_only(client, other_client):
    await _login(client)
    await post_form(client, STAFF, {"annee": "2026"}, from_page=STAFF)
    rows = {r["family"]: r["id"] for r in await CareCertificate.select()}
    await login_family(other_client, "F00001")
    page = await other_client.get(FAMILY)
    assert page.status_code == 200
    links = soup(page.text).select("#certificates a")
    assert [a.get_text() for a in links] == ["Attestation 2026 (15,00\u00a0€), PDF"]
    pdf = await other_client.get(links[0]["href"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    others = [cid for fid, cid in rows.items() if cid != int(links[0]["href"].split("/")[-2])]
    assert (await other_client.get(f"{FAMILY}/{others[0]}/attestation.pdf")).status_code == 404
    assert (await other_client.get(f"{FAMILY}/999/attestation.pdf")).status_code == 404
    assert (await other_client.get(STAFF)).status_code == 404


async def test_an_agent_may_not_run_and_the_post_needs_csrf(client):
    await _login(client, role="agent")
    assert (await client.get(STAFF)).status_code == 403
    refused = await post_form(client, STAFF, {"annee": "2026"}, from_page="/agents/")
    assert refused.status_code == 403
    assert (await client.post(STAFF, data={"annee": "2026"})).status_code == 403
    assert await CareCertificate.count() == 0
