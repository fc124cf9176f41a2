"""Paramètres → fermetures over HTTP: a closure that hits bookings is previewed (the families,
children, days), then confirmed; without JavaScript (pages, 303) and with htmx (the section
swapped, HX-Redirect); bad input is 422 with the values kept; CSRF and the administrator's role
are required. After it, the family's calendar says « Fermé », the effectifs and the kitchen
count leave the children out; removing it names the families and rebooks nothing."""

from __future__ import annotations

from ecp.booking.tables import Booking
from ecp.commune.tables import Closure
from ecp.mail.tables import OutboxEmail
from tests import booking_factories as bf
from tests.conftest import make_client
from tests.integration.backoffice.closure_commune import MONDAY, TUESDAY, make_closure_commune
from tests.staff_factories import staff_client
from tests.support import error_summary_links, login_family, post_form, soup

BASE = "/agents/parametres"
ADD = f"{BASE}/fermetures"
HTMX = {"HX-Request": "true"}


def strike(c, **more) -> dict:
    return {
        "fermeture_du": "07/12/2026",
        "fermeture_au": "08/12/2026",
        "motif": "Grève",
        "ecole": str(c.commune.school.id),
        "activite": "",
        **more,
    }


def hidden_fields(form) -> dict:
    return {i["name"]: i.get("value", "") for i in form.select("input[type=hidden]")}


async def closed_count() -> int:
    return await Booking.count().where(Booking.state == "fermee")


async def test_the_preview_lists_the_bookings_then_the_confirmation_cancels_them(client):
    c = await make_closure_commune()
    await staff_client(client)
    preview = await post_form(client, ADD, strike(c), from_page=BASE)
    assert preview.status_code == 200
    page = soup(preview.text)
    assert page.select_one("h1").get_text(strip=True) == (
        "Vérifier la fermeture avant de la confirmer"
    )
    assert page.select_one("#closure-preview-title").get_text(strip=True) == (
        "Cette fermeture annule 6 réservations"
    )
    text = " ".join(page.select_one("#closures").get_text(" ", strip=True).split())
    assert "6 réservations de 3 enfants , 2 familles , sur 2 jours" in text
    families = [
        " ".join(li.find("a").get_text(" ", strip=True).split())
        for li in page.select("ul.closure-impact > li")
    ]
    assert families == ["Durand (F00002)", "Martin (F00001)"]
    assert (
        "Léa Martin : lundi 7 décembre (Cantine, Garderie soir) ; mardi 8 décembre (Cantine)"
        in (text)
    )
    assert "Nina" not in text
    # Nothing is written before the confirmation.
    assert await Closure.count() == 0 and await closed_count() == 0
    assert await OutboxEmail.count() == 0
    confirm = page.select_one("form:has(input[name=etape][value=confirmer])")
    data = hidden_fields(confirm)
    assert data["fermeture_du"] == "2026-12-07" and data["ecole"] == str(c.commune.school.id)
    assert confirm.select_one("button").get_text(strip=True) == (
        "Confirmer la fermeture et annuler les 6 réservations"
    )
    data.pop("_csrf_token")
    done = await post_form(client, ADD, data, from_page=BASE)
    assert done.status_code == 303
    assert done.headers["location"] == f"{BASE}#closures-title"
    follow = await client.get(done.headers["location"])
    assert (
        "La fermeture est enregistrée : 6 réservations annulées pour 2 familles, "
        "2 familles prévenues par courriel." in follow.text
    )
    assert await Closure.count() == 1 and await closed_count() == 6
    assert await OutboxEmail.count() == 2


async def test_the_preview_and_the_confirmation_by_htmx(client):
    c = await make_closure_commune()
    await staff_client(client)
    preview = await post_form(client, ADD, strike(c), from_page=BASE, headers=HTMX)
    assert preview.status_code == 200 and "<html" not in preview.text
    assert preview.headers["vary"] == "HX-Request"
    section = soup(preview.text).select_one("section#closures")
    assert section is not None and section.select_one("[data-focus]").name == "h2"
    confirm = section.select_one("form:has(input[name=etape][value=confirmer])")
    assert confirm["hx-target"] == "#closures"
    data = hidden_fields(confirm)
    data.pop("_csrf_token")
    done = await post_form(client, ADD, data, from_page=BASE, headers=HTMX)
    # The section redrawn with the new closure and the message (out of band, in #flash).
    assert done.status_code == 200 and "<html" not in done.text
    result = soup(done.text)
    assert result.select_one("section#closures #closures-title[data-focus]") is not None
    assert "Grève" in result.select_one(".closure-list").get_text()
    assert (
        result.select_one("#flash[hx-swap-oob]")
        .get_text(strip=True)
        .startswith("La fermeture est enregistrée : 6 réservations annulées")
    )
    assert await closed_count() == 6


async def test_back_to_the_form_keeps_the_values(client):
    c = await make_closure_commune()
    await staff_client(client)
    back = await post_form(client, ADD, strike(c, etape="modifier"), from_page=BASE)
    assert back.status_code == 200
    form = soup(back.text).select_one("#closure-form")
    assert form.select_one("#motif")["value"] == "Grève"
    assert form.select_one("#fermeture_du")["value"] == "07/12/2026"
    assert form.select_one("#ecole option[selected]")["value"] == str(c.commune.school.id)
    fragment = await post_form(
        client, ADD, strike(c, etape="modifier"), from_page=BASE, headers=HTMX
    )
    assert "<html" not in fragment.text and 'id="closures"' in fragment.text
    assert await Closure.count() == 0


async def test_bad_input_is_422_with_the_values_kept(client):
    c = await make_closure_commune()
    await staff_client(client)
    data = strike(c, fermeture_au="01/12/2026", motif="", etape="confirmer")
    bad = await post_form(client, ADD, data, from_page=BASE)
    assert bad.status_code == 422
    assert error_summary_links(bad.text) == ["#fermeture_au", "#motif"]
    s = soup(bad.text)
    assert s.select_one("#fermeture_au")["value"] == "01/12/2026"
    assert (
        "Le dernier jour ne peut pas précéder le premier."
        in s.select_one("#fermeture_au-error").get_text()
    )
    assert s.title.get_text().startswith("Erreur")
    fragment = await post_form(client, ADD, data, from_page=BASE, headers=HTMX)
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert soup(fragment.text).select_one("section#closures .error-summary") is not None
    unknown = await post_form(client, ADD, strike(c, ecole="99999"), from_page=BASE)
    assert unknown.status_code == 422 and error_summary_links(unknown.text) == ["#ecole"]
    assert await Closure.count() == 0 and await closed_count() == 0


async def test_closures_need_csrf_and_an_administrator(app, client, other_client):
    c = await make_closure_commune()
    await staff_client(client)
    no_token = await client.post(ADD, data=strike(c, etape="confirmer"))
    assert no_token.status_code == 403
    await staff_client(other_client, "agent")
    for path in (ADD, f"{ADD}/1/supprimer"):
        agent = await post_form(
            other_client, path, strike(c, etape="confirmer"), from_page="/agents/"
        )
        assert agent.status_code == 403
    async with make_client(app, "127.0.0.3") as family:
        await login_family(family)
        as_family = await post_form(family, ADD, strike(c, etape="confirmer"))
        assert as_family.status_code == 404
    assert await Closure.count() == 0 and await closed_count() == 0


async def test_a_family_sees_fermee_and_the_effectifs_and_kitchen_leave_them_out(
    client, other_client
):
    c = await make_closure_commune()
    await staff_client(client)
    await post_form(client, ADD, strike(c, etape="confirmer"), from_page=BASE)
    await login_family(other_client)
    week = soup((await other_client.get(f"/famille/reservations?semaine={bf.WEEK}")).text)
    # Every activity of Monday and Tuesday is closed: each day's single row says so, for both
    # children, although they were booked.
    for table in week.select("table.week-table"):
        for day in ("Lundi 7 décembre", "Mardi 8 décembre"):
            body = next(t for t in table.select("tbody") if day in t.get_text())
            assert " ".join(body.get_text(" ", strip=True).split()) == (
                f"{day} Toutes les activités Fermé Grève"
            )
    # Effectifs of Jules-Ferry on Monday: nobody; the kitchen: 0 meals; Pasteur unchanged.
    url = f"/agents/effectifs?jour={MONDAY.isoformat()}&ecole={c.commune.school.id}"
    page = soup((await client.get(url)).text)
    assert page.select("li.pointage-child") == []
    assert "0 repas" in page.get_text(" ", strip=True)
    # Every school: the lists' sizes, Pasteur's only; its list names Nina.
    everyone = soup((await client.get(f"/agents/effectifs?jour={MONDAY.isoformat()}")).text)
    rows = everyone.select("#overview-title ~ div tbody tr")
    assert [r.select_one("th").get_text(" ", strip=True).split(" : ")[0] for r in rows] == [
        "École Pasteur"
    ]
    pasteur = soup((await client.get(rows[0].select_one("a")["href"])).text)
    assert [
        " ".join(li.select_one("legend").get_text(" ", strip=True).split())
        for li in pasteur.select("li.pointage-child")
    ] == ["Petit Nina CE2"]
    csv = await client.get(f"/agents/effectifs.csv?jour={MONDAY.isoformat()}")
    assert "Martin" not in csv.text and "Nina" in csv.text
    # The family's record in the back office labels the booking.
    record = await client.get(f"/agents/familles/{c.martin.id}")
    assert "fermé (fermeture du service)" in record.text


async def test_removing_a_closure_names_its_families_and_rebooks_nothing(client):
    c = await make_closure_commune()
    await staff_client(client)
    await post_form(client, ADD, strike(c, etape="confirmer"), from_page=BASE)
    closure = await Closure.select(Closure.id).first()
    url = f"{ADD}/{closure['id']}/supprimer"
    shown = await post_form(client, url, {}, from_page=BASE)
    assert shown.status_code == 200
    page = soup(shown.text)
    assert page.select_one("h1").get_text(strip=True) == "Supprimer une fermeture"
    assert "Aucune ne sera rétablie" in page.get_text()
    assert [li.find("a").get_text(strip=True) for li in page.select("ul.closure-impact > li")] == [
        "Durand (F00002)",
        "Martin (F00001)",
    ]
    fragment = await post_form(client, url, {}, from_page=BASE, headers=HTMX)
    assert "<html" not in fragment.text and 'id="closure-removal-title"' in fragment.text
    assert await Closure.count() == 1
    done = await post_form(client, url, {"confirmer": "oui"}, from_page=BASE)
    assert done.status_code == 303
    follow = await client.get(done.headers["location"])
    assert (
        "La fermeture est supprimée. Aucune réservation n’est rétablie : 2 familles avaient "
        "réservé ces jours-là (Durand (F00002), Martin (F00001)) ; elles peuvent réserver à "
        "nouveau." in follow.text
    )
    assert await Closure.count() == 0 and await closed_count() == 6
    assert (await post_form(client, url, {"confirmer": "oui"}, from_page=BASE)).status_code == 404


async def test_a_closure_without_bookings_is_added_and_removed_at_once(client):
    c = await make_closure_commune()
    await staff_client(client)
    data = strike(c, fermeture_du="14/12/2026", fermeture_au="", etape="")
    done = await post_form(client, ADD, data, from_page=BASE, headers=HTMX)
    assert done.status_code == 200
    assert "Aucune réservation n’était prise ces jours-là." in done.text
    assert "Le 14/12/2026 : Grève" in done.text
    closure = await Closure.select(Closure.id).first()
    gone = await post_form(
        client, f"{ADD}/{closure['id']}/supprimer", {}, from_page=BASE, headers=HTMX
    )
    assert gone.status_code == 200 and "La fermeture est supprimée." in gone.text
    assert "Aucune fermeture exceptionnelle récente ou à venir." in gone.text
    assert await Closure.count() == 0
    no_js = await post_form(client, ADD, data, from_page=BASE)
    assert no_js.status_code == 303


async def test_a_closed_cantine_shows_fermee_in_its_cell_beside_the_garderie(client, other_client):
    c = await make_closure_commune()
    await staff_client(client)
    data = strike(c, activite=str(c.activity("restauration")), etape="confirmer")
    await post_form(client, ADD, data, from_page=BASE)
    await login_family(other_client)
    week = soup((await other_client.get(f"/famille/reservations?semaine={bf.WEEK}")).text)
    cantine = week.select_one(f"#cell-{c.lea.id}-{c.activity('restauration')}-{MONDAY}")
    garderie = week.select_one(f"#cell-{c.lea.id}-{c.activity('garderie_soir')}-{MONDAY}")
    assert cantine.select_one(".cell-state").get_text(strip=True) == "Fermé"
    assert cantine.select_one(".cell-note").get_text(strip=True) == "Grève"
    assert "Réservé" in garderie.get_text()
    tuesday = week.select_one(f"#cell-{c.hugo.id}-{c.activity('restauration')}-{TUESDAY}")
    assert tuesday.select_one(".cell-state").get_text(strip=True) == "Fermé"  # was ill
    # The month's recap on the inscriptions page.
    recap = soup((await other_client.get("/famille/inscriptions?mois=2026-12")).text)
    line = next(li for li in recap.select("#recap li.card") if "Léa – Cantine" in li.get_text())
    assert "2 jours fermés par le service (non facturés)" in line.get_text(" ", strip=True)
