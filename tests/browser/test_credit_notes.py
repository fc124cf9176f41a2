"""A credit note for some days of an invoice line, in a real browser: the régisseur ticks days
and a reason by keyboard (htmx, and without JavaScript), the family then reads the credit note
and its effect on its invoices. axe-core at 320 and 1280 px on every page and state. Families
F00003 and F00004 of the demo, whom the other browser tests do not read."""

from __future__ import annotations

import re

from tests.browser.a11y import (
    assert_accessible,
    assert_reflows_at_320,
    small_targets,
    tab_until,
    wait_for_error_summary_focus,
)
from tests.browser.test_public_and_login import keyboard_login_family, keyboard_login_staff

BUTTON = "e.tagName === 'BUTTON' && e.textContent.includes('%s')"


async def accessible_at_both_widths(page) -> None:
    """axe-core on the page as a phone (320 px) and a desktop (1280 px) show it."""
    size = page.viewport_size
    await page.set_viewport_size({"width": 320, "height": 800})
    try:
        await assert_accessible(page)
    finally:
        await page.set_viewport_size(size)
    await assert_accessible(page)


async def check_page(page) -> None:
    assert await page.locator("h1").count() == 1, page.url
    await accessible_at_both_widths(page)
    await assert_reflows_at_320(page)
    assert await small_targets(page) == [], page.url


async def _open_invoice(page, code: str) -> str:
    await page.goto(f"/agents/factures?famille={code}")
    await check_page(page)
    link = page.locator("#staff-invoice-list tbody a", has_text="FAC-").first
    number = (await link.inner_text()).strip()
    await link.click()
    await page.wait_for_url(re.compile(r"/agents/factures/\d+$"))
    await check_page(page)
    return number


async def test_regisseur_credits_two_days_by_keyboard_and_the_family_sees_it(page):
    await keyboard_login_staff(page)
    number = await _open_invoice(page, "F00003")
    # Nothing ticked: the error summary is announced, focused and accessible.
    await page.focus("#ligne")
    await tab_until(page, BUTTON % "Émettre l’avoir", max_tabs=200)
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#credit-note-form .error-summary")
    await wait_for_error_summary_focus(page)
    await accessible_at_both_widths(page)
    # Two days of the first line, a reason from the list, and a few words.
    await page.focus("#ligne")
    for _ in range(2):
        await tab_until(page, "e.name === 'jour' && !e.disabled && !e.checked", max_tabs=200)
        await page.keyboard.press("Space")
    await tab_until(page, "e.name === 'raison'", max_tabs=200)
    await page.keyboard.press("Space")  # the first reason: « Sortie scolaire »
    assert await page.locator("#raison").is_checked()
    await tab_until(page, "e.id === 'motif'")
    await page.keyboard.type("Sortie au musée")
    await tab_until(page, BUTTON % "Émettre l’avoir")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/agents/factures/\d+$"))
    await page.wait_for_function(
        "() => document.querySelector('h1').textContent.startsWith('Avoir AV-')"
    )
    await check_page(page)
    credit = (await page.locator("h1").inner_text()).removeprefix("Avoir ").strip()
    assert f"émis sur la facture {number}" in await page.locator("#flash").inner_text()
    document = await page.locator("#invoice-document").inner_text()
    assert "Sortie scolaire" in document and "Sortie au musée" in document
    assert len(await page.locator(".invoice-lines tbody tr").all()) == 1

    # The family reads it in its list, and on the credit note itself.
    await page.context.clear_cookies()
    await keyboard_login_family(page, "F00003", "demo-famille-3")
    await page.goto("/famille/factures")
    await check_page(page)
    await tab_until(page, f"e.tagName === 'A' && e.textContent.includes('{credit}')", max_tabs=120)
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/famille/factures/\d+$"))
    await check_page(page)
    text = await page.locator("#invoice-document").inner_text()
    assert credit in text and number in text and "Sortie au musée" in text


async def test_regisseur_credits_a_day_without_javascript(nojs_page):
    page = nojs_page
    await keyboard_login_staff(page)
    await page.goto("/agents/factures?famille=F00004")
    await page.locator("#staff-invoice-list tbody a", has_text="FAC-").first.click()
    await page.wait_for_url(re.compile(r"/agents/factures/\d+$"))
    await page.locator("#credit-note-form input[name=jour]:not([disabled])").first.check()
    await page.locator("#raison-autre").check()
    await page.get_by_role("button", name="Émettre l’avoir").click()
    # « Autre » needs words: the form comes back (422) with the day still ticked.
    await page.wait_for_selector("#credit-note-form .error-summary")
    assert await page.locator("#credit-note-form input[name=jour]:checked").count() == 1
    await page.locator("#motif").fill("Repas non servi")
    await page.get_by_role("button", name="Émettre l’avoir").click()
    await page.wait_for_url(re.compile(r"/agents/factures/\d+$"))
    assert (await page.locator("h1").inner_text()).startswith("Avoir AV-")
    assert "Repas non servi" in await page.locator("#invoice-document").inner_text()
