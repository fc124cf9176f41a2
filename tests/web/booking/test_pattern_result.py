"""Semaine type confirmed when part or all of it can no longer be booked: a warning that says how
many days were booked, how many were not and why, day by day (never a green « 0 réservation »)."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.booking import services
from ecp.booking.tables import Booking
from ecp.booking.views import pattern_result_message
from tests import booking_factories as bf
from tests.support import login_family, post_form, soup

PATTERN = "/famille/reservations/semaine-type"


async def setup(client, capacity=1):
    """Léa alone, the canteen with one place, taken on Monday 7 December by another child."""
    clock.set_now(bf.NOW)
    commune = await bf.make_commune(capacity=capacity)
    family, (lea,) = await bf.make_family_with_children(commune, children=(("Léa", "CE1"),))
    (other,) = await bf.many_children(commune, 1, "restauration")
    await services.book(
        other.id,
        commune.activities["restauration"].id,
        bf.MONDAY,
        family_id=await bf.child_family(other.id),
    )
    await login_family(client)
    return commune, lea


def confirm(commune, lea, du="07/12/2026", au="07/12/2026"):
    return {
        "enfants": [str(lea.id)],
        "du": du,
        "au": au,
        "etape": "confirmer",
        f"jours_{commune.activities['restauration'].id}": ["1"],
    }


def notice_text(html: str) -> str:
    section = soup(html).select_one("#pattern-result")
    assert section is not None, "no result notice"
    return section.get_text(" ", strip=True)


async def test_nothing_booked_is_a_warning_with_the_reason_no_js(client):
    commune, lea = await setup(client)
    response = await post_form(client, PATTERN, confirm(commune, lea), from_page=PATTERN)
    assert response.status_code == 409
    assert "<html" in response.text
    page = soup(response.text)
    section = page.select_one("#pattern-result")
    assert "notice-warning" in section["class"] and "notice-success" not in response.text
    assert section["role"] == "alert" and section.has_attr("autofocus")
    text = notice_text(response.text)
    assert (
        "Semaine type non appliquée : aucune réservation ajoutée, 1 jour n’a pas pu être réservé."
    ) in text
    assert "Lundi 7 décembre : Cantine pour Léa – complet" in text
    assert "n’ont pas pu" not in text and "0 réservation ajoutée" not in text
    assert page.select_one("#pattern-result a")["href"] == "/famille/reservations?semaine=2026-W50"
    # The form is still there with the values kept, to choose other days: the same day, in
    # the ISO form a native date input needs.
    assert page.select_one("#du")["type"] == "date"
    assert page.select_one("#du")["value"] == "2026-12-07"
    assert await Booking.count().where(Booking.child == lea.id) == 0


async def test_nothing_booked_htmx_fragment_shows_and_focuses_the_warning(client):
    commune, lea = await setup(client)
    response = await post_form(
        client, PATTERN, confirm(commune, lea), from_page=PATTERN, headers={"HX-Request": "true"}
    )
    assert response.status_code == 409
    assert "<html" not in response.text and "hx-redirect" not in response.headers
    root = soup(response.text).select_one("#pattern-form")
    section = root.select_one("#pattern-result")
    assert section.has_attr("data-focus") and section["tabindex"] == "-1"
    assert "1 jour n’a pas pu être réservé" in section.get_text(" ", strip=True)


async def test_partly_booked_says_both_counts_and_lists_the_refused_days(client):
    commune, lea = await setup(client)
    # Mondays 7 and 14 December, and Thursday 10 closed: 14 booked, 7 full, 10 closed.
    from ecp.commune.tables import Closure

    await Closure(
        starts_on=dt.date(2026, 12, 10), ends_on=dt.date(2026, 12, 10), reason="Sortie scolaire"
    ).save()
    data = confirm(commune, lea, au="18/12/2026")
    data[f"jours_{commune.activities['restauration'].id}"] = ["1", "4"]
    response = await post_form(client, PATTERN, data, from_page=PATTERN)
    assert response.status_code == 200
    text = notice_text(response.text)
    assert (
        "Semaine type appliquée en partie : 2 réservations ajoutées, "
        "2 jours n’ont pas pu être réservés."
    ) in text
    assert "Les jours suivants n’ont pas pu être réservés" in text
    assert "Lundi 7 décembre : Cantine pour Léa – complet" in text
    assert "Jeudi 10 décembre : Cantine pour Léa – fermé (Sortie scolaire)" in text
    assert "notice-success" not in response.text
    days = {r["day"] for r in await Booking.select(Booking.day).where(Booking.child == lea.id)}
    assert days == {dt.date(2026, 12, 14), dt.date(2026, 12, 17)}


async def test_all_booked_still_redirects_with_success_singular(client):
    commune, lea = await setup(client, capacity=0)
    data = confirm(commune, lea, du="14/12/2026", au="14/12/2026")
    response = await post_form(client, PATTERN, data, from_page=PATTERN)
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    flash = soup(page.text).select_one("#flash .notice-success").get_text(strip=True)
    assert flash == "Semaine type appliquée : 1 réservation ajoutée."


async def test_all_booked_htmx_is_a_client_redirect(client):
    commune, lea = await setup(client, capacity=0)
    data = confirm(commune, lea, du="14/12/2026", au="14/12/2026")
    response = await post_form(
        client, PATTERN, data, from_page=PATTERN, headers={"HX-Request": "true"}
    )
    assert response.headers["hx-redirect"] == "/famille/reservations?semaine=2026-W51"


async def test_missing_inscription_and_deadline_reasons_in_the_preview(client):
    clock.set_now(bf.NOW)
    commune = await bf.make_commune()
    family, (lea,) = await bf.make_family_with_children(
        commune, children=(("Léa", "CE1"),), inscribe=("restauration",)
    )
    await login_family(client)
    soir = commune.activities["garderie_soir"].id
    # Today (Monday 30 November) is past the deadline; garderie du soir has no inscription.
    data = {
        "enfants": [str(lea.id)],
        "du": "30/11/2026",
        "au": "30/11/2026",
        f"jours_{commune.activities['restauration'].id}": ["1"],
        f"jours_{soir}": ["1"],
    }
    response = await post_form(client, PATTERN, data, from_page=PATTERN)
    text = soup(response.text).select_one("#pattern-form").get_text(" ", strip=True)
    assert "Lundi 30 novembre : Cantine pour Léa – délai dépassé" in text
    assert "Lundi 30 novembre : Garderie soir pour Léa – inscription manquante" in text
    assert "Jours qui ne peuvent pas être réservés (2)" in text
    assert "0 réservation à ajouter" in text


def test_result_messages_agree_with_their_counts():
    assert pattern_result_message(0, 1) == (
        "Semaine type non appliquée : aucune réservation ajoutée, 1 jour n’a pas pu être réservé."
    )
    assert pattern_result_message(0, 3) == (
        "Semaine type non appliquée : aucune réservation ajoutée, "
        "3 jours n’ont pas pu être réservés."
    )
    assert pattern_result_message(1, 1) == (
        "Semaine type appliquée en partie : 1 réservation ajoutée, 1 jour n’a pas pu être réservé."
    )
    assert pattern_result_message(4, 2) == (
        "Semaine type appliquée en partie : 4 réservations ajoutées, "
        "2 jours n’ont pas pu être réservés."
    )
    assert pattern_result_message(0, 0) == (
        "Aucune réservation ajoutée : les jours choisis étaient déjà réservés."
    )
