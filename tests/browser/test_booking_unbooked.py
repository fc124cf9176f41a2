"""Pointage in a real browser, by keyboard alone: adding a child present without a booking to
a list of /agents/effectifs, with htmx and without JavaScript; axe-core before and after,
after a validation error, and 320 px reflow."""

from __future__ import annotations

import datetime as dt
import re

from ecp import clock
from ecp.booking import calendar as cal
from tests.browser.a11y import assert_accessible, assert_reflows_at_320, small_targets, tab_until
from tests.browser.test_booking import has_id, tab_to
from tests.browser.test_public_and_login import keyboard_login_staff


def last_school_day(before: int = 1) -> dt.date:
    """The `before`-th school day before today (the demo has bookings on it)."""
    day = clock.today()
    found = 0
    while found < before:
        day -= dt.timedelta(days=1)
        if day.weekday() < 5 and not cal.school_holiday(day, "C") and not cal.public_holiday(day):
            found += 1
    return day


async def check(page) -> None:
    assert await page.locator("h1").count() == 1
    await assert_accessible(page)
    await assert_reflows_at_320(page)
    assert await small_targets(page) == []


async def test_add_a_child_without_booking_by_keyboard_with_htmx(page):
    await keyboard_login_staff(page)
    await page.goto(f"/agents/effectifs?jour={last_school_day(1).isoformat()}&ecole=1")
    await check(page)
    select = page.locator("select[name=enfant]").first
    select_id = await select.get_attribute("id")
    list_id = "liste-" + select_id.removeprefix("enfant-")
    # Submitting without a choice: the error, swapped in place and announced.
    await tab_until(page, f"e.id === '{select_id}'", max_tabs=600)
    await tab_until(page, "e.textContent.trim().startsWith('Ajouter comme présent')")
    await page.keyboard.press("Enter")
    summary = page.locator(".error-summary")
    await summary.wait_for()
    assert "Choisissez l’enfant présent" in await summary.inner_text()
    await page.wait_for_function("() => document.activeElement.classList.contains('error-summary')")
    assert (await page.title()).startswith("Effectifs")  # the fragment leaves <title> alone
    await assert_accessible(page)
    # Choose the first child offered, by keyboard, and add him or her.
    # The summary's link leads to the field, by keyboard.
    await page.keyboard.press("Tab")
    assert await page.locator(":focus").get_attribute("href") == f"#{select_id}"
    await page.keyboard.press("Enter")
    await page.wait_for_function(f"() => document.activeElement.id === '{select_id}'")
    await page.keyboard.press("ArrowDown")
    child_id = await page.locator(f"#{select_id}").input_value()
    name = (await page.locator(f"#{select_id} option[value='{child_id}']").inner_text()).strip()
    assert child_id
    await page.keyboard.press("Tab")
    assert (await page.locator(":focus").inner_text()).startswith("Ajouter comme présent")
    await page.keyboard.press("Enter")
    item_id = f"pointage-{select_id.removeprefix('enfant-')}-{child_id}"
    await page.wait_for_function(f"() => document.activeElement.id === '{item_id}'")
    item = page.locator(f"#{list_id} #{item_id}")
    assert "sans réservation" in await item.inner_text()
    assert await item.locator("input[value=present]").is_checked()
    # Said in the list's own status, beside it (the other lists were left alone).
    status = page.locator(f"#{list_id}-status")
    assert "Présence sans réservation enregistrée" in await status.inner_text()
    # The child is no longer offered; the radios are reachable from the added entry.
    assert await page.locator(f"#{select_id} option[value='{child_id}']").count() == 0
    await page.keyboard.press("Tab")
    focused = await page.locator(":focus").get_attribute("name")
    assert focused.startswith("statut_") and focused.endswith(f"_{child_id}")
    assert name.split()[0] in await item.inner_text()
    await check(page)


async def test_add_a_child_without_booking_without_javascript(nojs_page):
    page = nojs_page
    await page.goto("/agents/connexion")
    await tab_to(page, has_id("identifiant"))
    await page.keyboard.type("agent")
    await page.keyboard.press("Tab")
    await page.keyboard.type("demo-agent-sej-2026")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    day = last_school_day(2)
    # No axe or reflow check here: page.evaluate does not run with JavaScript disabled; the
    # htmx test checks the same markup.
    await page.goto(f"/agents/effectifs?jour={day.isoformat()}&ecole=1")
    select = page.locator("select[name=enfant]").first
    select_id = await select.get_attribute("id")
    # Start keyboard navigation at the form's hint (as a skip link would) rather than tabbing
    # through every child of the lists above, which takes minutes without JavaScript.
    await page.goto(f"/agents/effectifs?jour={day.isoformat()}&ecole=1#{select_id}-hint")
    await tab_to(page, has_id(select_id), max_tabs=5)
    await page.keyboard.press("ArrowDown")
    child_id = await select.input_value()
    await page.keyboard.press("Tab")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert re.search(
        rf"jour={day.isoformat()}&ecole=1#liste-{select_id.removeprefix('enfant-')}$", page.url
    )
    assert "Présence sans réservation enregistrée" in await page.locator("#flash").inner_text()
    item = page.locator(f"#pointage-{select_id.removeprefix('enfant-')}-{child_id}")
    assert "sans réservation" in await item.inner_text()
