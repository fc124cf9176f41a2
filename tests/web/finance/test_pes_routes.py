"""/agents/finance/...: the accountant's codes and the PES export over HTTP. Full page, htmx
fragment, no-JS post (303), bad input (422 with the values and French messages), CSRF, roles
(agent 403, family 404), unknown bordereau 404, and the files downloaded."""

from __future__ import annotations

import io
import zipfile

import pytest

from ecp.audit.tables import AuditLog
from ecp.finance import pes
from ecp.finance.tables import FinanceActivityCode, FinanceSettings, PesBordereau, PesPiece
from tests import factories
from tests.conftest import default_settings
from tests.finance_factories import CODES, billed_october
from tests.support import error_summary_links, login_family, login_staff, post_form, soup

SETTINGS = "/agents/finance/parametres"
PES = "/agents/finance/pes"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def settings():
    return default_settings()


async def _login(client, role: str = "regisseur", codes: bool = True) -> dict:
    month = await billed_october(codes=codes)
    await factories.make_staff(username="regie", role=role, display_name="Régie Test")
    await login_staff(client, "regie")
    return month


async def _issue(client, **fields):
    data = {"perimetre": "mois", "mois": "2026-10", **fields}
    return await post_form(client, PES, data, from_page=PES)


# --- The accountant's codes ------------------------------------------------------------------


async def test_the_settings_page_explains_each_code_and_saves_them(client):
    await _login(client, codes=False)
    page = await client.get(SETTINGS)
    assert page.status_code == 200 and "<html" in page.text
    html = soup(page.text)
    assert html.h1.get_text() == "Codes du comptable public (PES)"
    assert "poste comptable du Trésor public" in html.select_one("#poste_comptable-hint").get_text()
    assert "ASAP" in html.select_one("label[for=edition_asap]").get_text()
    assert "le poste comptable" in html.select_one("#pes-missing").get_text()
    data = {**CODES, "siret": "217 809 999 00017", "exercice": ""}
    response = await post_form(client, SETTINGS, data, from_page=SETTINGS)
    assert response.status_code == 303 and response.headers["location"] == SETTINGS
    row = await FinanceSettings.select().first()
    assert row["siret"] == "21780999900017" and row["poste_comptable"] == "0780100"
    assert row["exercice"] is None
    assert await AuditLog.count().where(AuditLog.action == "pes_parametres_modifies") == 1
    again = await client.get(SETTINGS)
    assert soup(again.text).select_one("#siret")["value"] == "21780999900017"
    assert soup(again.text).select_one("#pes-missing") is None


async def test_bad_codes_come_back_422_with_the_values_and_french_messages(client):
    await _login(client, codes=False)
    data = {**CODES, "siret": "1234", "type_piece": "x", "poste_comptable": ""}
    response = await post_form(client, SETTINGS, data, from_page=SETTINGS)
    assert response.status_code == 422
    assert error_summary_links(response.text) == ["#poste_comptable", "#siret", "#type_piece"]
    html = soup(response.text)
    assert "14 chiffres" in html.select_one("#siret-error").get_text()
    assert html.select_one("#siret")["value"] == "1234"
    assert html.title.get_text().startswith("Erreur : ")
    assert await FinanceSettings.count() == 0
    fragment = await post_form(client, SETTINGS, data, from_page=SETTINGS, headers=HTMX)
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert soup(fragment.text).select_one("section#pes-settings .error-summary") is not None
    ok = await post_form(client, SETTINGS, CODES, from_page=SETTINGS, headers=HTMX)
    assert ok.status_code == 200 and ok.headers["hx-redirect"] == SETTINGS


async def test_an_activity_gets_its_own_codes(client):
    month = await _login(client)
    data = {"activite": str(month["garderie"].id), "produit": "21", "nature": "70632"}
    response = await post_form(client, SETTINGS + "/activites", data, from_page=SETTINGS)
    assert response.status_code == 303
    row = await FinanceActivityCode.select().first()
    assert (row["activity"], row["produit"], row["nature"]) == (month["garderie"].id, "21", "70632")
    bad = await post_form(
        client, SETTINGS + "/activites", {"activite": "", "nature": "abc"}, from_page=SETTINGS
    )
    assert bad.status_code == 422
    assert error_summary_links(bad.text) == ["#activite", "#nature"]
    assert soup(bad.text).select_one("#nature")["value"] == "ABC"
    unknown = await post_form(
        client, SETTINGS + "/activites", {"activite": "999"}, from_page=SETTINGS, headers=HTMX
    )
    assert unknown.status_code == 422 and "<html" not in unknown.text
    assert "Choisissez une activité" in soup(unknown.text).select_one("#activite-error").get_text()
    # The export uses it: Martin's garderie line carries its own nature.
    await _issue(client)
    content = (await PesBordereau.select(PesBordereau.xml).first())["xml"].encode()
    assert b'<Nature V="70632"/>' in content and b'<Nature V="7067"/>' in content


# --- The export --------------------------------------------------------------------------------


async def test_the_export_page_shows_the_months_pieces_and_total(client):
    await _login(client)
    page = await client.get(PES)
    assert (
        page.status_code == 200
        and soup(page.text).h1.get_text() == "Exports PES vers le Trésor public"
    )
    response = await client.get(PES + "?perimetre=mois&mois=2026-10")
    html = soup(response.text)
    assert "3 pièces" in html.select_one("#pes-summary").get_text()
    assert html.select_one("#pes-total").get_text() == "65,00\u00a0€"
    rows = html.select("#pes-pieces tbody tr")
    assert len(rows) == 3 and "Avoir AV-2026-000003" in html.select_one("#pes-pieces").get_text()
    fragment = await client.get(PES + "?perimetre=mois&mois=2026-10", headers=HTMX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.headers["vary"] == "HX-Request"
    assert soup(fragment.text).select_one("#pes-export-title[data-focus]") is not None
    bad = await client.get(PES + "?perimetre=mois&mois=1999-01")
    assert bad.status_code == 422 and error_summary_links(bad.text) == ["#mois"]
    missing = await client.get(PES + "?perimetre=mois")
    assert missing.status_code == 422 and "Choisissez le mois" in missing.text


async def test_issuing_a_bordereau_without_javascript_then_downloading_it(client):
    await _login(client)
    response = await _issue(client)
    assert response.status_code == 303
    row = await PesBordereau.select().first()
    assert response.headers["location"] == f"{PES}/{row['id']}"
    detail = await client.get(response.headers["location"])
    html = soup(detail.text)
    assert html.h1.get_text() == "Bordereau PES n° 1 de 2026"
    assert "Bordereau n° 1 de 2026 émis\u00a0: 3 pièces." in detail.text
    assert len(html.select("#bordereau-pieces tbody tr")) == 3
    xml = await client.get(f"{PES}/{row['id']}/pes.xml")
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    assert 'filename="PES-ORMC-2026-0000001.xml"' in xml.headers["content-disposition"]
    pes.validate(xml.content)
    assert pes.summary(xml.content)["total_cents"] == 6500
    bundle = await client.get(f"{PES}/{row['id']}/pes.zip")
    assert bundle.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(bundle.content)).namelist()
    assert "PES-ORMC-2026-0000001.xml" in names and "FAC-2026-000011.pdf" in names
    assert await AuditLog.count().where(AuditLog.action == "pes_telecharge") == 2
    assert (await client.get(f"{PES}/999")).status_code == 404
    assert (await client.get(f"{PES}/999/pes.xml")).status_code == 404


async def test_a_second_export_is_refused_422_and_htmx_gets_the_redirect(client):
    await _login(client)
    first = await _issue(client, perimetre="mois")
    assert first.status_code == 303
    again = await _issue(client)
    assert again.status_code == 422
    assert (
        "déjà dans le bordereau n° 1 de 2026"
        in soup(again.text).select_one("#mois-error").get_text()
    )
    assert soup(again.text).select_one("input[name=perimetre][value=mois]").has_attr("checked")
    assert await PesBordereau.count() == 1
    await PesPiece.update({PesPiece.state: "liberee"}).where(PesPiece.id > 0)
    ok = await post_form(
        client, PES, {"perimetre": "mois", "mois": "2026-10"}, from_page=PES, headers=HTMX
    )
    assert ok.status_code == 200 and ok.headers["hx-redirect"].startswith(PES + "/")


async def test_cancelling_a_bordereau_needs_a_reason_and_frees_its_invoices(client):
    await _login(client)
    await _issue(client)
    row = await PesBordereau.select(PesBordereau.id).first()
    path = f"{PES}/{row['id']}/annulation"
    empty = await post_form(client, path, {"motif": ""}, from_page=f"{PES}/{row['id']}")
    assert empty.status_code == 422 and error_summary_links(empty.text) == ["#motif"]
    fragment = await post_form(
        client, path, {"motif": ""}, from_page=f"{PES}/{row['id']}", headers=HTMX
    )
    assert fragment.status_code == 422 and "<html" not in fragment.text
    done = await post_form(client, path, {"motif": "Rejeté par le Trésor"}, from_page=PES)
    assert done.status_code == 303
    page = await client.get(done.headers["location"])
    assert "Annulé le" in soup(page.text).select_one("#bordereau-status").get_text()
    assert soup(page.text).select_one("#bordereau-cancel") is None
    assert (await _issue(client)).status_code == 303
    assert [b["number"] for b in await PesBordereau.select(PesBordereau.number)] == [1, 2]
    assert (
        await post_form(client, f"{PES}/999/annulation", {"motif": "x"}, from_page=PES)
    ).status_code == 404


# --- Who may ---------------------------------------------------------------------------------

PAGES = [
    SETTINGS,
    PES,
    PES + "?perimetre=mois&mois=2026-10",
    PES + "/1",
    PES + "/1/pes.xml",
    PES + "/1/pes.zip",
]


async def test_an_agent_may_not_and_a_family_does_not_see_the_finance_pages(client, other_client):
    await _login(client, role="agent")
    for path in PAGES:
        assert (await client.get(path)).status_code == 403, path
    refused = await post_form(
        client, PES, {"perimetre": "mois", "mois": "2026-10"}, from_page="/agents/"
    )
    assert refused.status_code == 403
    refused = await post_form(client, SETTINGS, CODES, from_page="/agents/")
    assert refused.status_code == 403
    await login_family(other_client)
    for path in PAGES:
        assert (await other_client.get(path)).status_code == 404, path
    assert await PesBordereau.count() == 0


async def test_the_forms_need_the_csrf_token(client):
    await _login(client)
    for path, data in [(PES, {"perimetre": "mois", "mois": "2026-10"}), (SETTINGS, CODES)]:
        response = await client.post(path, data=data)
        assert response.status_code == 403, path
    assert await PesBordereau.count() == 0
