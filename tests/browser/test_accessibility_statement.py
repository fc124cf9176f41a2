"""The accessibility statement and « Mes données » in a real browser: axe-core clean at 320 and
1280 px, no sideways scrolling on a phone, reachable by keyboard."""

from __future__ import annotations

from tests.browser.a11y import small_targets, tab_until
from tests.browser.test_public_and_login import keyboard_login_family
from tests.browser.test_session_expiry import axe_at_320_and_1280


async def test_the_statement_passes_axe_at_320_and_1280(page):
    await page.goto("/")
    await tab_until(
        page, "e.closest('footer') && e.getAttribute('href') === '/accessibilite'", max_tabs=80
    )
    assert (await page.evaluate("document.activeElement.textContent.trim()")) == (
        "Accessibilité : non conforme"
    )
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/accessibilite")
    assert await page.locator("h1").inner_text() == "Déclaration d’accessibilité"
    text = await page.locator("main").inner_text()
    assert "non conforme" in text and "Défenseur des droits" in text
    await axe_at_320_and_1280(page)
    assert await small_targets(page) == []


async def test_my_data_passes_axe_at_320_and_1280(page):
    await keyboard_login_family(page)
    await page.goto("/famille/mes-donnees")
    assert await page.locator("h1").inner_text() == "Mes données"
    text = await page.locator("#my-data").inner_text()
    assert "Code famille" in text and "created_at" not in text
    await axe_at_320_and_1280(page)
    assert await small_targets(page) == []
    # The tables scroll in their own region, which the keyboard reaches.
    await tab_until(page, "e.classList.contains('table-wrap')", max_tabs=120)
