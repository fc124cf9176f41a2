"""An activity's places set below the bookings already made for days to come: the page says how
many bookings are above the new places, on which days, and saves them once confirmed (no-JS and
htmx); nobody is cancelled."""

from __future__ import annotations

from ecp.booking.tables import Booking
from ecp.commune.tables import ActivityCapacity
from tests.integration.backoffice.closure_commune import make_closure_commune
from tests.staff_factories import staff_client
from tests.support import error_summary_links, post_form, soup

HTMX = {"HX-Request": "true"}


def cantine_form(c, places: int, **more) -> dict:
    return {
        "libelle": "Restauration scolaire",
        "libelle_court": "Cantine",
        "jours": ["1", "2", "4", "5"],
        "debut": "11:30",
        "fin": "13:30",
        "niveaux": ["PS", "MS", "GS", "CP", "CE1", "CE2", "CM1", "CM2"],
        "capacite": "5",
        f"capacite-{c.commune.school.id}": str(places),
        f"capacite-{c.pasteur.id}": "5",
        "active": "oui",
        **more,
    }


async def places(c) -> int:
    row = (
        await ActivityCapacity.select(ActivityCapacity.capacity)
        .where(
            (ActivityCapacity.activity == c.activity("restauration"))
            & (ActivityCapacity.school == c.commune.school.id)
        )
        .first()
    )
    return row["capacity"]


async def test_places_below_the_bookings_are_shown_and_confirmed(client):
    c = await make_closure_commune()
    await staff_client(client)
    url = f"/agents/parametres/activites/{c.activity('restauration')}"
    asked = await post_form(client, url, cantine_form(c, 2), from_page=url)
    assert asked.status_code == 422
    assert error_summary_links(asked.text) == ["#confirmer_places"]
    page = soup(asked.text)
    warning = " ".join(page.select_one("#over-capacity").get_text(" ", strip=True).split())
    assert "Lundi 7 décembre, École Jules-Ferry : 3 réservations pour 2 places (1 au-delà)" in (
        warning
    )
    assert (
        page.select_one("#confirmer_places-error")
        .get_text(strip=True)
        .endswith("Cochez la case pour enregistrer quand même : aucune réservation n’est annulée.")
    )
    assert page.select_one(f"#capacite-{c.commune.school.id}")["value"] == "2"  # kept
    assert not page.select_one("#confirmer_places").has_attr("checked")
    assert await places(c) == 5
    fragment = await post_form(client, url, cantine_form(c, 2), from_page=url, headers=HTMX)
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert soup(fragment.text).select_one("#activity-form #over-capacity") is not None
    saved = await post_form(client, url, cantine_form(c, 2, confirmer_places="oui"), from_page=url)
    assert saved.status_code == 303
    assert await places(c) == 2
    assert await Booking.count().where(Booking.state == "reservee") == 6


async def test_places_above_the_bookings_are_saved_at_once(client):
    c = await make_closure_commune()
    await staff_client(client)
    url = f"/agents/parametres/activites/{c.activity('restauration')}"
    saved = await post_form(client, url, cantine_form(c, 3), from_page=url, headers=HTMX)
    assert saved.status_code == 200 and saved.headers["hx-redirect"]
    assert await places(c) == 3
    page = soup((await client.get(url)).text)
    assert page.select_one("#over-capacity") is None
