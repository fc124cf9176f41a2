"""The régisseur in a real browser: settles the demo's card attempt Paybox never answered, from
what the back office shows, then marks a billing anomaly justified, with htmx and without
JavaScript; axe-core at 1280 and 320 px on every page and state of the journey."""

from __future__ import annotations

import re

from tests.browser.a11y import (
    assert_accessible,
    assert_reflows_at_320,
    small_targets,
    tab_until,
    wait_for_error_summary_focus,
    wait_for_error_title,
)
from tests.browser.test_public_and_login import keyboard_login_staff

RECONCILIATION = "/agents/paiements/rapprochement"
ANOMALIES = "/agents/facturation/anomalies"


async def check_page(page) -> None:
    """One h1, axe-core at 1280 and at 320 px, no sideways scroll at 320, big enough targets."""
    assert await page.locator("h1").count() == 1, page.url
    await assert_accessible(page)
    size = page.viewport_size
    await page.set_viewport_size({"width": 320, "height": 800})
    try:
        await assert_accessible(page)
    finally:
        await page.set_viewport_size(size)
    await assert_reflows_at_320(page)
    assert await small_targets(page) == [], page.url


async def test_regisseur_settles_a_card_attempt_without_news_and_justifies_an_anomaly(page):
    await keyboard_login_staff(page)
    await page.goto(RECONCILIATION)
    await check_page(page)
    # The demo's attempt whose notification never came, listed with its age.
    item = page.locator("#anomalies-carte + ul li", has_text="ECP-demo-")
    assert re.search(r"il y a \d+ h \d\d", await item.inner_text())
    reference = re.search(r"ECP-demo-[\w-]+", await item.inner_text()).group(0)
    await tab_until(page, "e.tagName === 'A' && e.textContent.startsWith('constater le résultat')")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/rapprochement/tentatives/\d+$"))
    assert reference in await page.locator(".figures").inner_text()
    await check_page(page)

    # « Payé » without the transaction number: the error comes back in place (htmx).
    await page.locator("#resultat").check()
    await page.get_by_role("button", name="Enregistrer le résultat").click()
    await wait_for_error_title(page)
    await wait_for_error_summary_focus(page)
    assert "numéro de transaction" in await page.locator(".error-summary").inner_text()
    assert await page.locator("#resultat").is_checked()  # the choice is kept
    await check_page(page)

    await page.locator("#transaction").fill("612345")
    await page.locator("#note").fill("Vu sur le back-office")
    await page.get_by_role("button", name="Enregistrer le résultat").click()
    await page.wait_for_url(re.compile(r"/agents/paiements/rapprochement$"))
    flash = await page.locator("#flash").inner_text()
    assert "enregistré pour la tentative " + reference in flash
    anomalies = await page.locator("#anomalies-carte + *").inner_text()
    assert reference not in anomalies
    row = page.locator("table tr", has_text=reference)
    assert "confirmé (constaté par la régie)" in await row.inner_text()
    await check_page(page)

    # Then a billing anomaly of November, justified with a note.
    await tab_until(page, "e.getAttribute('href') === '/agents/facturation/anomalies'", 80)
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/agents/facturation/anomalies$"))
    await check_page(page)
    rows = page.locator("#anomalies tbody tr")
    before = await rows.count()
    assert before >= 1
    first = await rows.first.inner_text()
    await page.locator("#anomalie").check()
    await page.locator("#etat").check()  # « Justifiées »
    await page.get_by_role("button", name="Enregistrer").click()
    await wait_for_error_title(page)
    await wait_for_error_summary_focus(page)
    assert "Indiquez pourquoi" in await page.locator(".error-summary").inner_text()
    assert await page.locator("#anomalie").is_checked()
    await check_page(page)
    await page.locator("#note").fill("Présence autorisée par la directrice")
    await page.get_by_role("button", name="Enregistrer").click()
    await page.wait_for_function(
        "() => document.querySelector('#flash').textContent.includes('marquée justifiée')"
    )
    row = page.locator("#anomalies tbody tr", has_text=first.split("\t")[0].strip())
    assert "justifiée" in await row.first.inner_text()
    assert "Présence autorisée par la directrice" in await row.first.inner_text()
    await check_page(page)

    # Filtered by state, the justified one is not among those to handle.
    await page.select_option("#filtre-etat", "a_traiter")
    await page.get_by_role("button", name="Afficher").click()
    await page.wait_for_url(re.compile(r"etat=a_traiter"))
    await page.wait_for_function(
        f"() => document.querySelectorAll('#anomalies tbody tr').length === {before - 1}"
    )
    await check_page(page)


async def test_regisseur_marks_an_anomaly_corrected_without_javascript(nojs_page):
    page = nojs_page
    await keyboard_login_staff(page)
    await page.goto(ANOMALIES + "?etat=a_traiter")
    rows = page.locator("#anomalies tbody tr")
    before = await rows.count()
    assert before >= 1
    await page.locator("#anomalie").check()
    await page.locator("#etat-corrigee").check()
    await page.get_by_role("button", name="Enregistrer").click()
    await page.wait_for_url(
        re.compile(r"/agents/facturation/anomalies\?mois=\d{4}-\d\d&etat=a_traiter$")
    )
    assert "1 anomalie marquée corrigée." in await page.locator("#flash").inner_text()
    assert await page.locator("#anomalies tbody tr").count() == before - 1
    # (axe and the reflow check need JavaScript in the page: they run in the JS test.)
