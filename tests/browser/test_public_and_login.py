"""Visitors, families and agents in a real browser: axe-core, keyboard, 320 px reflow."""

from __future__ import annotations

import re

from tests.browser.a11y import (
    assert_accessible,
    assert_reflows_at_320,
    focus_is_visible,
    small_targets,
    tab_until,
    wait_for_error_summary_focus,
    wait_for_error_title,
)

PUBLIC = [
    "/",
    "/connexion",
    "/agents/connexion",
    "/accessibilite",
    "/mentions-legales",
    "/donnees-personnelles",
    "/page-qui-n-existe-pas",
]


async def keyboard_login_family(page, code="F00001", password="demo-famille-1"):
    await page.goto("/")
    await tab_until(page, "e.id === 'code_famille'")
    await page.keyboard.type(code)
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "mot_de_passe"
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/famille/$"))


async def keyboard_login_staff(page, username="agent", password="demo-agent-sej-2026"):
    await page.goto("/agents/connexion")
    await tab_until(page, "e.id === 'identifiant'")
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/agents/$"))


async def crawl_nav(page) -> list[str]:
    links = await page.eval_on_selector_all(
        ".main-nav a", "els => els.map(e => e.getAttribute('href'))"
    )
    for href in links:
        await page.goto(href)
        assert await page.locator("h1").count() == 1, href
        await assert_accessible(page)
        await assert_reflows_at_320(page)
        assert await small_targets(page) == [], href
    return links


async def test_public_pages_pass_axe_and_reflow(page):
    for path in PUBLIC:
        await page.goto(path)
        assert await page.locator("h1").count() == 1, path
        await assert_accessible(page)
        await assert_reflows_at_320(page)
        assert await small_targets(page) == [], path


async def test_skip_link_is_the_first_stop_and_focus_is_visible(page):
    await page.goto("/")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent.trim()") == "Aller au contenu"
    assert await focus_is_visible(page)
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "main"


async def test_family_logs_in_with_the_keyboard_alone_and_sees_its_children(page):
    await keyboard_login_family(page)
    assert await page.locator("h1").inner_text() == "Bonjour, famille Martin"
    body = await page.locator("main").inner_text()
    assert "Léa Martin" in body and "Hugo Martin" in body and "Awa" not in body
    await assert_accessible(page)
    await assert_reflows_at_320(page)


async def test_wrong_password_shows_an_accessible_error_summary(page):
    await page.goto("/")
    await page.fill("#code_famille", "F00001")
    await page.fill("#mot_de_passe", "mauvais-mot-de-passe")
    await page.click("button[type=submit]")
    await page.wait_for_selector(".error-summary")
    await wait_for_error_title(page)
    summary = page.locator(".error-summary")
    assert "Code famille ou mot de passe incorrect." in await summary.inner_text()
    await wait_for_error_summary_focus(page)
    await assert_accessible(page)


async def test_every_page_reached_by_a_family_passes_axe(page):
    await keyboard_login_family(page, "F00002", "demo-famille-2")
    # The home is reversed from its route name: "/famille" (the address with a slash works too).
    assert "/famille" in await crawl_nav(page)


async def test_every_page_reached_by_the_agent_passes_axe(page):
    await keyboard_login_staff(page)
    assert "/agents" in await crawl_nav(page)


async def test_logout_by_keyboard_returns_home_with_a_message(page):
    await keyboard_login_family(page)
    await tab_until(page, "e.textContent.trim() === 'Se déconnecter'")
    await page.keyboard.press("Enter")
    # The home address, not any address ending in "/": "/famille/" matched before the
    # logout's redirect had happened, and the flash was read on the wrong page.
    await page.wait_for_url(re.compile(r"^https?://[^/]+/$"))
    assert "Déconnexion effectuée" in await page.locator("#flash").inner_text()
    await page.goto("/famille/")
    assert "/connexion" in page.url


async def test_login_works_without_javascript(nojs_page):
    await nojs_page.goto("/")
    await nojs_page.fill("#code_famille", "F00002")
    await nojs_page.fill("#mot_de_passe", "demo-famille-2")
    await nojs_page.click("button[type=submit]")
    await nojs_page.wait_for_url(re.compile(r"/famille/$"))
    assert "Bonjour, famille Diallo" in await nojs_page.locator("h1").inner_text()
