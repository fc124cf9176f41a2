"""« Mon enfant est malade aujourd'hui » from the Accueil: the confirmation names the child, the
activities and the cut-off; the declaration covers the whole day in one transaction; it can be
taken back until the cut-off; after it, the service's phone number instead of the button."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.booking.tables import Booking, Slot
from tests import booking_factories as bf
from tests.support import csrf_token, login_family, post_form, soup
from tests.web.pages.home_support import PHONE, TODAY, book_rows, make_martins

HX = {"HX-Request": "true"}


async def _states(child_id: int) -> dict[str, str]:
    rows = await Booking.select(Booking.state, Booking.activity.code.as_alias("code")).where(
        (Booking.child == child_id) & (Booking.day == TODAY)
    )
    return {r["code"]: r["state"] for r in rows}


async def _places(commune, code: str) -> int:
    row = (
        await Slot.select(Slot.booked)
        .where((Slot.activity == commune.activities[code].id) & (Slot.day == TODAY))
        .first()
    )
    return row["booked"] if row else 0


def _text(html: str) -> str:
    return soup(html).get_text(" ", strip=True).replace("\xa0", " ")


async def test_home_offers_one_button_per_child_booked_today(client):
    commune, family, lea, hugo = await make_martins()
    await login_family(client)
    page = soup((await client.get("/famille/")).text)
    section = page.find(id="malade")
    assert section.find("h2").get_text(strip=True) == "Mon enfant est malade aujourd’hui"
    card = section.find(id=f"malade-{lea.id}")
    link = card.find("a", class_="button")
    assert link.get_text(strip=True) == "Léa est malade aujourd’hui"
    assert link["href"] == f"/famille/malade/{lea.id}"
    assert link["hx-get"] == link["href"] and link["hx-target"] == f"#malade-{lea.id}"
    assert "Cantine, Garderie soir" in card.get_text(" ") and "avant 09:00" in card.get_text(" ")
    assert section.find(id=f"malade-{hugo.id}") is None  # nothing booked today


async def test_confirmation_names_child_activities_and_cutoff(client):
    commune, family, lea, hugo = await make_martins()
    await login_family(client)
    page = await client.get(f"/famille/malade/{lea.id}")
    assert page.status_code == 200
    html = soup(page.text)
    assert html.title.get_text().startswith("Confirmer l’absence de Léa")
    text = _text(page.text)
    assert "Léa est malade aujourd’hui, mardi 1er décembre" in text
    assert [li.get_text() for li in html.find(id=f"malade-{lea.id}").find("ul").find_all("li")] == [
        "Cantine",
        "Garderie soir",
    ]
    assert "Vous pourrez annuler cette déclaration jusqu’à 09:00" in text
    form = html.find("form", action=f"/famille/malade/{lea.id}")
    assert form.find("input", attrs={"name": "jour"})["value"] == "2026-12-01"
    assert form.find("button").get_text(" ", strip=True) == "Confirmer\xa0: Léa est malade"
    assert await _states(lea.id) == {"restauration": "reservee", "garderie_soir": "reservee"}

    fragment = await client.get(f"/famille/malade/{lea.id}", headers=HX)
    assert fragment.headers["vary"] == "HX-Request"
    piece = soup(fragment.text)
    assert piece.find("html") is None and piece.find("title").get_text().startswith(
        "Confirmer l’absence de Léa"
    )
    assert piece.find(attrs={"data-focus": True}).name == "h3"


async def test_declaring_without_javascript_covers_the_whole_day_and_redirects(client):
    commune, family, lea, hugo = await make_martins()
    await login_family(client)
    response = await post_form(
        client, f"/famille/malade/{lea.id}", {"jour": "2026-12-01"}, from_page="/famille/"
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/famille#malade-{lea.id}"
    assert await _states(lea.id) == {"restauration": "malade", "garderie_soir": "malade"}
    assert await _places(commune, "restauration") == 0  # the place is freed
    home = await client.get("/famille/")
    text = _text(home.text)
    assert (
        "Absence pour maladie signalée pour Léa aujourd’hui (Cantine et Garderie soir) : "
        "la journée ne sera pas facturée. Vous pouvez annuler la déclaration jusqu’à 09:00."
    ) in text
    card = soup(home.text).find(id=f"malade-{lea.id}")
    undo = card.find("form", action=f"/famille/malade/{lea.id}/annuler")
    assert undo.find("button").get_text(" ", strip=True) == "Annuler la déclaration de Léa"

    # Taken back (no JavaScript): both bookings again, places taken back.
    response = await post_form(
        client, f"/famille/malade/{lea.id}/annuler", {"jour": "2026-12-01"}, from_page="/famille/"
    )
    assert response.status_code == 303
    assert await _states(lea.id) == {"restauration": "reservee", "garderie_soir": "reservee"}
    assert await _places(commune, "restauration") == 1
    text = _text((await client.get("/famille/")).text)
    assert "Déclaration annulée : les réservations de Léa aujourd’hui sont rétablies" in text


async def test_declaring_with_htmx_swaps_the_card_announces_and_focuses(client):
    commune, family, lea, hugo = await make_martins()
    await login_family(client)
    token = await csrf_token(client, "/famille/")
    response = await client.post(
        f"/famille/malade/{lea.id}",
        data={"jour": "2026-12-01", "_csrf_token": token},
        headers=HX,
    )
    assert response.status_code == 200
    piece = soup(response.text)
    card = piece.find(id=f"malade-{lea.id}")
    assert card is not None and piece.find("html") is None
    focus = piece.find(attrs={"data-focus": True})
    assert focus.get_text().startswith("Absence pour maladie signalée pour Léa aujourd’hui")
    flash = piece.find(id="flash")
    assert flash["hx-swap-oob"] == "innerHTML" and flash["role"] == "status"
    assert "Absence pour maladie signalée pour Léa" in flash.get_text()
    assert piece.find("title").get_text().startswith("Accueil")
    assert card.find("form", action=f"/famille/malade/{lea.id}/annuler") is not None
    assert await _states(lea.id) == {"restauration": "malade", "garderie_soir": "malade"}

    undone = await client.post(
        f"/famille/malade/{lea.id}/annuler",
        data={"jour": "2026-12-01", "_csrf_token": token},
        headers=HX,
    )
    assert undone.status_code == 200
    piece = soup(undone.text)
    assert piece.find(attrs={"data-focus": True}).get_text().startswith("Déclaration annulée")
    assert piece.find("a", class_="button").get_text(strip=True) == "Léa est malade aujourd’hui"
    assert await _states(lea.id) == {"restauration": "reservee", "garderie_soir": "reservee"}


async def test_bad_day_and_nothing_booked_come_back_422_in_french(client):
    commune, family, lea, hugo = await make_martins()
    await login_family(client)
    for value, message in (
        ("2026-11-30", "Une absence pour maladie se déclare pour aujourd’hui seulement"),
        ("n'importe", "Le jour de l’absence est illisible"),
        ("", "Le jour de l’absence manque"),
    ):
        response = await post_form(
            client, f"/famille/malade/{lea.id}", {"jour": value}, from_page="/famille/"
        )
        assert response.status_code == 422, value
        html = soup(response.text)
        assert html.title.get_text().startswith("Erreur : Confirmer l’absence de Léa")
        summary = html.find(class_="error-summary")
        assert message in summary.get_text() and summary.find("a")["href"] == "#jour"
        assert html.find(id="jour") is not None and message in html.find(id="jour").get_text()
    assert await _states(lea.id) == {"restauration": "reservee", "garderie_soir": "reservee"}

    response = await post_form(
        client, f"/famille/malade/{hugo.id}", {"jour": "2026-12-01"}, from_page="/famille/"
    )
    assert response.status_code == 422
    assert "Hugo n’a aucune activité réservée aujourd’hui." in _text(response.text)

    # htmx: the card comes back with the error, focused through the summary.
    token = await csrf_token(client, "/famille/")
    response = await client.post(
        f"/famille/malade/{lea.id}", data={"jour": "2026-11-30", "_csrf_token": token}, headers=HX
    )
    assert response.status_code == 422
    piece = soup(response.text)
    assert piece.find("html") is None and piece.find(class_="error-summary") is not None
    assert piece.find("title").get_text().startswith("Erreur : ")


async def test_after_the_cutoff_the_phone_number_replaces_the_button(client):
    commune, family, lea, hugo = await make_martins()
    await login_family(client)
    token = await csrf_token(client, "/famille/")
    await client.post(
        f"/famille/malade/{lea.id}", data={"jour": "2026-12-01", "_csrf_token": token}
    )
    await book_rows(commune, hugo, "restauration", [TODAY])
    clock.set_now(dt.datetime(2026, 12, 1, 9, 1, tzinfo=clock.PARIS))
    await login_family(client)  # an hour later: the session has expired meanwhile
    page = soup((await client.get("/famille/")).text)
    hugo_card = page.find(id=f"malade-{hugo.id}")
    assert hugo_card.find("a", class_="button") is None
    assert "Il est plus de 09:00" in hugo_card.get_text(" ")
    assert hugo_card.find("a", href="tel:0123456789").get_text() == PHONE
    lea_card = page.find(id=f"malade-{lea.id}")
    assert lea_card.find("form") is None  # no undo after the cut-off
    assert "appelez le service au" in lea_card.get_text(" ")

    response = await post_form(
        client, f"/famille/malade/{hugo.id}", {"jour": "2026-12-01"}, from_page="/famille/"
    )
    assert response.status_code == 422
    assert "Une absence pour maladie se signale le jour même, avant 09:00." in _text(response.text)
    assert PHONE in response.text
    response = await post_form(
        client, f"/famille/malade/{lea.id}/annuler", {"jour": "2026-12-01"}, from_page="/famille/"
    )
    assert response.status_code == 422
    assert "Après 09:00, seul le service peut annuler la déclaration." in _text(response.text)
    assert await _states(lea.id) == {"restauration": "malade", "garderie_soir": "malade"}
    assert await _states(hugo.id) == {"restauration": "reservee"}


async def test_undo_when_the_place_was_given_away_changes_nothing(client):
    commune, family, lea, hugo = await make_martins(capacity=1)
    await login_family(client)
    token = await csrf_token(client, "/famille/")
    await client.post(
        f"/famille/malade/{lea.id}", data={"jour": "2026-12-01", "_csrf_token": token}
    )
    other, (awa,) = await bf.make_family_with_children(
        commune, code="F00002", name="Diallo", children=(("Awa", "CE1"),)
    )
    await book_rows(commune, awa, "restauration", [TODAY])  # the freed place, given away
    await Slot.update({Slot.booked: 1}).where(
        (Slot.activity == commune.activities["restauration"].id) & (Slot.day == TODAY)
    )
    response = await post_form(
        client, f"/famille/malade/{lea.id}/annuler", {"jour": "2026-12-01"}, from_page="/famille/"
    )
    assert response.status_code == 422
    assert "La place de Léa en Cantine a été donnée à un autre enfant : appelez le service." in (
        _text(response.text)
    )
    assert await _states(lea.id) == {"restauration": "malade", "garderie_soir": "malade"}


async def test_csrf_and_other_family_are_refused(client):
    commune, family, lea, hugo = await make_martins()
    other, (awa,) = await bf.make_family_with_children(
        commune, code="F00002", name="Diallo", children=(("Awa", "CE1"),), password="autre-mdp-1"
    )
    await book_rows(commune, awa, "restauration", [TODAY])
    await login_family(client)
    refused = await post_form(
        client, f"/famille/malade/{lea.id}", {"jour": "2026-12-01"}, csrf=False
    )
    assert refused.status_code == 403
    assert await _states(lea.id) == {"restauration": "reservee", "garderie_soir": "reservee"}
    assert (await client.get(f"/famille/malade/{awa.id}")).status_code == 404
    for path in (f"/famille/malade/{awa.id}", f"/famille/malade/{awa.id}/annuler"):
        response = await post_form(client, path, {"jour": "2026-12-01"}, from_page="/famille/")
        assert response.status_code == 404, path
    assert await _states(awa.id) == {"restauration": "reservee"}
    assert (await client.get("/famille/malade/99999999")).status_code == 404
