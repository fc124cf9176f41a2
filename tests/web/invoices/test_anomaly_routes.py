"""/agents/facturation/anomalies: a month's billing anomalies, kept from one run to the next,
filtered by state; the régisseur marks them justified (with a note) or corrected, with and
without JavaScript. And the billing page no longer forgets them on a re-run."""

from __future__ import annotations

import datetime as dt

from ecp.audit.tables import AuditLog
from ecp.invoices.billing import run_billing
from ecp.invoices.tables import BillingAnomaly
from tests import factories
from tests.invoices_factories import NOV, make_billed_family, make_commune, mark
from tests.support import error_summary_links, login_family, login_staff, post_form, soup

D = dt.date
URL = "/agents/facturation/anomalies"
PAGE = URL + "?mois=2026-11"


async def _billed(settings, login_client=None):
    commune = await make_commune()
    _, lea = await make_billed_family(commune, code="F00001", days=(2, 3))
    await mark(lea, commune, D(2026, 11, 9), "present")
    await mark(lea, commune, D(2026, 11, 3), "absent")
    await run_billing(NOV, settings=settings)
    if login_client is not None:
        await factories.make_staff(username="regie", role="regisseur", display_name="Régie")
        await login_staff(login_client, "regie")
    return [
        r["id"] for r in await BillingAnomaly.select(BillingAnomaly.id).order_by(BillingAnomaly.day)
    ]


async def _states() -> list[tuple[str, str]]:
    rows = await BillingAnomaly.select(BillingAnomaly.state, BillingAnomaly.note).order_by(
        BillingAnomaly.day
    )
    return [(r["state"], r["note"]) for r in rows]


async def test_the_page_lists_the_month_and_filters_by_state(client, settings):
    ids = await _billed(settings, client)
    response = await client.get(URL)  # opens on the latest month with anomalies to handle
    assert response.status_code == 200 and "<html" in response.text
    page = soup(response.text)
    assert page.h1.get_text() == "Anomalies de facturation"
    assert page.select_one("#filtre-mois option[selected]")["value"] == "2026-11"
    rows = page.select("#anomalies tbody tr")
    assert len(rows) == 2
    assert "réservé mais absent" in rows[0].get_text() and "mardi 3 novembre" in rows[0].get_text()
    assert "présent sans réservation" in rows[1].get_text()
    assert "à traiter" in rows[1].get_text() and "Martin (F00001)" in rows[1].get_text()
    assert [i["value"] for i in page.select("input[name=anomalie]")] == [str(i) for i in ids]
    assert page.select_one("input[name=anomalie]")["id"] == "anomalie"  # the summary's target
    assert "2 à traiter" in page.select_one("#anomaly-list ul").get_text()
    # Linked to the card payments the bank said nothing about.
    assert page.select_one("a[href='/agents/paiements/rapprochement#anomalies-carte']")

    # The same list, filtered, as an htmx fragment.
    fragment = await client.get(PAGE + "&etat=justifiee", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.headers["vary"] == "HX-Request"
    listed = soup(fragment.text)
    assert listed.select_one("#anomaly-list") is not None
    assert listed.select("#anomalies tbody tr") == []
    assert "Aucune anomalie ne correspond" in listed.get_text()
    other_month = soup((await client.get(URL + "?mois=2026-10")).text)
    assert "Aucune anomalie d’octobre 2026" in other_month.select_one("#anomaly-list").get_text()


async def test_a_bad_filter_is_422_and_keeps_the_others(client, settings):
    await _billed(settings, client)
    response = await client.get(URL + "?mois=2026-13&etat=a_traiter&famille=f00001")
    assert response.status_code == 422
    page = soup(response.text)
    assert page.title.get_text().startswith("Erreur : ")
    assert error_summary_links(response.text) == ["#filtre-mois"]
    assert "Choisissez un mois dans la liste." in page.select_one("#filtre-mois-error").text
    assert page.select_one("#filtre-famille")["value"] == "F00001"
    assert len(page.select("#anomalies tbody tr")) == 2  # November's, the family kept
    assert page.select_one("#filtre-etat option[selected]")["value"] == "a_traiter"
    assert len(soup(response.text).select("[id=etat]")) == 1  # the handling form's radio only
    assert (await client.get(URL + "?etat=nimporte")).status_code == 422


async def test_justified_with_a_note_without_javascript(client, settings):
    ids = await _billed(settings, client)
    response = await post_form(
        client,
        URL,
        {
            "anomalie": [str(ids[1])],
            "etat": "justifiee",
            "note": "Accord de la directrice",
            "mois": "2026-11",
            "filtre_etat": "a_traiter",
        },
        from_page=PAGE,
    )
    assert response.status_code == 303
    assert response.headers["location"] == URL + "?mois=2026-11&etat=a_traiter"
    assert await _states() == [("a_traiter", ""), ("justifiee", "Accord de la directrice")]
    page = await client.get(response.headers["location"])
    assert "1 anomalie marquée justifiée." in page.text
    rows = soup(page.text).select("#anomalies tbody tr")
    assert len(rows) == 1 and "réservé mais absent" in rows[0].get_text()
    everything = soup((await client.get(PAGE)).text).select("#anomalies tbody tr")
    assert "justifiée, par Régie le" in everything[1].get_text()
    assert "Accord de la directrice" in everything[1].get_text()
    journal = await AuditLog.select().where(AuditLog.action == "anomalie_traitee")
    assert len(journal) == 1 and journal[0]["actor"] == "Régie"


async def test_corrected_with_htmx_gives_back_the_list_and_its_message(client, settings):
    ids = await _billed(settings, client)
    response = await post_form(
        client,
        URL,
        {"anomalie": [str(i) for i in ids], "etat": "corrigee", "mois": "2026-11"},
        from_page=PAGE,
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and "<html" not in response.text
    fragment = soup(response.text)
    assert "2 anomalies marquées corrigées." in fragment.select_one("#flash").get_text()
    assert [td.get_text() for td in fragment.select("#anomalies tbody tr td strong")] == [
        "corrigée",
        "corrigée",
    ]
    assert await _states() == [("corrigee", ""), ("corrigee", "")]


async def test_bad_input_is_422_with_the_values_kept(client, settings):
    ids = await _billed(settings, client)
    response = await post_form(
        client,
        URL,
        {"anomalie": [str(ids[0])], "etat": "justifiee", "note": "", "mois": "2026-11"},
        from_page=PAGE,
    )
    assert response.status_code == 422
    page = soup(response.text)
    assert page.title.get_text().startswith("Erreur : ")
    assert error_summary_links(response.text) == ["#note"]
    assert "Indiquez pourquoi l’anomalie est justifiée." in page.select_one("#note-error").text
    assert page.select_one(f"input[value='{ids[0]}']").has_attr("checked")
    assert not page.select_one(f"input[value='{ids[1]}']").has_attr("checked")
    assert page.select_one("#etat")["value"] == "justifiee"
    assert page.select_one("#etat").has_attr("checked")
    nothing = await post_form(
        client,
        URL,
        {"etat": "corrigee", "mois": "2026-11"},
        from_page=PAGE,
        headers={"HX-Request": "true"},
    )
    assert nothing.status_code == 422 and "<html" not in nothing.text
    assert error_summary_links(nothing.text) == ["#anomalie"]
    assert await _states() == [("a_traiter", ""), ("a_traiter", "")]


async def test_forged_ids_are_404_csrf_403_and_roles_are_checked(client, other_client, settings):
    ids = await _billed(settings, client)
    for forged in (["999"], ["abc"], [str(ids[0]), "999"]):
        response = await post_form(
            client, URL, {"anomalie": forged, "etat": "corrigee"}, from_page=PAGE
        )
        assert response.status_code == 404
    response = await post_form(
        client, URL, {"anomalie": [str(ids[0])], "etat": "corrigee"}, csrf=False
    )
    assert response.status_code == 403
    assert await _states() == [("a_traiter", ""), ("a_traiter", "")]

    await factories.make_staff(username="agent1", role="agent")
    await login_staff(other_client, "agent1")
    assert (await other_client.get(PAGE)).status_code == 403
    refused = await post_form(
        other_client, URL, {"anomalie": [str(ids[0])], "etat": "corrigee"}, from_page="/agents/"
    )
    assert refused.status_code == 403
    other_client.cookies.clear()
    await login_family(other_client)
    assert (await other_client.get(PAGE)).status_code == 404
    assert await _states() == [("a_traiter", ""), ("a_traiter", "")]


async def test_a_re_run_still_shows_the_months_anomalies_on_the_billing_page(client, settings):
    await _billed(settings, client)
    again = await run_billing(NOV, settings=settings)
    page = soup((await client.get(f"/agents/facturation?run={again['run_id']}")).text)
    progress = page.select_one("#billing-progress")
    assert "Aucune anomalie" not in progress.get_text()
    assert len(progress.select("#billing-anomalies tbody tr")) == 2
    assert progress.select_one(f"a[href='{PAGE}']") is not None
    # All handled: the page says so, rather than « aucune anomalie ».
    ids = [r["id"] for r in await BillingAnomaly.select(BillingAnomaly.id)]
    await post_form(
        client, URL, {"anomalie": [str(i) for i in ids], "etat": "corrigee"}, from_page=PAGE
    )
    progress = soup((await client.get(f"/agents/facturation?run={again['run_id']}")).text)
    text = progress.select_one("#billing-progress").get_text(" ", strip=True)
    assert "Aucune anomalie à vérifier" in text and "2 anomalies de novembre 2026" in text
