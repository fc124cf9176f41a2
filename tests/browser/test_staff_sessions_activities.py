"""The administrator in a real browser, by keyboard alone: closing a family's open sessions (the
family's own browser is logged out) and creating an activity (errors first, then the tariffs
page, then the family can ask for it), with axe-core, 320 px reflow and target sizes checked."""

from __future__ import annotations

import re

from tests.browser.a11y import (
    assert_accessible,
    assert_reflows_at_320,
    small_targets,
    tab_until,
    wait_for_error_summary_focus,
    wait_for_error_title,
    wait_for_focus,
)
from tests.browser.conftest import _new_page
from tests.browser.test_public_and_login import keyboard_login_family, keyboard_login_staff


async def check(page) -> None:
    assert await page.locator("h1").count() == 1, page.url
    await assert_accessible(page)
    await assert_reflows_at_320(page)
    assert await small_targets(page) == [], page.url


async def family_record_url(page, code: str) -> str:
    await page.goto(f"/agents/familles?q={code}")
    return await page.locator("#family-results a").first.get_attribute("href")


async def test_admin_closes_a_familys_sessions_by_keyboard(page, browser, live_server):
    context, family = await _new_page(browser, live_server)
    try:
        await keyboard_login_family(family, "F00002", "demo-famille-2")
        await keyboard_login_staff(page)
        record = await family_record_url(page, "F00002")
        await page.goto(record)
        sessions = page.locator("#sessions-title + p")
        assert re.match(r"\d+ sessions? ouvertes? en ce moment\.", await sessions.inner_text())
        await check(page)
        await tab_until(
            page, "e.textContent.trim() === 'Fermer les sessions ouvertes'", max_tabs=200
        )
        hint_id = await page.evaluate("document.activeElement.getAttribute('aria-describedby')")
        hint = await page.locator(f"#{hint_id}").inner_text()
        assert "devra se reconnecter" in hint and "reste actif" in hint
        await page.keyboard.press("Enter")
        await page.wait_for_function(
            "() => /fermées? : la famille devra se reconnecter/.test("
            "document.querySelector('#flash')?.textContent || '')"
        )
        assert page.url.endswith(record)
        assert await page.locator("#sessions-title + p").inner_text() == (
            "Aucune session ouverte en ce moment."
        )
        await check(page)
        # The family's browser is logged out at its next request, its account still open.
        await family.goto("/famille/")
        await family.wait_for_selector("#code_famille")
        assert "/famille/" not in family.url.split("?")[0]
        await keyboard_login_family(family, "F00002", "demo-famille-2")
    finally:
        await context.close()


async def test_admin_creates_an_activity_by_keyboard_and_families_can_ask_for_it(
    page, browser, live_server
):
    await keyboard_login_staff(page)
    await page.goto("/agents/parametres")
    await tab_until(page, "e.textContent.trim() === 'Nouvelle activité'", max_tabs=120)
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/activites/nouvelle$"))
    await check(page)
    await tab_until(page, "e.textContent.trim() === 'Créer l’activité'", max_tabs=80)
    await page.keyboard.press("Enter")  # nothing typed yet: the errors, swapped in place
    await page.wait_for_selector("#activity-form .error-summary")
    await wait_for_error_title(page)
    await wait_for_error_summary_focus(page)
    await check(page)
    await tab_until(page, "e.getAttribute('href') === '#libelle'")
    await page.keyboard.press("Enter")
    await wait_for_focus(page, "e.id === 'libelle'")
    await page.keyboard.type("Atelier théâtre")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "libelle_court"
    await page.keyboard.type("Théâtre")
    for field, value in (("debut", "16:30"), ("fin", "18:00")):
        await tab_until(page, f"e.id === '{field}'")
        await page.keyboard.type(value)
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/agents/parametres/tarifs$"))
    assert "L’activité « Atelier théâtre » est créée." in await page.locator("#flash").inner_text()
    assert await page.locator("#activite option", has_text="Atelier théâtre").count() == 1
    await check(page)

    context, family = await _new_page(browser, live_server)
    try:
        await keyboard_login_family(family)
        await family.goto("/famille/inscriptions")
        assert (
            await family.locator("select[name=activite] option", has_text="Atelier théâtre").count()
            >= 1
        )
    finally:
        await context.close()
