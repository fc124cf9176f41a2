"""The week grid's rendering memo (ecp.web.memo): a reload with the same inputs is served from
it, and any change of what the grid shows (a booking made elsewhere, the minute a deadline
passes, another session, a message to show) renders it afresh."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.booking import services
from tests import booking_factories as bf
from tests.support import login_family, post_form, soup

URL = "/famille/reservations"
PAGE = f"{URL}?semaine={bf.WEEK}"
HTMX = {"HX-Request": "true"}


async def setup(client, now=bf.NOW):
    clock.set_now(now)
    commune = await bf.make_commune(capacity=2)
    family, kids = await bf.make_family_with_children(commune)
    await login_family(client)
    return commune, family, kids


def memo(client):
    return client._transport.app.state["render_memos"]["week_grid"]


def cell_text(html: str, child_id: int, activity_id: int, day: dt.date) -> str:
    cell = soup(html).select_one(f"#cell-{child_id}-{activity_id}-{day.isoformat()}")
    assert cell is not None
    return cell.get_text(" ", strip=True)


async def test_a_reload_is_served_from_the_memo_and_is_the_same_page(client):
    await setup(client)
    with clock.frozen(bf.NOW):
        first = await client.get(PAGE)
        again = await client.get(PAGE)
        fragment = await client.get(PAGE, headers=HTMX)
        fragment_again = await client.get(PAGE, headers=HTMX)
    assert first.status_code == again.status_code == 200
    assert again.text == first.text
    # The htmx answer is the grid alone, with its <title>, and memoised apart from the page.
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment_again.text == fragment.text
    assert soup(fragment.text).select_one("title").get_text().startswith("Réservations – Semaine")
    assert memo(client).hits == 2 and len(memo(client)) == 2


async def test_a_booking_made_elsewhere_shows_at_once(client):
    commune, family, (lea, hugo) = await setup(client)
    cantine = commune.activities["restauration"].id
    with clock.frozen(bf.NOW):
        before = await client.get(PAGE)
        assert "Libre" in cell_text(before.text, lea.id, cantine, bf.MONDAY)
        # Another family takes a place, then this family's other child (another tab): each
        # changes the rows the page reads, so neither reload is the memo's.
        await services.book(hugo.id, cantine, bf.MONDAY, family_id=family.id)
        after = await client.get(PAGE)
    assert "Réservé" in cell_text(after.text, hugo.id, cantine, bf.MONDAY)
    assert "Plus qu’une place" in cell_text(after.text, lea.id, cantine, bf.MONDAY)
    assert memo(client).hits == 0


async def test_the_minute_a_deadline_passes_the_cell_closes(client):
    # Monday 7's deadline: Thursday 3 at 23:59, so open until midnight.
    before_midnight = dt.datetime(2026, 12, 3, 23, 59, 10, tzinfo=clock.PARIS)
    commune, _family, (lea, _hugo) = await setup(client, now=before_midnight)
    cantine = commune.activities["restauration"].id
    with clock.frozen(before_midnight):
        open_page = await client.get(PAGE)
    with clock.frozen(before_midnight + dt.timedelta(seconds=40)):  # 23:59:50
        same_minute = await client.get(PAGE)
    with clock.frozen(before_midnight + dt.timedelta(seconds=60)):  # 00:00:10
        closed_page = await client.get(PAGE)
    assert "Réserver" in cell_text(open_page.text, lea.id, cantine, bf.MONDAY)
    # The same grid (the page around it counts the session's seconds down).
    assert str(soup(same_minute.text).select_one("#week-grid")) == str(
        soup(open_page.text).select_one("#week-grid")
    )
    assert "Réserver" not in cell_text(closed_page.text, lea.id, cantine, bf.MONDAY)
    assert memo(client).hits == 1


async def test_another_session_gets_its_own_forms(client, other_client):
    await setup(client)
    await login_family(other_client)
    with clock.frozen(bf.NOW):
        mine = await client.get(PAGE)
        theirs = await other_client.get(PAGE)
    tokens = [
        {i["value"] for i in soup(r.text).select("#week-grid input[name=_csrf_token]")}
        for r in (mine, theirs)
    ]
    assert len(tokens[0]) == len(tokens[1]) == 1 and tokens[0] != tokens[1]
    assert memo(client).hits == 0


async def test_a_message_to_show_once_is_never_memoised(client):
    commune, _family, (lea, _hugo) = await setup(client)
    cantine = commune.activities["restauration"].id
    fields = {
        "enfant": lea.id,
        "activite": cantine,
        "jour": bf.MONDAY.isoformat(),
        "action": "reserver",
        "semaine": bf.WEEK,
    }
    with clock.frozen(bf.NOW):
        await client.get(PAGE)
        booked = await post_form(client, URL, fields, from_page=PAGE)
        shown = await client.get(booked.headers["location"])
        later = await client.get(booked.headers["location"])
    assert "Réservation enregistrée" in soup(shown.text).select_one("#flash").get_text()
    assert "Réservation enregistrée" not in soup(later.text).select_one("#flash").get_text()
    assert "Réservé" in cell_text(later.text, lea.id, cantine, bf.MONDAY)
