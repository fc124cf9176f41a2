"""The September rush and the counter in a real browser, on a demo server of its own (it
decides inscriptions the other browser tests rely on): thirty requests filtered, all ticked by keyboard with « Tout
sélectionner » and validated in one post (htmx: focus on the results' heading, title and count
updated); then, as without JavaScript (neither htmx nor app.js loaded), an activity full at one school: the requests go on the
waiting list with their rank, an inscription ended promotes the first in rank, whose family
has the e-mail in the outbox; and an agent doing a family's week at the counter (inscription
asked and validated, a day booked, an illness, a semaine type), all journalled as that agent's
for that family; and a family giving up its place, which goes to the first child waiting.
axe-core at 1280 and 320 px on each state."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from contextlib import closing

import pytest

from ecp import clock
from ecp.booking import calendar as cal
from tests.browser.a11y import tab_until, wait_for_focus
from tests.browser.conftest import _new_page, running_server
from tests.browser.test_closures import at_both_widths
from tests.browser.test_public_and_login import keyboard_login_family, keyboard_login_staff


@pytest.fixture(scope="module")
def rush_server():
    with running_server(
        "ecp-inscriptions-", {"ECP_STAFF_MFA": "facultative"}, [("seed-demo",)]
    ) as server:
        yield server


async def _page(browser, server, **options):
    context, p = await _new_page(browser, server, **options)
    return context, p


def database(server) -> sqlite3.Connection:
    return sqlite3.connect(server.env["ECP_DATABASE_URL"].removeprefix("sqlite:///"))


def _stamp(minutes: int) -> str:
    base = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
    return (base + dt.timedelta(minutes=minutes)).isoformat()


def add_requests(server, code: str, n: int, school_id: int | None = None) -> list[int]:
    """n pending inscriptions to the activity `code` for children (of one school, or any)
    who have none to it this year; returns their ids, oldest request first."""
    with closing(database(server)) as db:
        activity, year = db.execute(
            "SELECT a.id, y.id FROM activity a, school_year y WHERE a.code = ? AND y.is_current",
            (code,),
        ).fetchone()
        sql = (
            "SELECT c.id FROM child c WHERE c.active AND c.school IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM inscription i WHERE i.child = c.id "
            "AND i.activity = ? AND i.school_year = ?)"
        )
        args: list = [activity, year]
        if school_id is not None:
            sql += " AND c.school = ?"
            args.append(school_id)
        children = [r[0] for r in db.execute(sql + " ORDER BY c.id LIMIT ?", (*args, n))]
        assert len(children) == n, "the demo has enough children without this activity"
        ids = []
        for i, child in enumerate(children):
            cursor = db.execute(
                "INSERT INTO inscription (child, activity, school_year, status, requested_at, "
                "reason) VALUES (?, ?, ?, 'en_attente', ?, '')",
                (child, activity, year, _stamp(i)),
            )
            ids.append(cursor.lastrowid)
        db.commit()
    return ids


def statuses(server, ids: list[int]) -> list[str]:
    with closing(database(server)) as db:
        found = dict(
            db.execute(
                f"SELECT id, status FROM inscription WHERE id IN ({','.join('?' * len(ids))})",
                ids,
            ).fetchall()
        )
    return [found[i] for i in ids]


async def test_thirty_requests_validated_at_once_by_keyboard(browser, rush_server):
    with closing(database(rush_server)) as db:
        # Unlimited places for the evening leisure centre: all thirty fit.
        db.execute(
            "UPDATE activity_capacity SET capacity = 0 WHERE activity = "
            "(SELECT id FROM activity WHERE code = 'alsh_soir')"
        )
        db.execute("UPDATE activity SET default_capacity = 0 WHERE code = 'alsh_soir'")
        db.commit()
    ids = add_requests(rush_server, "alsh_soir", 30)
    context, page = await _page(browser, rush_server)
    try:
        await keyboard_login_staff(page)
        await page.goto("/agents/inscriptions")
        await at_both_widths(page)
        await page.select_option("#activite", label="Accueil de loisirs du soir")
        await page.locator("#inscription-filters button[type=submit]").focus()
        await page.keyboard.press("Enter")
        await wait_for_focus(page, "e.id === 'inscription-results-title'")
        heading = await page.locator("#inscription-results-title").inner_text()
        assert heading.startswith("Inscriptions en attente – Accueil de loisirs du soir (")
        shown = int(heading.rsplit("(", 1)[1].rstrip(")"))
        assert shown >= 30  # ours, and the demo's own requests
        assert (await page.title()).startswith(heading)
        count = await page.locator("#inscription-count").inner_text()
        assert count == f"{shown} inscriptions trouvées."
        assert "activite=" in page.url  # the filtered list has its address
        # « Tout sélectionner » by keyboard: every box ticks, and the count is announced.
        await tab_until(page, "e.id === 'select-all'", max_tabs=40)
        await page.keyboard.press("Enter")
        assert await page.locator("input[name=inscriptions]:checked").count() == shown
        assert await page.locator("#select-all").inner_text() == "Tout désélectionner"
        flash = page.locator("#flash")
        assert await flash.inner_text() == f"{shown} inscriptions sélectionnées."
        await at_both_widths(page)
        await tab_until(
            page, "e.textContent.trim() === 'Valider la sélection'", max_tabs=2 * shown + 20
        )
        await page.keyboard.press("Enter")
        await page.wait_for_function(
            "() => document.getElementById('flash').textContent.includes('validées')"
        )
        await wait_for_focus(page, "e.id === 'inscription-results-title'")
        assert await flash.inner_text() == (
            f"{shown} inscriptions validées ; les familles sont prévenues par courriel."
        )
        assert await page.locator("#inscription-results tbody tr").count() == 0
        assert (await page.title()).startswith(
            "Inscriptions en attente – Accueil de loisirs du soir (0)"
        )
        await at_both_widths(page)
    finally:
        await context.close()
    assert statuses(rush_server, ids) == ["validee"] * 30
    with closing(database(rush_server)) as db:
        journal = db.execute(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'inscription_validate'"
        ).fetchone()[0]
        mails = db.execute(
            "SELECT COUNT(*) FROM outbox_email WHERE kind = 'inscription_decision'"
        ).fetchone()[0]
    assert journal == shown
    assert mails >= 30  # the families with an address (the demo's all have one)


async def test_waiting_list_then_promotion_without_javascript(browser, rush_server):
    with closing(database(rush_server)) as db:
        school_id, school, activity_id = db.execute(
            "SELECT s.id, s.name, a.id FROM school s, activity a "
            "WHERE a.code = 'garderie_matin' ORDER BY s.id LIMIT 1"
        ).fetchone()
        validated = db.execute(
            "SELECT COUNT(*) FROM inscription i JOIN child c ON c.id = i.child "
            "WHERE i.activity = ? AND c.school = ? AND i.status = 'validee'",
            (activity_id, school_id),
        ).fetchone()[0]
        assert validated >= 1
        # Full: as many places as validated inscriptions.
        db.execute(
            "UPDATE activity_capacity SET capacity = ? WHERE activity = ? AND school = ?",
            (validated, activity_id, school_id),
        )
        db.commit()
    waiting = add_requests(rush_server, "garderie_matin", 3, school_id)
    context, page = await _page(browser, rush_server)
    # As a browser without JavaScript gets the pages: neither htmx nor app.js is loaded (axe,
    # injected by the test, still runs).
    await page.route(re.compile(r".*/(vendor/htmx-[0-9.]+\.min|js/app)\.js$"), lambda r: r.abort())
    try:
        await keyboard_login_staff(page)
        assert not await page.evaluate("() => 'htmx' in window")
        query = f"ecole={school_id}&activite={activity_id}&niveau="
        await page.goto(f"/agents/inscriptions?{query}&statut=en_attente")
        pending = await page.locator("input[name=inscriptions]").count()
        assert pending >= 3
        # Without app.js the link reloads the list with every box ticked: count() does not
        # wait, so wait for that page before counting.
        async with page.expect_navigation():
            await page.get_by_role("link", name="Tout sélectionner").click()
        assert await page.locator("input[name=inscriptions]:checked").count() == pending
        await page.get_by_role("button", name="Valider la sélection").click()
        await page.wait_for_url(f"**/agents/inscriptions?{query}&statut=en_attente")
        flash = await page.locator("#flash").inner_text()
        assert flash.startswith(f"{pending} inscriptions mises en liste d’attente")
        assert statuses(rush_server, waiting) == ["liste_attente"] * 3
        await page.goto(f"/agents/inscriptions?{query}&statut=liste_attente")
        await at_both_widths(page)
        states = await page.locator("#inscription-results tbody td:last-child").all_inner_texts()
        assert states[:1] == ["en liste d’attente, 1er rang"]
        assert [s.split(", ")[1] for s in states] == [
            f"{n}{'er' if n == 1 else 'e'} rang" for n in range(1, pending + 1)
        ]
        # A family moves away: its inscription ends, the first in rank takes the place.
        await page.goto(f"/agents/inscriptions?{query}&statut=validee")
        await page.locator("#selection").check()
        # Without htmx the refusal is a whole page (422): wait for it before counting.
        async with page.expect_navigation():
            await page.get_by_role(
                "button", name="Mettre fin aux inscriptions sélectionnées"
            ).click()
        assert await page.locator(".error-summary").count() == 1  # the reason is missing
        assert (await page.title()).startswith("Erreur : ")
        await at_both_widths(page)
        await page.fill("#motif", "Déménagement de la famille")
        await page.get_by_role("button", name="Mettre fin aux inscriptions sélectionnées").click()
        await page.wait_for_url(f"**/agents/inscriptions?{query}&statut=validee")
        assert await page.locator("#flash").inner_text() == (
            "1 inscription annulée ; 1 enfant de la liste d’attente validé ; "
            "les familles sont prévenues par courriel."
        )
        await at_both_widths(page)
    finally:
        await context.close()
    first = waiting[0]
    with closing(database(rush_server)) as db:
        rank_one = db.execute(
            "SELECT i.id FROM inscription i JOIN child c ON c.id = i.child "
            "WHERE i.activity = ? AND c.school = ? AND i.status = 'validee' "
            "AND i.id IN (SELECT CAST(substr(target, 13) AS INTEGER) FROM audit_log "
            "WHERE action = 'inscription_promote')",
            (activity_id, school_id),
        ).fetchall()
        mail = db.execute(
            "SELECT o.subject, o.body_text FROM outbox_email o JOIN child c ON c.family = o.family "
            "JOIN inscription i ON i.child = c.id WHERE i.id = ? AND o.subject LIKE 'Une place%'",
            (rank_one[0][0],),
        ).fetchone()
    # Ours were asked for before the demo's own requests: the first of them was first in rank.
    assert [r[0] for r in rank_one] == [first]
    assert mail[0] == "Une place s’est libérée : inscription validée à Garderie du matin"
    assert "qui était en liste d’attente, est validée" in mail[1]


def next_school_day(weeks_ahead: int) -> dt.date:
    """A Monday, Tuesday, Thursday or Friday of the week `weeks_ahead` from now, not a holiday."""
    today = clock.today()
    day = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7 * weeks_ahead)
    while (
        day.isoweekday() not in (1, 2, 4, 5)
        or cal.school_holiday(day, "C")
        or (cal.public_holiday(day))
    ):
        day += dt.timedelta(days=1)
    return day


async def test_an_agent_does_a_familys_week_at_the_counter(browser, rush_server):
    with closing(database(rush_server)) as db:
        activity_id = db.execute(
            "SELECT id FROM activity WHERE code = 'garderie_matin'"
        ).fetchone()[0]
        # A family of the demo whose first child has no morning garderie this year.
        family_id, code, child_id, first_name, school_id = db.execute(
            "SELECT f.id, f.code, c.id, c.first_name, c.school FROM family f "
            "JOIN child c ON c.family = f.id WHERE c.active AND c.school IS NOT NULL "
            "AND f.code NOT IN ('F00001', 'F00002') AND NOT EXISTS (SELECT 1 FROM inscription i "
            "WHERE i.child = c.id AND i.activity = ?) ORDER BY f.id DESC, c.id LIMIT 1",
            (activity_id,),
        ).fetchone()
        db.execute(
            "UPDATE activity_capacity SET capacity = 0 WHERE activity = ? AND school = ?",
            (activity_id, school_id),
        )
        agent = db.execute("SELECT id FROM staff_user WHERE username = 'agent'").fetchone()[0]
        db.commit()
    day = next_school_day(1)
    week = cal.week_code(day - dt.timedelta(days=day.weekday()))
    record = f"/agents/familles/{family_id}"
    context, page = await _page(browser, rush_server)
    try:
        await keyboard_login_staff(page)
        await page.goto(record)
        await page.get_by_role("link", name="Inscriptions au guichet").click()
        await page.wait_for_url(f"**{record}/inscriptions")
        await at_both_widths(page)
        # The inscription, asked for and validated at once.
        await page.select_option(f"#activite-{child_id}", label="Garderie du matin")
        await page.check(f"#valider-{child_id}")
        form = page.locator("form", has=page.locator(f"#activite-{child_id}"))
        await form.locator("button[type=submit]").click()
        # The answer comes back to the same address: waiting for the address would not wait.
        await page.wait_for_function(
            "() => document.getElementById('flash').textContent.includes('1 inscription validée')"
        )
        assert await page.locator("#flash").inner_text() == (
            f"Inscription de {first_name} à « Garderie du matin » : 1 inscription validée ; "
            "la famille est prévenue par courriel."
        )
        await at_both_widths(page)
        # The week: one tap books the morning garderie (htmx swaps the grid).
        await page.goto(f"{record}/reservations?semaine={week}")
        await at_both_widths(page)
        cell = f"#cell-{child_id}-{activity_id}-{day.isoformat()}"
        await page.locator(f"{cell} button").click()
        await page.wait_for_function(
            "() => document.getElementById('flash').textContent.includes('Réservation enregistrée')"
        )
        assert f"Réservation enregistrée : Garderie matin pour {first_name}" in (
            await page.locator("#flash").inner_text()
        )
        await at_both_widths(page)
        # The child falls ill that day: the family phones the service.
        await page.goto(f"{record}/maladie")
        await at_both_widths(page)
        await page.check(f"input[name=enfant][value='{child_id}']")
        await page.fill("#jour", day.isoformat())
        await page.get_by_role("button", name="Signaler l’absence pour maladie").click()
        await page.wait_for_url(f"**{record}/reservations?semaine={week}")
        assert "Absence pour maladie signalée pour " + first_name in (
            await page.locator("#flash").inner_text()
        )
        assert "malade" in (await page.locator(cell).get_attribute("class"))
        # A semaine type for the week after: every Thursday's morning garderie.
        later = next_school_day(2)
        monday = later - dt.timedelta(days=later.weekday())
        await page.goto(f"{record}/semaine-type")
        await at_both_widths(page)
        await page.check(f"input[name=enfants][value='{child_id}']")
        await page.check(f"input[name=jours_{activity_id}][value='4']")
        await page.fill("#du", monday.isoformat())
        await page.fill("#au", (monday + dt.timedelta(days=4)).isoformat())
        await page.get_by_role("button", name="Voir les changements").click()
        await wait_for_focus(page, "e.id === 'plan-title'")
        await at_both_widths(page)
        await page.get_by_role("button", name="Confirmer la réservation").click()
        await page.wait_for_url(f"**{record}/reservations?semaine=*")
        assert await page.locator("#flash").inner_text() == (
            "Semaine type appliquée pour la famille : 1 réservation ajoutée."
        )
        await at_both_widths(page)
    finally:
        await context.close()
    with closing(database(rush_server)) as db:
        journal = db.execute(
            "SELECT action, staff FROM audit_log WHERE family = ? ORDER BY id", (family_id,)
        ).fetchall()
        mails = db.execute(
            "SELECT COUNT(*) FROM outbox_email WHERE family = ?", (family_id,)
        ).fetchone()[0]
    actions = [a for a, _staff in journal if a != "family_view"]
    for expected in (
        "inscription_request",
        "inscription_validate",
        "booking_book",
        "booking_illness",
        "booking_pattern",
    ):
        assert expected in actions, (expected, actions, code)
    assert {s for a, s in journal if a in actions} == {agent}
    assert mails >= 4  # validated, booked, ill, semaine type


async def test_a_family_gives_up_its_place_and_the_first_waiting_child_gets_it(
    browser, rush_server
):
    with closing(database(rush_server)) as db:
        inscription, activity_id, school_id, year, label = db.execute(
            "SELECT i.id, i.activity, c.school, i.school_year, a.label FROM inscription i "
            "JOIN child c ON c.id = i.child JOIN family f ON f.id = c.family "
            "JOIN activity a ON a.id = i.activity WHERE f.code = 'F00001' "
            "AND c.first_name = 'Léa' AND a.code = 'restauration' AND i.status = 'validee'"
        ).fetchone()
        validated = db.execute(
            "SELECT COUNT(*) FROM inscription i JOIN child c ON c.id = i.child "
            "WHERE i.activity = ? AND c.school = ? AND i.status = 'validee'",
            (activity_id, school_id),
        ).fetchone()[0]
        db.execute(
            "UPDATE activity_capacity SET capacity = ? WHERE activity = ? AND school = ?",
            (validated, activity_id, school_id),
        )
        db.commit()
    waiting = add_requests(rush_server, "restauration", 1, school_id)[0]
    with closing(database(rush_server)) as db:
        db.execute(
            "UPDATE inscription SET status = 'liste_attente', waitlisted_at = ? WHERE id = ?",
            (_stamp(0), waiting),
        )
        waiting_family = db.execute(
            "SELECT c.family FROM inscription i JOIN child c ON c.id = i.child WHERE i.id = ?",
            (waiting,),
        ).fetchone()[0]
        db.commit()
    context, page = await _page(browser, rush_server)
    try:
        await keyboard_login_family(page)
        await page.goto("/famille/inscriptions")
        await at_both_widths(page)
        button = page.get_by_role("button", name=f"Renoncer à l’inscription de Léa à {label}")
        # A plain form whose redirect comes back to the page it is on: a URL wait would match
        # at once and read the old page's flash; wait for the navigation itself.
        async with page.expect_navigation(url="**/famille/inscriptions"):
            await button.click()
        assert await page.locator("#flash").inner_text() == (
            f"Vous avez renoncé à l’inscription de Léa à « {label} »."
        )
        await at_both_widths(page)
    finally:
        await context.close()
    assert statuses(rush_server, [inscription, waiting]) == ["annulee", "validee"]
    with closing(database(rush_server)) as db:
        subjects = [
            r[0]
            for r in db.execute(
                "SELECT subject FROM outbox_email WHERE family = ?", (waiting_family,)
            ).fetchall()
        ]
    assert f"Une place s’est libérée : inscription validée à {label}" in subjects
