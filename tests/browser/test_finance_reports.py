"""The State's figures and the certificates in a real browser: the régisseur reads the CAF hours
of the year then of a month (htmx, focus on the result), the canteen's meals, the certificates'
page; a family opens its certificates. axe-core at 1280 and 320 px on each."""

from __future__ import annotations

import re

from tests.browser.a11y import wait_for_focus
from tests.browser.test_pes_export import check_page
from tests.browser.test_public_and_login import keyboard_login_family, keyboard_login_staff


async def test_regisseur_reads_the_caf_hours_and_the_meals(page):
    await keyboard_login_staff(page)
    await page.goto("/agents/finance/caf")
    await check_page(page)
    assert "Heures de présence" in await page.locator("#caf-title").inner_text()
    month = await page.locator("#periode option").nth(3).get_attribute("value")
    await page.locator("#periode").select_option(month)
    await page.get_by_role("button", name="Afficher les heures").click()
    await page.wait_for_url(re.compile("periode=" + month))
    await wait_for_focus(page, "e.id === 'caf-title'")
    await check_page(page)
    await page.goto("/agents/finance/ma-cantine")
    await check_page(page)
    assert "repas" in await page.locator("#meals-summary").inner_text()
    await page.goto("/agents/finance/attestations")
    await check_page(page)


async def test_a_family_opens_its_certificates(page):
    await keyboard_login_family(page)
    await page.goto("/famille/attestations")
    await check_page(page)
    assert await page.locator("h1").inner_text() == "Attestations de frais de garde"
