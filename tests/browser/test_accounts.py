"""Accounts in a real browser: forgotten password, and a contact change from the family's form
to the agent's queue to the family record and the journal, by keyboard alone (axe at each state)."""

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
from tests.browser.test_public_and_login import keyboard_login_family, keyboard_login_staff


async def check(page) -> None:
    assert await page.locator("h1").count() == 1, page.url
    await assert_accessible(page)
    await assert_reflows_at_320(page)
    assert await small_targets(page) == [], page.url


async def replace_value(page, text: str) -> None:
    await page.keyboard.press("Control+A")
    await page.keyboard.type(text)


async def test_forgotten_password_by_keyboard(page):
    await page.goto("/")
    await tab_until(page, "e.getAttribute('href') === '/mot-de-passe-oublie'")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/mot-de-passe-oublie$"))
    await check(page)
    await tab_until(page, "e.id === 'identifiant'")
    await page.keyboard.press("Enter")  # empty: the error summary comes back in place (htmx)
    await page.wait_for_selector(".error-summary")
    await wait_for_error_summary_focus(page)
    await assert_accessible(page)
    await tab_until(page, "e.id === 'identifiant'")
    await page.keyboard.type("F00099")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("text=Demande enregistrée")
    await check(page)


async def test_forgotten_password_without_javascript(nojs_page):
    await nojs_page.goto("/mot-de-passe-oublie")
    await nojs_page.fill("#identifiant", "F00098")
    await nojs_page.click("button[type=submit]")
    await nojs_page.wait_for_selector("text=Demande enregistrée")


async def test_contact_change_from_the_family_to_the_agent_and_the_journal(
    page, browser, live_server
):
    # The family, by keyboard.
    await keyboard_login_family(page)
    await tab_until(page, "e.getAttribute('href') === '/famille/coordonnees'")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/famille/coordonnees$"))
    await check(page)
    await tab_until(
        page, "e.textContent.includes('Signaler un changement') && e.textContent.includes('Claire')"
    )
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/modifier$"))
    await check(page)
    await tab_until(page, "e.id === 'postcode'")
    await replace_value(page, "7899")
    await page.keyboard.press("Enter")  # a typo first: the summary, announced and focused
    await page.wait_for_selector(".error-summary")
    await wait_for_error_title(page)
    await wait_for_error_summary_focus(page)
    await assert_accessible(page)
    await tab_until(page, "e.getAttribute('href') === '#postcode'")
    await page.keyboard.press("Enter")
    await tab_until(page, "e.id === 'postcode'", max_tabs=3) if await page.evaluate(
        "document.activeElement.id"
    ) != "postcode" else None
    await replace_value(page, "78999")
    await tab_until(page, "e.id === 'phone_mobile'")
    await replace_value(page, "07 81 11 22 33")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/famille/coordonnees$"))
    assert "Votre demande a été envoyée" in await page.locator("#flash").inner_text()
    assert "en attente de validation" in await page.locator("main").inner_text()
    await check(page)

    # The agent, by keyboard, in another browser context.
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="fr-FR", base_url=live_server.url
    )
    agent = await context.new_page()
    try:
        await keyboard_login_staff(agent)
        await tab_until(agent, "e.getAttribute('href') === '/agents/demandes'")
        await agent.keyboard.press("Enter")
        await agent.wait_for_url(re.compile(r"/agents/demandes$"))
        await check(agent)
        section = agent.locator("section.request", has_text="07 81 11 22 33")
        assert "Famille Martin (F00001)" in await section.inner_text()
        request_id = (await section.locator("form").get_attribute("action")).rsplit("/", 1)[1]
        await tab_until(
            agent,
            f"e.value === 'appliquer' && e.form && "
            f"e.form.getAttribute('action') === '/agents/demandes/{request_id}'",
            max_tabs=200,
        )
        await agent.keyboard.press("Enter")
        await agent.wait_for_selector("text=Demande appliquée")
        await check(agent)

        # The family record, reached through the search.
        await tab_until(agent, "e.getAttribute('href') === '/agents/familles'")
        await agent.keyboard.press("Enter")
        await agent.wait_for_url(re.compile(r"/agents/familles$"))
        await tab_until(agent, "e.id === 'q'")
        await agent.keyboard.type("F00001")
        # The search runs 300 ms after the last key: a slow keystroke lets a prefix ("F000")
        # answer first, with links and another count; wait for the full code's answer.
        await agent.wait_for_function(
            "() => document.getElementById('search-count').textContent"
            ".includes('1 famille trouvée')"
        )
        await agent.wait_for_selector("#family-results a")
        assert "1 famille trouvée" in await agent.locator("#search-count").inner_text()
        await check(agent)
        await tab_until(agent, "e.closest && e.closest('#family-results') && e.tagName === 'A'")
        await agent.keyboard.press("Enter")
        await agent.wait_for_url(re.compile(r"/agents/familles/\d+$"))
        record = await agent.locator("main").inner_text()
        assert "07 81 11 22 33" in record and "Application d’une demande" in record
        await check(agent)

        # The journal.
        await tab_until(agent, "e.getAttribute('href') === '/agents/journal'", max_tabs=200)
        await agent.keyboard.press("Enter")
        await agent.wait_for_url(re.compile(r"/agents/journal$"))
        first = await agent.locator("#journal-entries tbody tr").first.inner_text()
        # The agent's last action: opening the family record, after applying the request.
        assert "Consultation d’un dossier famille" in first
        assert (
            "Application d’une demande de changement"
            in await agent.locator("#journal-entries").inner_text()
        )
        await check(agent)
    finally:
        await context.close()

    # The family sees the outcome.
    await page.goto("/famille/coordonnees")
    assert "07 81 11 22 33" in await page.locator("#guardians-title + ul").inner_text()


async def test_contact_change_without_javascript(nojs_page):
    await nojs_page.goto("/")
    await nojs_page.fill("#code_famille", "F00002")
    await nojs_page.fill("#mot_de_passe", "demo-famille-2")
    await nojs_page.click("button[type=submit]")
    await nojs_page.wait_for_url(re.compile(r"/famille/$"))
    await nojs_page.goto("/famille/coordonnees")
    await nojs_page.click("text=Signaler un changement")
    await nojs_page.fill("#phone_home", "01 39 00 00 00")
    await nojs_page.fill("#email", "pas-une-adresse")
    await nojs_page.click("#contact-form button[type=submit]")
    await nojs_page.wait_for_selector(".error-summary")
    await nojs_page.fill("#email", "fatou.diallo@example.org")
    await nojs_page.click("#contact-form button[type=submit]")
    await nojs_page.wait_for_url(re.compile(r"/famille/coordonnees$"))
    assert "Votre demande a été envoyée" in await nojs_page.locator("#flash").inner_text()


async def test_family_account_pages_are_accessible(page):
    await keyboard_login_family(page, "F00002", "demo-famille-2")
    for path in ("/famille/coordonnees", "/famille/mot-de-passe", "/famille/mes-donnees"):
        await page.goto(path)
        await check(page)
    await page.goto("/famille/mot-de-passe")
    await page.fill("#mot_de_passe_actuel", "faux")
    await page.fill("#nouveau_mot_de_passe", "court")
    await page.keyboard.press("Enter")
    await page.wait_for_selector(".error-summary")
    await assert_accessible(page)
