"""The family week calendar over HTTP: page, fragment, no-JS posts, htmx posts, errors, CSRF,
other families' ids, and a constant number of queries."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.booking import queries
from ecp.booking.tables import Booking
from tests import booking_factories as bf
from tests.booking_support import count_queries
from tests.support import login_family, post_form, soup

URL = "/famille/reservations"


async def setup(client, capacity=0, now=bf.NOW):
    """Logs in at `now` (the clock stays frozen there; sessions expire after 30 idle minutes)."""
    clock.set_now(now)
    commune = await bf.make_commune(capacity=capacity)
    family, kids = await bf.make_family_with_children(commune)
    await login_family(client)
    return commune, family, kids


def cell_form(html: str, child_id: int, activity_id: int, day: dt.date):
    cell = soup(html).select_one(f"#cell-{child_id}-{activity_id}-{day.isoformat()}")
    assert cell is not None
    return cell


async def test_week_page_shows_one_section_per_child_with_days_and_states(client):
    commune, family, (lea, hugo) = await setup(client)
    with clock.frozen(bf.NOW):
        response = await client.get(f"{URL}?semaine={bf.WEEK}")
    assert response.status_code == 200
    page = soup(response.text)
    assert page.title.string.startswith("Réservations – Semaine du lundi 7 au vendredi 11")
    sections = page.select("section.week-child")
    assert sorted(s.h3.get_text(" ", strip=True).split(" ")[0] for s in sections) == [
        "Hugo",
        "Léa",
    ]
    # Five days per child, each with its heading.
    assert all(len(s.select("li.week-day h4")) == 5 for s in sections)
    cantine = commune.activities["restauration"].id
    cell = cell_form(response.text, lea.id, cantine, bf.MONDAY)
    button = cell.select_one("button")
    name = button.get_text(" ", strip=True)
    assert "Libre" in name and "Réserver" in name and "Léa" in name and "lundi 7 décembre" in name
    assert "Cantine" in name
    # The deadline is the day's, said once above its cells, not in each.
    day = page.select_one(f"#day-{lea.id}-{bf.MONDAY.isoformat()}")
    assert day.select_one(".day-deadline").get_text(strip=True) == "Délai : jeudi 3 décembre, 23:59"
    assert day.get_text(" ", strip=True).count("Délai") == 1
    assert "Délai" not in cell.get_text(" ", strip=True)
    # The week links keep the child a phone shows (the first one by default).
    first = sections[0].h3["id"].split("-")[1]
    assert page.select_one('a[rel="prev"]')["href"] == f"{URL}?semaine=2026-W49&enfant={first}"
    assert page.select_one('a[rel="next"]')["href"] == f"{URL}?semaine=2026-W51&enfant={first}"
    assert "is-shown" in sections[0]["class"] and "is-shown" not in sections[1]["class"]
    summary = page.select_one(f"#summary-{lea.id}").get_text(" ", strip=True)
    assert summary.startswith("Aucune réservation cette semaine")


async def test_week_fragment_for_htmx_has_no_layout(client):
    await setup(client)
    with clock.frozen(bf.NOW):
        response = await client.get(f"{URL}?semaine={bf.WEEK}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert soup(response.text).select_one("section#week-grid") is not None
    assert response.headers["vary"] == "HX-Request"


async def test_bad_week_is_404(client):
    await setup(client)
    response = await client.get(f"{URL}?semaine=2026-W99")
    assert response.status_code == 404


async def test_no_js_post_books_and_redirects_back_to_the_week_with_a_message(client):
    commune, family, (lea, _) = await setup(client)
    cantine = commune.activities["restauration"].id
    with clock.frozen(bf.NOW):
        response = await post_form(
            client,
            URL,
            {
                "enfant": lea.id,
                "activite": cantine,
                "jour": bf.MONDAY.isoformat(),
                "action": "reserver",
                "semaine": bf.WEEK,
            },
            from_page=f"{URL}?semaine={bf.WEEK}",
        )
        assert response.status_code == 303
        assert response.headers["location"] == (
            f"{URL}?semaine={bf.WEEK}&enfant={lea.id}#cell-{lea.id}-{cantine}-2026-12-07"
        )
        page = await client.get(response.headers["location"])
    assert "Réservation enregistrée : Cantine pour Léa, lundi 7 décembre." in page.text
    cell = cell_form(page.text, lea.id, cantine, bf.MONDAY)
    assert "Réservé" in cell.get_text() and "Annuler" in cell.get_text()
    assert (await bf.booking_rows(lea.id))[0]["state"] == "reservee"


async def test_htmx_post_returns_the_week_with_the_announcement_and_focus(client):
    commune, family, (lea, _) = await setup(client)
    cantine = commune.activities["restauration"].id
    with clock.frozen(bf.NOW):
        response = await post_form(
            client,
            URL,
            {
                "enfant": lea.id,
                "activite": cantine,
                "jour": bf.MONDAY.isoformat(),
                "action": "reserver",
                "semaine": bf.WEEK,
            },
            from_page=f"{URL}?semaine={bf.WEEK}",
            headers={"HX-Request": "true"},
        )
    assert response.status_code == 200
    assert "<html" not in response.text
    page = soup(response.text)
    assert (
        page.select_one("#flash[hx-swap-oob]")
        .get_text(strip=True)
        .startswith("Réservation enregistrée : Cantine pour Léa")
    )
    cell = cell_form(response.text, lea.id, cantine, bf.MONDAY)
    assert cell.select_one("button").has_attr("data-focus")


async def test_full_day_answers_409_complet_in_place(client):
    commune, family, (lea, hugo) = await setup(client, capacity=1)
    cantine = commune.activities["restauration"].id
    with clock.frozen(bf.NOW):
        from ecp.booking import services

        await services.book(hugo.id, cantine, bf.MONDAY, family_id=family.id)
        response = await post_form(
            client,
            URL,
            {
                "enfant": lea.id,
                "activite": cantine,
                "jour": bf.MONDAY.isoformat(),
                "action": "reserver",
                "semaine": bf.WEEK,
            },
            from_page=f"{URL}?semaine={bf.WEEK}",
            headers={"HX-Request": "true"},
        )
    assert response.status_code == 409
    assert "Complet" in soup(response.text).select_one("#flash").get_text()
    assert "Complet" in cell_form(response.text, lea.id, cantine, bf.MONDAY).get_text()
    assert await Booking.count().where(Booking.child == lea.id) == 0


async def test_past_deadline_no_js_post_is_refused_with_a_message(client):
    commune, family, (lea, _) = await setup(
        client, now=dt.datetime(2026, 12, 4, 0, 0, tzinfo=clock.PARIS)
    )
    cantine = commune.activities["restauration"].id
    with clock.frozen(dt.datetime(2026, 12, 4, 0, 0, tzinfo=clock.PARIS)):
        response = await post_form(
            client,
            URL,
            {
                "enfant": lea.id,
                "activite": cantine,
                "jour": bf.MONDAY.isoformat(),
                "action": "reserver",
                "semaine": bf.WEEK,
            },
            from_page=f"{URL}?semaine={bf.WEEK}",
        )
        assert response.status_code == 303
        page = await client.get(response.headers["location"])
    assert "Délai dépassé" in page.text
    assert await Booking.count() == 0


async def test_malformed_post_is_422_and_writes_nothing(client):
    await setup(client)
    with clock.frozen(bf.NOW):
        response = await post_form(
            client,
            URL,
            {
                "enfant": "abc",
                "activite": "1",
                "jour": "x",
                "action": "reserver",
                "semaine": bf.WEEK,
            },
            from_page=f"{URL}?semaine={bf.WEEK}",
        )
    assert response.status_code == 422
    assert "Demande incomplète" in response.text
    assert await Booking.count() == 0


async def test_post_without_csrf_is_refused(client):
    commune, family, (lea, _) = await setup(client)
    with clock.frozen(bf.NOW):
        await client.get(URL)
        response = await client.post(
            URL,
            data={
                "enfant": lea.id,
                "activite": commune.activities["restauration"].id,
                "jour": bf.MONDAY.isoformat(),
                "action": "reserver",
            },
        )
    assert response.status_code == 403
    assert await Booking.count() == 0


async def test_another_familys_child_is_404_and_nothing_is_written(client):
    commune, family, _ = await setup(client)
    other, (awa,) = await bf.make_family_with_children(
        commune, code="F00002", name="Diallo", children=(("Awa", "CM2"),)
    )
    with clock.frozen(bf.NOW):
        response = await post_form(
            client,
            URL,
            {
                "enfant": awa.id,
                "activite": commune.activities["restauration"].id,
                "jour": bf.MONDAY.isoformat(),
                "action": "reserver",
                "semaine": bf.WEEK,
            },
            from_page=URL,
        )
        page = await client.get(f"{URL}?semaine={bf.WEEK}")
    assert response.status_code == 404
    assert await Booking.count() == 0
    assert "Awa" not in page.text


async def test_calendar_costs_a_constant_number_of_queries(client):
    commune, family, (lea, hugo) = await setup(client, capacity=0)
    with clock.frozen(bf.NOW):
        with count_queries() as empty_load:
            await queries.load_calendar(family.id, bf.MONDAY, bf.MONDAY + dt.timedelta(days=4))
        with count_queries() as cold_page:
            assert (await client.get(f"{URL}?semaine={bf.WEEK}")).status_code == 200
        with count_queries() as empty_page:
            assert (await client.get(f"{URL}?semaine={bf.WEEK}")).status_code == 200
        from ecp.booking import services

        for kid in (lea, hugo):
            for code in ("restauration", "garderie_soir"):
                for offset in (0, 1, 3, 4):
                    await services.book(
                        kid.id,
                        commune.activities[code].id,
                        bf.MONDAY + dt.timedelta(days=offset),
                        family_id=family.id,
                    )
            await services.book(
                kid.id,
                commune.activities["alsh_mercredi_journee"].id,
                bf.WEDNESDAY,
                family_id=family.id,
            )
        assert await Booking.count() == 18
        with count_queries() as full_load:
            await queries.load_calendar(family.id, bf.MONDAY, bf.MONDAY + dt.timedelta(days=4))
        with count_queries() as full_page:
            response = await client.get(f"{URL}?semaine={bf.WEEK}")
    assert response.text.count("✓") == 0  # the tick is CSS, not text
    print(
        f"calendar read model: {full_load.count} queries; whole page request: "
        f"{full_page.count} queries (auth included), with 0 or 18 bookings"
    )
    assert empty_load.count == full_load.count == 4
    # The first request reads the set-up (2 queries) into the process's cache; the next ones
    # find it there, the session query having checked its version.
    assert cold_page.count == 5, cold_page.queries
    assert empty_page.count == full_page.count == 3, (empty_page.queries, full_page.queries)


async def test_booking_posts_are_rate_limited_per_family(client, other_client):
    commune, family, (lea, _) = await setup(client)
    data = {"enfant": "x", "activite": "1", "jour": "x", "action": "reserver"}
    from tests.support import csrf_token

    token = await csrf_token(client, URL)
    statuses = []
    for _ in range(121):
        response = await client.post(URL, data={**data, "_csrf_token": token})
        statuses.append(response.status_code)
    assert statuses[:120] == [422] * 120
    assert statuses[120] == 429 and "ratelimit-limit" in {k.lower() for k in response.headers}
    # Another family is not affected.
    await bf.make_family_with_children(
        commune, code="F00002", name="Diallo", children=(("Awa", "CM2"),), password="demo-famille-2"
    )
    await login_family(other_client, "F00002", "demo-famille-2")
    other_token = await csrf_token(other_client, URL)
    response = await other_client.post(URL, data={**data, "_csrf_token": other_token})
    assert response.status_code == 422


async def test_the_cell_buttons_post_their_case_with_and_without_htmx(client):
    """What a browser sends: the child's form (CSRF, week) and the pressed button's `case`."""
    commune, family, (lea, _) = await setup(client)
    cantine = commune.activities["restauration"].id
    with clock.frozen(bf.NOW):
        page = await client.get(f"{URL}?semaine={bf.WEEK}")
        button = cell_form(page.text, lea.id, cantine, bf.MONDAY).select_one("button")
        form = button.find_parent("form")
        assert form["action"] == URL and form["method"] == "post"
        assert button["name"] == "case"
        assert button["value"] == f"{lea.id}:{cantine}:{bf.MONDAY.isoformat()}:reserver"
        fields = {i["name"]: i["value"] for i in form.select("input[type=hidden]")}
        assert fields["semaine"] == bf.WEEK and fields["_csrf_token"]
        # No JavaScript: 303 back to the week, the cell booked.
        no_js = await client.post(URL, data=fields | {"case": button["value"]})
        assert no_js.status_code == 303
        assert (await bf.booking_rows(lea.id))[0]["state"] == "reservee"
        # htmx: the week comes back with the cell's new button focused; cancel with it.
        page = await client.get(no_js.headers["location"])
        button = cell_form(page.text, lea.id, cantine, bf.MONDAY).select_one("button")
        assert button["value"].endswith(":annuler")
        swapped = await client.post(
            URL, data=fields | {"case": button["value"]}, headers={"HX-Request": "true"}
        )
    assert swapped.status_code == 200 and "<html" not in swapped.text
    assert "Réservation annulée : Cantine pour Léa" in swapped.text
    assert (
        cell_form(swapped.text, lea.id, cantine, bf.MONDAY)
        .select_one("button")
        .has_attr("data-focus")
    )
    assert (await bf.booking_rows(lea.id))[0]["state"] == "annulee"


async def test_a_malformed_case_is_422_and_writes_nothing(client):
    commune, family, (lea, _) = await setup(client)
    cantine = commune.activities["restauration"].id
    with clock.frozen(bf.NOW):
        for case in (
            f"{lea.id}:{cantine}:{bf.MONDAY.isoformat()}",
            f"{lea.id}:x:2026-12-07:reserver",
            f"{lea.id}:{cantine}:demain:reserver",
            f"{lea.id}:{cantine}:2026-12-07:voler",
        ):
            response = await post_form(
                client,
                URL,
                {"case": case, "semaine": bf.WEEK},
                from_page=f"{URL}?semaine={bf.WEEK}",
            )
            assert response.status_code == 422, case
            assert "Demande incomplète" in response.text
    assert await bf.booking_rows(lea.id) == []


async def test_a_repeated_tap_is_answered_as_done_and_books_once(client):
    """A double tap, a phone's retry after a lost answer, a stale second tab: the second
    « réserver » (or « annuler ») finds the cell already as asked, changes nothing and says so
    (200, not a refusal), by htmx and without JavaScript."""
    commune, family, (lea, _hugo) = await setup(client)
    cantine = commune.activities["restauration"].id
    fields = {
        "enfant": lea.id,
        "activite": cantine,
        "jour": bf.MONDAY.isoformat(),
        "action": "reserver",
        "semaine": bf.WEEK,
    }
    page = f"{URL}?semaine={bf.WEEK}"
    with clock.frozen(bf.NOW):
        first = await post_form(client, URL, fields, from_page=page, headers={"HX-Request": "true"})
        again = await post_form(client, URL, fields, from_page=page, headers={"HX-Request": "true"})
        no_js = await post_form(client, URL, fields, from_page=page)
    assert first.status_code == 200 and again.status_code == 200
    flash = soup(again.text).select_one("#flash").get_text(" ", strip=True)
    assert flash == "Déjà réservé ce jour-là : Cantine pour Léa. Rien n’a changé."
    cell = cell_form(again.text, lea.id, cantine, bf.MONDAY)
    assert cell.select_one(".cell-refusal") is None and cell.select_one("[data-focus]")
    assert "Annuler" in cell.select_one("button").get_text(" ", strip=True)
    # Without JavaScript: back to the week at the cell, no refusal named in the address.
    assert no_js.status_code == 303 and "refus=" not in no_js.headers["location"]
    with clock.frozen(bf.NOW):
        shown = await client.get(no_js.headers["location"])
    assert "Rien n’a changé." in soup(shown.text).select_one("#flash").get_text()
    rows = await Booking.select(Booking.state).where(Booking.child == lea.id)
    assert rows == [{"state": "reservee"}]
    # The same for a cancel repeated.
    cancel = fields | {"action": "annuler"}
    with clock.frozen(bf.NOW):
        await post_form(client, URL, cancel, from_page=page, headers={"HX-Request": "true"})
        twice = await post_form(client, URL, cancel, from_page=page, headers={"HX-Request": "true"})
    assert twice.status_code == 200
    assert "Aucune réservation à annuler" in soup(twice.text).select_one("#flash").get_text()
    assert await Booking.select(Booking.state).where(Booking.child == lea.id) == [
        {"state": "annulee"}
    ]
