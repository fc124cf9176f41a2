"""Closures in a real browser, on a demo server of their own (the closure cancels bookings the
other browser tests rely on): the administrator adds a strike next week at Léa's school, sees
the bookings it hits, confirms; the Martin family then sees « Fermé » on that day, the
effectifs of that school and day are empty, the kitchen counts 0 meals, and each family of the
preview has exactly one e-mail in the outbox. axe-core at 1280 and 320 px on the preview and
the result; then the same at Hugo's school with htmx not loaded (the pages a browser without
JavaScript gets: the full preview page, 303 after the confirmation)."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from contextlib import closing

import pytest
from babel.dates import format_date

from ecp import clock
from ecp.booking import calendar as cal
from tests.browser.a11y import assert_accessible, assert_reflows_at_320, small_targets
from tests.browser.conftest import _new_page, running_server
from tests.browser.test_public_and_login import keyboard_login_family, keyboard_login_staff


@pytest.fixture(scope="module")
def closure_server():
    with running_server(
        "ecp-closures-", {"ECP_STAFF_MFA": "facultative"}, [("seed-demo",)]
    ) as server:
        yield server


@pytest.fixture
async def admin_page(browser, closure_server):
    context, p = await _new_page(browser, closure_server)
    yield p
    csp = [m for m in p.console_messages if "Content Security Policy" in m]
    await context.close()
    assert not csp, csp


def database(server) -> sqlite3.Connection:
    return sqlite3.connect(server.env["ECP_DATABASE_URL"].removeprefix("sqlite:///"))


def next_booked_day(server, first_name: str) -> tuple[dt.date, int, str]:
    """The first day of next week (or after) on which the Martin child has a booking, with
    the child's school (id, name)."""
    today = clock.today()
    monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7)
    with closing(database(server)) as db:
        row = db.execute(
            "SELECT b.day, s.id, s.name FROM booking b JOIN child c ON c.id = b.child "
            "JOIN family f ON f.id = c.family JOIN school s ON s.id = c.school "
            "WHERE f.code = 'F00001' AND c.first_name = ? AND b.state = 'reservee' "
            "AND b.day >= ? ORDER BY b.day LIMIT 1",
            (first_name, monday.isoformat()),
        ).fetchone()
    assert row, "the demo books the Martin children in the coming weeks"
    return dt.date.fromisoformat(row[0]), row[1], row[2]


def closure_mails(server) -> dict[str, int]:
    """E-mails of the closures by family code."""
    with closing(database(server)) as db:
        return dict(
            db.execute(
                "SELECT f.code, COUNT(*) FROM outbox_email o JOIN family f ON f.id = o.family "
                "WHERE o.kind = 'fermeture' GROUP BY f.code"
            ).fetchall()
        )


async def at_both_widths(page) -> None:
    assert await page.locator("h1").count() == 1, page.url
    await assert_accessible(page)  # 1280 px
    size = page.viewport_size
    await page.set_viewport_size({"width": 320, "height": 800})
    try:
        await assert_accessible(page)
    finally:
        await page.set_viewport_size(size)
    await assert_reflows_at_320(page)
    assert await small_targets(page) == [], page.url


def jour(day: dt.date) -> str:
    return format_date(day, "EEEE d MMMM", locale="fr_FR")


async def fill_closure(page, day: dt.date, school: str, reason: str) -> None:
    await page.fill("#fermeture_du", day.isoformat())
    await page.select_option("#ecole", label=school)
    await page.fill("#motif", reason)


async def preview_families(page) -> list[str]:
    names = await page.locator("ul.closure-impact > li > a").all_inner_texts()
    return [re.search(r"\((F\d+)\)$", n).group(1) for n in names]


async def test_a_strike_at_one_school_closes_the_day_for_its_families(
    admin_page, browser, closure_server
):
    page = admin_page
    day, school_id, school = next_booked_day(closure_server, "Léa")
    await keyboard_login_staff(page)
    await page.goto("/agents/parametres#closures-title")
    await fill_closure(page, day, school, "Grève")
    await page.get_by_role("button", name="Ajouter la fermeture").click()
    # htmx swaps the preview in place of the closures section and focuses its title.
    title = page.locator("#closure-preview-title")
    await title.wait_for()
    await page.wait_for_function(
        "() => document.activeElement && document.activeElement.id === 'closure-preview-title'"
    )
    assert re.fullmatch(r"Cette fermeture annule \d+ réservations?", await title.inner_text())
    families = await preview_families(page)
    assert "F00001" in families
    martin = page.locator("ul.closure-impact > li", has_text="(F00001)")
    assert f"Léa Martin : {jour(day)}" in await martin.inner_text()
    assert closure_mails(closure_server) == {}  # nothing written yet
    await at_both_widths(page)

    await page.get_by_role("button", name=re.compile(r"^Confirmer la fermeture")).click()
    # The section comes back with the new closure, its title focused, the message in #flash.
    await page.wait_for_function(
        "() => /La fermeture est enregistrée/.test("
        "document.querySelector('#flash')?.textContent || '')"
    )
    await page.wait_for_function(
        "() => document.activeElement && document.activeElement.id === 'closures-title'"
    )
    flash = await page.locator("#flash").inner_text()
    assert re.search(
        rf"La fermeture est enregistrée : \d+ réservations? annulées? pour "
        rf"{len(families)} familles?, \d+ familles? prévenues? par courriel",
        flash,
    ), flash
    assert "Grève" in await page.locator("#closures .closure-list").inner_text()
    await at_both_widths(page)

    # Exactly one e-mail per family of the preview.
    assert closure_mails(closure_server) == dict.fromkeys(families, 1)

    # The family sees « Fermé » on that day for Léa, although she was booked.
    context, family = await _new_page(browser, closure_server)
    try:
        await keyboard_login_family(family)
        monday = day - dt.timedelta(days=day.weekday())
        await family.goto(f"/famille/reservations?semaine={cal.week_code(monday)}")
        child = family.locator("section.week-child", has_text="Léa Martin")
        body = child.locator("li.week-day", has_text=jour(day).capitalize())
        text = " ".join((await body.inner_text()).split())
        assert "Fermé : Grève" in text, text  # the whole day on one line
        assert "Réservé" not in text
        await at_both_widths(family)
    finally:
        await context.close()

    # The effectifs of that school and day list nobody; the kitchen counts 0 meals.
    await page.goto(f"/agents/effectifs?jour={day.isoformat()}&ecole={school_id}")
    assert await page.locator("li.pointage-child").count() == 0
    kitchen = await page.locator("#kitchen-title + ul").inner_text()
    assert f"{school} : 0 repas" in kitchen, kitchen
    await at_both_widths(page)


async def test_the_preview_and_confirmation_as_pages_without_htmx(browser, closure_server):
    """The forms as a browser without JavaScript posts them (htmx is not loaded: the pages
    are then the full pages, 303 after the confirmation), with axe on each."""
    day, school_id, school = next_booked_day(closure_server, "Hugo")
    context, page = await _new_page(browser, closure_server)
    await page.route(re.compile(r".*/vendor/htmx-[0-9.]+\.min\.js$"), lambda r: r.abort())
    try:
        before = closure_mails(closure_server)
        await keyboard_login_staff(page)
        await page.goto("/agents/parametres")
        assert not await page.evaluate("() => 'htmx' in window")
        await fill_closure(page, day, school, "Grève des agents")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Ajouter la fermeture").click()
        assert await page.locator("h1").inner_text() == (
            "Vérifier la fermeture avant de la confirmer"
        )
        families = await preview_families(page)
        assert "F00001" in families
        await at_both_widths(page)
        async with page.expect_navigation():
            await page.get_by_role("button", name=re.compile(r"^Confirmer la fermeture")).click()
        assert page.url.endswith("/agents/parametres#closures-title")
        assert "La fermeture est enregistrée" in await page.locator("#flash").inner_text()
        await at_both_widths(page)
        after = closure_mails(closure_server)
        assert {code: after[code] - before.get(code, 0) for code in families} == dict.fromkeys(
            families, 1
        )
        await page.goto(f"/agents/effectifs?jour={day.isoformat()}&ecole={school_id}")
        assert await page.locator("li.pointage-child").count() == 0
    finally:
        await context.close()


async def test_places_below_the_bookings_are_shown_then_confirmed(admin_page, closure_server):
    page = admin_page
    _day, school_id, school = next_booked_day(closure_server, "Léa")
    with closing(database(closure_server)) as db:
        (cantine,) = db.execute("SELECT id FROM activity WHERE code = 'restauration'").fetchone()
    await keyboard_login_staff(page)
    await page.goto(f"/agents/parametres/activites/{cantine}")
    await page.fill(f"#capacite-{school_id}", "1")
    await page.get_by_role("button", name="Enregistrer l’activité").click()
    warning = page.locator("#over-capacity")
    await warning.wait_for()
    assert re.search(rf"{school} : \d+ réservations pour 1 place", await warning.inner_text())
    assert await page.locator(".error-summary a[href='#confirmer_places']").count() == 1
    await at_both_widths(page)
    await page.check("#confirmer_places")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Enregistrer l’activité").click()
    assert "est enregistrée" in await page.locator("#flash").inner_text()
    with closing(database(closure_server)) as db:
        (places,) = db.execute(
            "SELECT capacity FROM activity_capacity WHERE activity = ? AND school = ?",
            (cantine, school_id),
        ).fetchone()
    assert places == 1
