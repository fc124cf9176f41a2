"""Semaine type, inscriptions with the monthly recap, printable view and the ICS feed."""

from __future__ import annotations

import datetime as dt

import icalendar

from ecp import clock
from ecp.booking import services
from ecp.booking.tables import Booking, Inscription
from ecp.families.tables import Family
from tests import booking_factories as bf
from tests.support import error_summary_links, login_family, post_form, soup

PATTERN = "/famille/reservations/semaine-type"


async def setup(client, inscribe=None):
    clock.set_now(bf.NOW)
    commune = await bf.make_commune()
    family, kids = await bf.make_family_with_children(commune, inscribe=inscribe)
    await login_family(client)
    return commune, family, kids


def pattern_data(commune, kids, **extra):
    data = {
        "enfants": [str(k.id) for k in kids],
        "du": "07/12/2026",
        "au": "18/12/2026",
        f"jours_{commune.activities['restauration'].id}": ["1", "4"],
    }
    data.update(extra)
    return data


async def test_pattern_page_and_fragment(client):
    await setup(client)
    page = await client.get(PATTERN)
    assert page.status_code == 200 and "<html" in page.text
    assert soup(page.text).select_one("#pattern-form form")["action"] == PATTERN
    fragment = await client.get(PATTERN, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="pattern-form"' in fragment.text
    assert fragment.headers["vary"] == "HX-Request"


async def test_pattern_preview_lists_changes_and_refusals_without_writing(client):
    commune, family, kids = await setup(client)
    from ecp.commune.tables import Closure

    await Closure(
        starts_on=dt.date(2026, 12, 10), ends_on=dt.date(2026, 12, 10), reason="Sortie scolaire"
    ).save()
    response = await post_form(client, PATTERN, pattern_data(commune, kids), from_page=PATTERN)
    assert response.status_code == 200
    text = soup(response.text).get_text(" ", strip=True)
    # Mondays and Thursdays of 7-18 December for two children, less Thursday 10 (closed).
    assert "Changements prévus : 6 réservations à ajouter" in text
    assert "Jours qui ne peuvent pas être réservés (2)" in text
    assert "Lundi 7 décembre : Cantine pour Léa" in text
    assert "Sortie scolaire" in text
    assert await Booking.count() == 0


async def test_pattern_confirm_books_for_two_children_and_redirects(client):
    commune, family, kids = await setup(client)
    response = await post_form(
        client, PATTERN, pattern_data(commune, kids, etape="confirmer"), from_page=PATTERN
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/famille/reservations?semaine=2026-W50"
    page = await client.get(response.headers["location"])
    assert "Semaine type appliquée : 8 réservations ajoutées." in page.text
    assert await Booking.count() == 8


async def test_pattern_errors_are_422_with_summary_and_values_kept(client):
    commune, family, kids = await setup(client)
    response = await post_form(client, PATTERN, {"du": "32/13/2026", "au": ""}, from_page=PATTERN)
    assert response.status_code == 422
    assert soup(response.text).title.string.startswith("Erreur : ")
    assert error_summary_links(response.text) == ["#enfants", "#jours", "#du", "#au"]
    assert soup(response.text).select_one("#du")["value"] == "32/13/2026"
    assert await Booking.count() == 0


async def test_pattern_with_another_familys_child_is_404(client):
    commune, family, kids = await setup(client)
    other, (awa,) = await bf.make_family_with_children(
        commune, code="F00002", name="Diallo", children=(("Awa", "CM2"),)
    )
    response = await post_form(
        client, PATTERN, pattern_data(commune, [awa], etape="confirmer"), from_page=PATTERN
    )
    assert response.status_code == 404
    assert await Booking.count() == 0


async def test_pattern_without_csrf_is_403(client):
    commune, family, kids = await setup(client)
    await client.get(PATTERN)
    response = await client.post(PATTERN, data=pattern_data(commune, kids, etape="confirmer"))
    assert response.status_code == 403
    assert await Booking.count() == 0


async def test_inscriptions_page_lists_statuses_and_month_recap(client):
    commune, family, (lea, hugo) = await setup(client, inscribe=("restauration",))
    await bf.inscribe_child(commune, hugo, "garderie_soir", status="en_attente")
    await services.book(
        lea.id, commune.activities["restauration"].id, bf.MONDAY, family_id=family.id
    )
    response = await client.get("/famille/inscriptions?mois=2026-12")
    assert response.status_code == 200
    text = soup(response.text).get_text(" ", strip=True)
    assert "Garderie du soir : en attente" in text
    assert "Restauration scolaire : validée" in text
    assert "Récapitulatif de décembre 2026" in text
    assert "Léa – Cantine" in text and "1 jour réservé" in text
    printable = await client.get("/famille/inscriptions/imprimer?mois=2026-12")
    assert printable.status_code == 200 and "Léa – Cantine" in printable.text
    assert (await client.get("/famille/inscriptions?mois=2026-14")).status_code == 404


async def test_family_requests_an_inscription(client):
    commune, family, (lea, hugo) = await setup(client, inscribe=())
    response = await post_form(
        client,
        "/famille/inscriptions",
        {
            "enfant": lea.id,
            "activite": commune.activities["etude"].id
            if "etude" in commune.activities
            else commune.activities["garderie_soir"].id,
        },
        from_page="/famille/inscriptions",
    )
    assert response.status_code == 303
    page = await client.get("/famille/inscriptions")
    assert "Demande d’inscription de Léa" in page.text
    assert await Inscription.count().where(Inscription.status == "en_attente") == 1


async def test_inscription_request_errors_and_other_family(client):
    commune, family, (lea, hugo) = await setup(client, inscribe=())
    response = await post_form(
        client,
        "/famille/inscriptions",
        {"enfant": lea.id, "activite": ""},
        from_page="/famille/inscriptions",
    )
    assert response.status_code == 422
    assert error_summary_links(response.text) == [f"#activite-{lea.id}"]
    other, (awa,) = await bf.make_family_with_children(
        commune, code="F00002", name="Diallo", children=(("Awa", "CM2"),), inscribe=()
    )
    response = await post_form(
        client,
        "/famille/inscriptions",
        {"enfant": awa.id, "activite": commune.activities["restauration"].id},
        from_page="/famille/inscriptions",
    )
    assert response.status_code == 404
    assert await Inscription.count() == 0


async def test_ics_feed_parses_and_revoked_token_is_404(client):
    commune, family, (lea, hugo) = await setup(client)
    await services.book(
        lea.id, commune.activities["restauration"].id, bf.MONDAY, family_id=family.id
    )
    response = await post_form(
        client,
        "/famille/inscriptions/calendrier",
        {"action": "creer"},
        from_page="/famille/inscriptions",
    )
    assert response.status_code == 200
    url = soup(response.text).select_one(".ics-url").get_text(strip=True)
    path = url.split("testserver.local", 1)[1]
    token = path.removeprefix("/calendrier/").removesuffix(".ics")
    stored = await Family.select(Family.ics_token_hash).where(Family.id == family.id).first()
    assert stored["ics_token_hash"] and token not in stored["ics_token_hash"]
    feed = await client.get(path)
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    parsed = icalendar.Calendar.from_ical(feed.content)
    events = list(parsed.walk("VEVENT"))
    assert len(events) == 1
    assert str(events[0]["summary"]) == "Restauration scolaire – Léa"
    assert events[0].decoded("dtstart") == dt.datetime(2026, 12, 7, 11, 30, tzinfo=clock.PARIS)
    # Regenerating invalidates the old address; revoking kills the new one.
    again = await post_form(
        client,
        "/famille/inscriptions/calendrier",
        {"action": "creer"},
        from_page="/famille/inscriptions",
        headers={"HX-Request": "true"},
    )
    assert "<html" not in again.text and 'id="ics-panel"' in again.text
    assert (await client.get(path)).status_code == 404
    new_path = (
        soup(again.text).select_one(".ics-url").get_text(strip=True).split("testserver.local", 1)[1]
    )
    assert (await client.get(new_path)).status_code == 200
    revoked = await post_form(
        client,
        "/famille/inscriptions/calendrier",
        {"action": "revoquer"},
        from_page="/famille/inscriptions",
    )
    assert revoked.status_code == 303
    assert (await client.get(new_path)).status_code == 404
    assert (await client.get("/calendrier/n-importe-quoi.ics")).status_code == 404


async def test_ics_post_without_csrf_is_403(client):
    await setup(client)
    await client.get("/famille/inscriptions")
    response = await client.post("/famille/inscriptions/calendrier", data={"action": "creer"})
    assert response.status_code == 403
