"""The staff back office in a real browser: axe-core on every page and every state (empty,
results, validation errors, after a swap), 320 px reflow, and the creation of a family with its
first child by keyboard alone."""

from __future__ import annotations

import re

from tests.browser.a11y import (
    assert_accessible,
    assert_reflows_at_320,
    small_targets,
    tab_until,
    wait_for_error_title,
    wait_for_focus,
)
from tests.browser.test_public_and_login import keyboard_login_staff


async def check(page) -> None:
    assert await page.locator("h1").count() == 1, page.url
    await assert_accessible(page)
    await assert_reflows_at_320(page)
    assert await small_targets(page) == [], page.url


async def family_id(page, code: str) -> str:
    await page.goto(f"/agents/familles?q={code}")
    href = await page.locator("#family-results a").first.get_attribute("href")
    return href.rsplit("/", 1)[1]


async def submit(page, form_selector: str) -> None:
    await page.locator(f"{form_selector} button[type=submit]").last.click()


async def test_family_pages_in_every_state(page):
    await keyboard_login_staff(page)
    await check(page)  # the dashboard
    await page.goto("/agents/familles")
    await check(page)
    await page.fill("#q", "zzzz")  # htmx, no result
    await page.wait_for_selector("text=Aucune famille ne correspond")
    await check(page)
    await page.fill("#q", "mart")  # htmx, results
    await page.wait_for_selector("#family-results tbody tr")
    await check(page)
    fid = await family_id(page, "F00001")
    await page.goto(f"/agents/familles/{fid}")
    await check(page)
    hugo = page.locator("a", has_text="voir les informations de santé")
    await hugo.first.click()
    await page.wait_for_url(re.compile(r"/sante$"))
    # The demo's Hugo Martin: his health notes, shown to the agent who asked for them.
    assert "Allergie à l’arachide : PAI, trousse d’urgence dans le sac." in (
        await page.locator("main").inner_text()
    )
    await check(page)
    await page.goto(f"/agents/familles/{fid}/enfants/nouveau")
    await check(page)
    await submit(page, "#child-form")  # empty form: errors swapped in place
    await page.wait_for_selector("#child-form .error-summary")
    await wait_for_error_title(page)
    await check(page)
    await page.goto(f"/agents/familles/{fid}")
    # A child's « Modifier » (the record also has the family's and each responsable's).
    children = page.locator("section[aria-labelledby=children-title]")
    await children.locator("a", has_text="Modifier").first.click()
    await page.wait_for_url(re.compile(r"/enfants/\d+$"))
    await check(page)


async def test_creating_a_family_and_a_child_by_keyboard(page):
    await keyboard_login_staff(page)
    await tab_until(page, "e.getAttribute('href') === '/agents/familles'")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/agents/familles$"))
    await tab_until(page, "e.getAttribute('href') === '/agents/familles/nouvelle'")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/nouvelle$"))
    await check(page)
    await tab_until(page, "e.id === 'nom_famille'")
    await page.keyboard.type("Tremblay")
    await page.keyboard.press("Enter")  # incomplete: errors
    await page.wait_for_selector("#family-form .error-summary")
    await check(page)
    for field, value in (
        ("prenom", "Jeanne"),
        ("nom", "Tremblay"),
        ("address_line1", "3 rue du Moulin"),
        ("postcode", "78999"),
        ("city", "Villebelle-sur-Seine"),
        ("phone_mobile", "06 55 44 33 22"),
        ("email", "jeanne.tremblay@example.org"),
    ):
        await tab_until(page, f"e.id === '{field}'", max_tabs=80)
        await page.keyboard.type(value)
    await page.keyboard.press("Enter")
    await page.wait_for_selector(".password")
    letter = await page.locator("main").inner_text()
    assert "Tremblay" in letter and re.search(r"F\d{5}", letter)
    await check(page)
    await tab_until(page, "e.textContent.trim() === 'ouvrez le dossier de la famille'")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/agents/familles/\d+$"))
    await tab_until(page, "e.textContent.trim() === 'Ajouter un enfant'")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/enfants/nouveau$"))
    await tab_until(page, "e.id === 'prenom'")
    await page.keyboard.type("Zoé")
    await tab_until(page, "e.id === 'naissance'")
    await page.keyboard.type("04052019")
    await tab_until(page, "e.id === 'niveau'")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("ArrowDown")
    await tab_until(page, "e.textContent.trim() === 'Enregistrer'")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/agents/familles/\d+$"))
    assert "L’enfant a été ajouté." in await page.locator("#flash").inner_text()
    assert "Zoé Tremblay" in await page.locator("main").inner_text()


async def test_requests_journal_and_settings_in_every_state(page):
    await keyboard_login_staff(page)
    await page.goto("/agents/demandes")
    await check(page)
    if await page.locator("button[value=refuser]").count():
        await page.locator("button[value=refuser]").first.click()  # no reason: error in place
        await page.wait_for_selector("#request-queue .error-summary")
        await check(page)
    await page.goto("/agents/journal")
    await check(page)
    await page.select_option("#action", "health_notes_read")
    await submit(page, "#journal-filters")
    # #journal-entries is on the page before the filter too: wait for the swapped list, whose
    # heading takes the focus once htmx has settled it.
    await page.wait_for_url(re.compile(r"action=health_notes_read"))
    await wait_for_focus(page, "e.id === 'journal-entries-title'")
    await check(page)
    await page.fill("#famille", "F99999")
    await submit(page, "#journal-filters")
    await page.wait_for_selector("text=Filtre à corriger")
    await check(page)
    await page.goto("/agents/parametres")
    await check(page)
    await page.fill("#conservation_ans", "0")
    await submit(page, "#rules-form")
    await page.wait_for_selector("#rules-form .error-summary")
    await check(page)
    await page.goto("/agents/parametres/ecoles/nouvelle")
    await check(page)
    await submit(page, "#school-form")
    await page.wait_for_selector("#school-form .error-summary")
    await check(page)
    await page.goto("/agents/parametres")
    await page.locator("#activities-title + ul a").first.click()
    await page.wait_for_url(re.compile(r"/activites/\d+$"))
    await check(page)
    await page.fill("#debut", "midi")
    await submit(page, "#activity-form")
    await page.wait_for_selector("#activity-form .error-summary")
    await check(page)
    await page.goto("/agents/parametres/agents/nouveau")
    await check(page)
    await page.fill("#identifiant", "x")
    await submit(page, "#staff-form")
    await page.wait_for_selector("#staff-form .error-summary")
    await check(page)
    await page.goto("/agents/parametres")
    await page.locator("#staff-title + p + ul a").first.click()
    await page.wait_for_url(re.compile(r"/parametres/agents/\d+$"))
    await check(page)
