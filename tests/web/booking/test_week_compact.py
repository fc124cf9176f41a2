"""The compact family week (issue 15): today marked, the deadline once per day, past days and
holiday weeks on one line, activities without inscription said once, a refused tap explained in
its cell, the child a phone shows, the fragment's title, focus and announcement; « Comme la
semaine dernière » (preview, then confirmation) and « Pour tous mes enfants »."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.booking import services
from ecp.booking.tables import Booking
from ecp.commune.tables import Closure
from tests import booking_factories as bf
from tests.booking_support import count_queries
from tests.support import csrf_token, login_family, post_form, soup

URL = "/famille/reservations"
COPY = "/famille/reservations/comme-la-semaine-derniere"
ALL = "/famille/reservations/pour-tous-mes-enfants"
HTMX = {"HX-Request": "true"}
NEXT_WEEK = "2026-W51"  # 14-18 December 2026, after bf.WEEK
WEDNESDAY_NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=clock.PARIS)


async def setup(client, now=bf.NOW, capacity=0, inscribe=None):
    clock.set_now(now)
    commune = await bf.make_commune(capacity=capacity)
    family, kids = await bf.make_family_with_children(commune, inscribe=inscribe)
    await login_family(client)
    return commune, family, kids


def ids(commune, code: str) -> int:
    return commune.activities[code].id


async def bookings(state: str = "reservee") -> set[tuple[int, int, dt.date]]:
    rows = await Booking.select(Booking.child, Booking.activity, Booking.day).where(
        Booking.state == state
    )
    return {(r["child"], r["activity"], r["day"]) for r in rows}


# ---------------------------------------------------------------------------------------------
# The week's shape


async def test_today_is_marked_in_words_and_past_days_take_one_line(client):
    commune, family, (lea, hugo) = await setup(client, now=WEDNESDAY_NOW)
    with clock.frozen(WEDNESDAY_NOW):
        response = await client.get(URL)  # no week: the current one
    page = soup(response.text)
    assert page.select_one("#week-grid-title").get_text(strip=True) == (
        "Semaine du 30 novembre au 4 décembre 2026"
    )
    today = page.select_one(f"#day-{lea.id}-2026-12-02")
    heading = today.select_one("h4")
    assert heading["aria-current"] == "date"
    assert heading.get_text(" ", strip=True) == "Mercredi 2 décembre aujourd’hui"
    # Monday and Tuesday are gone: one line each, before the strip of the days to come.
    past = page.select(f"section.week-child .past-days li[id^='day-{lea.id}-']")
    assert [li.get_text(" ", strip=True) for li in past] == [
        "Lundi 30 novembre, passé : aucune réservation",
        "Mardi 1er décembre, passé : aucune réservation",
    ]
    cards = page.select(f"#child-{lea.id}-title ~ form li.week-day")
    assert [c["id"] for c in cards] == [f"day-{lea.id}-2026-12-0{d}" for d in (2, 3, 4)]
    assert page.select_one(".week-nav").find(string="Cette semaine") is None


async def test_a_late_day_says_so_once_and_cells_carry_no_deadline(client):
    late_now = dt.datetime(2026, 12, 2, 10, 0, tzinfo=clock.PARIS)  # Thursday's deadline: Tue
    commune, family, (lea, hugo) = await setup(client, now=late_now)
    cantine = ids(commune, "restauration")
    with clock.frozen(bf.NOW):  # booked in time, on Monday
        await services.book(lea.id, cantine, dt.date(2026, 12, 3), family_id=family.id)
    with clock.frozen(late_now):
        response = await client.get(f"{URL}?semaine=2026-W49")
    page = soup(response.text)
    thursday = page.select_one(f"#day-{lea.id}-2026-12-03")
    text = thursday.get_text(" ", strip=True)
    assert thursday.select_one(".day-deadline").get_text(strip=True) == (
        "Délai passé : s’adresser au service."
    )
    assert text.count("Délai") == 1 and "seul le service peut annuler" not in text
    booked = thursday.select_one(f"#cell-{lea.id}-{cantine}-2026-12-03")
    assert booked.select_one("button") is None
    assert booked.select_one(".cell-state").get_text(strip=True) == "Réservé"


async def test_activities_without_inscription_are_said_once_not_in_every_cell(client):
    commune, family, (lea, hugo) = await setup(client, inscribe=("restauration",))
    with clock.frozen(bf.NOW):
        response = await client.get(f"{URL}?semaine={bf.WEEK}")
    page = soup(response.text)
    summary = page.select_one(f"#summary-{lea.id}").get_text(" ", strip=True)
    assert "sans inscription : Garderie soir, Loisirs soir, Mercredi journée" in summary
    assert "Non inscrit" not in response.text
    garderie = ids(commune, "garderie_soir")
    assert page.select_one(f"#cell-{lea.id}-{garderie}-{bf.MONDAY.isoformat()}") is None
    # Wednesday has nothing left to show: one line.
    wednesday = page.select_one(f"#day-{lea.id}-{bf.WEDNESDAY.isoformat()}")
    assert wednesday.select_one(".day-line").get_text(strip=True) == "Aucune activité ce jour-là"


async def test_a_holiday_week_is_one_line(client):
    await setup(client)
    with clock.frozen(bf.NOW):
        response = await client.get(f"{URL}?semaine=2026-W52")
    page = soup(response.text)
    assert page.select_one(".week-closed").get_text(strip=True) == (
        "Pas d’accueil cette semaine : Vacances de Noël ; Jour férié (Noël)."
    )
    assert page.select(".week-day") == [] and page.select(".cell") == []


async def test_the_shown_child_follows_the_switch_and_a_tap(client):
    commune, family, (lea, hugo) = await setup(client)
    with clock.frozen(bf.NOW):
        page = soup((await client.get(f"{URL}?semaine={bf.WEEK}&enfant={hugo.id}")).text)
        assert "is-shown" in page.select_one(f"#child-{hugo.id}-title").parent["class"]
        assert page.select_one(f"#switch-{hugo.id}")["aria-current"] == "true"
        assert not page.select_one(f"#switch-{lea.id}").has_attr("aria-current")
        # An id that is not one of the family's children shows the first one.
        page = soup((await client.get(f"{URL}?semaine={bf.WEEK}&enfant=999999")).text)
        assert "is-shown" in page.select("section.week-child")[0]["class"]
        # htmx, from the switch: focus on the child's heading, announced with the week.
        swapped = await client.get(
            f"{URL}?semaine={bf.WEEK}&enfant={hugo.id}",
            headers=HTMX | {"HX-Trigger": f"switch-{hugo.id}"},
        )
    fragment = soup(swapped.text)
    assert fragment.select_one(f"#child-{hugo.id}-title").has_attr("data-focus")
    assert fragment.select_one("#flash .visually-hidden").get_text(strip=True) == (
        "Semaine du lundi 7 au vendredi 11 décembre 2026, Hugo."
    )


async def test_week_navigation_fragment_has_title_focus_and_one_announcement(client):
    await setup(client)
    with clock.frozen(bf.NOW):
        response = await client.get(f"{URL}?semaine={NEXT_WEEK}", headers=HTMX)
    assert response.status_code == 200 and "<html" not in response.text
    fragment = soup(response.text)
    # htmx takes a top-level <title> out of the fragment and makes it the page's title.
    assert fragment.contents[0].name == "title"
    assert fragment.title.get_text() == (
        "Réservations – Semaine du lundi 14 au vendredi 18 décembre 2026"
        " – Portail Famille de Villebelle-sur-Seine"
    )
    assert fragment.select_one("#week-grid-title").has_attr("data-focus")
    assert len(fragment.select("[data-focus]")) == 1
    region = fragment.select("#flash[hx-swap-oob]")
    assert len(region) == 1 and region[0]["role"] == "status"
    assert region[0].get_text(strip=True).startswith("Semaine du lundi 14 au vendredi 18")
    # The full page has no swap-only parts.
    with clock.frozen(bf.NOW):
        page = soup((await client.get(f"{URL}?semaine={NEXT_WEEK}")).text)
    assert page.select("#flash[hx-swap-oob]") == []
    assert page.title.get_text().startswith("Réservations – Semaine du lundi 14 au vendredi 18")


# ---------------------------------------------------------------------------------------------
# A refused tap explains itself where it was made


async def test_a_refused_tap_is_explained_in_its_cell_with_and_without_javascript(client):
    commune, family, (lea, hugo) = await setup(client, capacity=1)
    cantine = ids(commune, "restauration")
    cell = f"cell-{lea.id}-{cantine}-{bf.MONDAY.isoformat()}"
    case = f"{lea.id}:{cantine}:{bf.MONDAY.isoformat()}:reserver"
    with clock.frozen(bf.NOW):
        await services.book(hugo.id, cantine, bf.MONDAY, family_id=family.id)
        swapped = await post_form(
            client,
            URL,
            {"case": case, "semaine": bf.WEEK},
            from_page=f"{URL}?semaine={bf.WEEK}",
            headers=HTMX,
        )
        assert swapped.status_code == 409
        fragment = soup(swapped.text)
        refusal = fragment.select_one(f"#{cell}-refus")
        assert refusal is not None and "Complet" in refusal.get_text()
        assert fragment.select_one(f"#{cell} [data-focus]") is not None
        assert "Complet" in fragment.select_one("#flash").get_text()
        # Without JavaScript: 303 to the week, naming the cell; the page repeats the refusal
        # in it (the message comes from the flash, once).
        no_js = await post_form(
            client, URL, {"case": case, "semaine": bf.WEEK}, from_page=f"{URL}?semaine={bf.WEEK}"
        )
        assert no_js.status_code == 303
        assert f"&refus={cell}#{cell}" in no_js.headers["location"]
        page = soup((await client.get(no_js.headers["location"])).text)
        assert "Complet" in page.select_one(f"#{cell}-refus").get_text()
        assert page.select_one(f"#{cell} .cell-state").get_text(strip=True) == "Complet"
        # Reloaded later (no flash any more): no stale message in the cell.
        page = soup((await client.get(no_js.headers["location"])).text)
        assert page.select_one(f"#{cell}-refus") is None
        # A forged `refus` is ignored.
        forged = await client.get(f"{URL}?semaine={bf.WEEK}&refus=<script>")
        assert forged.status_code == 200 and "<script>" not in forged.text.split("<body")[1]
    assert await bookings() == {(hugo.id, cantine, bf.MONDAY)}


# ---------------------------------------------------------------------------------------------
# « Comme la semaine dernière »


async def _last_week(commune, family, lea, hugo):
    """W50 bookings: Léa's cantine Monday and Thursday, Hugo's garderie Tuesday; Monday of
    W51 closed."""
    cantine, garderie = ids(commune, "restauration"), ids(commune, "garderie_soir")
    await services.book(lea.id, cantine, bf.MONDAY, family_id=family.id)
    await services.book(lea.id, cantine, dt.date(2026, 12, 10), family_id=family.id)
    await services.book(hugo.id, garderie, dt.date(2026, 12, 8), family_id=family.id)
    await Closure(
        starts_on=dt.date(2026, 12, 14), ends_on=dt.date(2026, 12, 14), reason="Grève"
    ).save()
    return cantine, garderie


async def test_copy_last_week_previews_then_books_and_explains_the_refused_days(client):
    commune, family, (lea, hugo) = await setup(client)
    with clock.frozen(bf.NOW):
        cantine, garderie = await _last_week(commune, family, lea, hugo)
        before = await bookings()
        preview = await post_form(
            client,
            COPY,
            {"semaine": NEXT_WEEK, "etape": "apercu", "enfant": str(hugo.id)},
            from_page=f"{URL}?semaine={NEXT_WEEK}",
        )
        assert preview.status_code == 200
        plan = soup(preview.text).select_one("#copy-plan")
        text = plan.get_text(" ", strip=True)
        assert (
            plan.h3.get_text(strip=True) == "Comme la semaine dernière : 2 réservations à ajouter"
        )
        assert "Mardi 15 décembre – Hugo : Garderie soir" in text
        assert "Jeudi 17 décembre – Léa : Cantine" in text
        assert "Ce jour ne peut pas être réservé : Lundi 14 décembre : Cantine pour Léa" in text
        assert "fermé (Grève)" in text
        assert plan.select_one("button").get_text(strip=True) == "Confirmer les 2 réservations"
        assert await bookings() == before  # a preview writes nothing
        done = await post_form(
            client,
            COPY,
            {"semaine": NEXT_WEEK, "etape": "confirmer", "enfant": str(hugo.id)},
            from_page=f"{URL}?semaine={NEXT_WEEK}",
        )
        assert done.status_code == 303
        assert done.headers["location"] == f"{URL}?semaine={NEXT_WEEK}&enfant={hugo.id}"
        page = await client.get(done.headers["location"])
    assert await bookings() == before | {
        (lea.id, cantine, dt.date(2026, 12, 17)),
        (hugo.id, garderie, dt.date(2026, 12, 15)),
    }
    assert (
        "Semaine dernière recopiée en partie : 2 réservations ajoutées ; pas pour lundi "
        "14 décembre, Cantine pour Léa : fermé (Grève)."
    ) in soup(page.text).select_one("#flash").get_text(" ", strip=True)


async def test_copy_last_week_with_htmx_swaps_the_week_with_focus_and_message(client):
    commune, family, (lea, hugo) = await setup(client)
    with clock.frozen(bf.NOW):
        await _last_week(commune, family, lea, hugo)
        preview = await post_form(
            client,
            COPY,
            {"semaine": NEXT_WEEK, "etape": "apercu"},
            from_page=URL,
            headers=HTMX,
        )
        fragment = soup(preview.text)
        assert "<html" not in preview.text
        assert fragment.select_one("#copy-plan-title").has_attr("data-focus")
        assert fragment.title.get_text().startswith("Réservations – Semaine du lundi 14")
        done = await post_form(
            client,
            COPY,
            {"semaine": NEXT_WEEK, "etape": "confirmer"},
            from_page=URL,
            headers=HTMX,
        )
        assert done.status_code == 200
        fragment = soup(done.text)
        assert fragment.select_one("#copy-plan") is None
        assert fragment.select_one("#week-grid-title").has_attr("data-focus")
        assert (
            fragment.select_one("#flash[hx-swap-oob]")
            .get_text(strip=True)
            .startswith("Semaine dernière recopiée en partie : 2 réservations ajoutées")
        )
        # Nothing left to copy: said so, nothing booked twice.
        again = await post_form(
            client, COPY, {"semaine": NEXT_WEEK, "etape": "apercu"}, from_page=URL, headers=HTMX
        )
    plan = soup(again.text).select_one("#copy-plan")
    assert plan.h3.get_text(strip=True) == "Comme la semaine dernière : rien à ajouter"
    assert plan.select_one("button") is None
    assert await Booking.count() == 5


async def test_copy_refusals_csrf_and_bad_week(client):
    await setup(client)
    with clock.frozen(bf.NOW):
        token = await csrf_token(client, URL)
        no_csrf = await client.post(COPY, data={"semaine": NEXT_WEEK, "etape": "confirmer"})
        bad_week = await client.post(
            COPY, data={"semaine": "2026-W99", "etape": "apercu", "_csrf_token": token}
        )
        empty = await client.post(
            COPY, data={"semaine": NEXT_WEEK, "etape": "confirmer", "_csrf_token": token}
        )
    assert no_csrf.status_code == 403
    assert bad_week.status_code == 404
    assert empty.status_code == 303  # nothing last week: nothing to add, said so
    assert await Booking.count() == 0


# ---------------------------------------------------------------------------------------------
# « Pour tous mes enfants »


async def test_all_children_is_offered_and_books_every_child_at_once(client):
    commune, family, (lea, hugo) = await setup(client)
    cantine = ids(commune, "restauration")
    tuesday = dt.date(2026, 12, 8)
    with clock.frozen(bf.NOW):
        page = soup((await client.get(f"{URL}?semaine={bf.WEEK}")).text)
        button = page.select_one(f"button[name=tous][value='{cantine}:{tuesday.isoformat()}']")
        assert button.get_text("", strip=True) == (
            "Réserver Cantine, mardi 8 décembre, pour Léa et Hugo"
        )
        done = await post_form(
            client,
            ALL,
            {"tous": f"{cantine}:{tuesday.isoformat()}", "semaine": bf.WEEK},
            from_page=f"{URL}?semaine={bf.WEEK}",
        )
        assert done.status_code == 303
        page = await client.get(done.headers["location"])
    assert await bookings() == {(lea.id, cantine, tuesday), (hugo.id, cantine, tuesday)}
    assert "Réservation enregistrée : Cantine pour Léa et Hugo, mardi 8 décembre." in page.text


async def test_all_children_with_htmx_says_who_could_not_be_booked(client):
    commune, family, (lea, hugo) = await setup(client, capacity=1)
    cantine = ids(commune, "restauration")
    tuesday = dt.date(2026, 12, 8)
    other, (awa,) = await bf.make_family_with_children(
        commune, code="F00002", name="Diallo", children=(("Awa", "CM2"),)
    )
    with clock.frozen(bf.NOW):
        await services.book(awa.id, cantine, tuesday, family_id=other.id)  # the day is full
        response = await post_form(
            client,
            ALL,
            {"tous": f"{cantine}:{tuesday.isoformat()}", "semaine": bf.WEEK},
            from_page=URL,
            headers=HTMX,
        )
    assert response.status_code == 409
    fragment = soup(response.text)
    message = fragment.select_one("#flash[hx-swap-oob]").get_text(" ", strip=True)
    assert (
        message == "Aucune réservation : Cantine, mardi 8 décembre. Léa : complet ; Hugo : complet."
    )
    assert fragment.select_one("[data-focus]") is not None
    assert await bookings() == {(awa.id, cantine, tuesday)}


async def test_all_children_bad_input_and_unknown_activity(client):
    await setup(client)
    with clock.frozen(bf.NOW):
        token = await csrf_token(client, URL)
        bad = await client.post(ALL, data={"tous": "x:demain", "_csrf_token": token})
        unknown = await client.post(ALL, data={"tous": "99999:2026-12-08", "_csrf_token": token})
        no_csrf = await client.post(ALL, data={"tous": "1:2026-12-08"})
    assert bad.status_code == 422 and "Demande incomplète" in bad.text
    assert unknown.status_code == 404
    assert no_csrf.status_code == 403
    assert await Booking.count() == 0


async def test_one_child_families_are_not_offered_all_children(client):
    clock.set_now(bf.NOW)
    commune = await bf.make_commune()
    await bf.make_family_with_children(commune, children=(("Léa", "CE1"),))
    await login_family(client)
    with clock.frozen(bf.NOW):
        page = soup((await client.get(f"{URL}?semaine={bf.WEEK}")).text)
    assert page.select("button[name=tous]") == [] and page.select(".child-switch") == []


# ---------------------------------------------------------------------------------------------
# Query budgets of the new actions (the week page's own is in test_query_budget.py)


async def test_copy_and_all_children_cost_a_fixed_number_of_queries(client):
    from ecp.db import is_sqlite

    commune, family, (lea, hugo) = await setup(client)
    cantine = ids(commune, "restauration")
    with clock.frozen(bf.NOW):
        await _last_week(commune, family, lea, hugo)
        token = await csrf_token(client, URL)
        data = {"semaine": NEXT_WEEK, "_csrf_token": token}
        with count_queries() as preview:
            await client.post(COPY, data=data | {"etape": "apercu"}, headers=HTMX)
        with count_queries() as confirm:
            response = await client.post(COPY, data=data | {"etape": "confirmer"}, headers=HTMX)
        assert response.status_code == 200
        with count_queries() as all_children:
            response = await client.post(
                ALL,
                data={"tous": f"{cantine}:2026-12-15", "semaine": NEXT_WEEK, "_csrf_token": token},
                headers=HTMX,
            )
        assert response.status_code == 200
    lock = 0 if is_sqlite() else 1
    # session, children, bookings+slots (the two weeks at once).
    assert preview.count == 3, preview.queries
    # 3 + children locked with inscriptions, their bookings, 2 places taken, one INSERT;
    # then the week read again for the answer (children, bookings+slots).
    assert confirm.count == 3 + 5 + lock + 2, confirm.queries
    # 3 (one day) + the same write for the 2 children + the week read again.
    assert all_children.count == 3 + 5 + lock + 2, all_children.queries


async def test_the_new_family_posts_refuse_staff_and_anonymous_visitors(client, other_client):
    from tests.staff_factories import staff_client

    clock.set_now(bf.NOW)
    commune = await bf.make_commune()
    await bf.make_family_with_children(commune)
    cantine = ids(commune, "restauration")
    with clock.frozen(bf.NOW):
        await staff_client(client, "agent")
        token = await csrf_token(client, "/agents/")
        staff_copy = await client.post(
            COPY, data={"semaine": bf.WEEK, "etape": "confirmer", "_csrf_token": token}
        )
        staff_all = await client.post(
            ALL, data={"tous": f"{cantine}:2026-12-08", "_csrf_token": token}
        )
        anonymous = await other_client.get(f"{URL}?semaine={bf.WEEK}", follow_redirects=False)
    # A staff session is not a family's (the family router's guard): not found, nothing
    # written; an anonymous visitor is sent to log in, back to the week afterwards.
    assert anonymous.status_code == 303
    assert (
        anonymous.headers["location"]
        == "/connexion?next=/famille/reservations%3Fsemaine%3D2026-W50"
    )
    assert staff_copy.status_code == 404 and staff_all.status_code == 404
    assert await Booking.count() == 0
