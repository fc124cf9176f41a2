"""A family created at the counter logs in with its welcome letter's provisional password and
is asked to choose its own before anything else, in a real browser and by keyboard: axe-core
at 1280 and 320 px on the form, after the errors are swapped in and on the home page after;
the focus goes to the error summary; the provisional password no longer logs in."""

from __future__ import annotations

import re

from tests.browser.a11y import (
    tab_until,
    wait_for_error_summary_focus,
    wait_for_error_title,
)
from tests.browser.conftest import _new_page
from tests.browser.test_family_record import check
from tests.browser.test_public_and_login import keyboard_login_staff

NEW = "la mésange chante sur le toit"
FAMILY = {
    "nom_famille": "Lemaître",
    "prenom": "Odile",
    "nom": "Lemaître",
    "address_line1": "3 impasse des Saules",
    "postcode": "78999",
    "city": "Villebelle-sur-Seine",
    "phone_mobile": "06 19 28 37 46",
    "email": "odile.lemaitre@example.org",
}


async def _letter(page) -> tuple[str, str]:
    """The agent creates the family at the counter; the letter gives its code and password."""
    await keyboard_login_staff(page)
    await page.goto("/agents/familles/nouvelle")
    for field, value in FAMILY.items():
        await page.fill(f"#{field}", value)
    await page.locator("#family-form button[type=submit]").click()
    await page.wait_for_selector(".password")
    code = re.search(r"F\d{5}", await page.locator("main").inner_text()).group(0)
    return code, (await page.locator(".password").inner_text()).strip()


async def _keyboard_login(page, code: str, password: str) -> None:
    await page.goto("/")
    await tab_until(page, "e.id === 'code_famille'")
    await page.keyboard.type(code)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")


async def test_a_family_chooses_its_password_at_its_first_login(browser, live_server, page):
    code, provisional = await _letter(page)
    context, family = await _new_page(browser, live_server)
    try:
        await _keyboard_login(family, code, provisional)
        await family.wait_for_url(re.compile(r"/famille/premier-mot-de-passe$"))
        assert await family.locator("h1").inner_text() == "Choisir votre mot de passe"
        assert await family.locator("nav.main-nav a").count() == 0
        await check(family)
        # Another page of the account comes back here.
        await family.goto("/famille/factures")
        await family.wait_for_url(re.compile(r"/famille/premier-mot-de-passe$"))

        # Too short, then not confirmed: the errors swapped in place, the focus on them.
        await tab_until(family, "e.id === 'nouveau_mot_de_passe'")
        await family.keyboard.type("court")
        await family.keyboard.press("Tab")
        await family.keyboard.type("court")
        await family.keyboard.press("Enter")
        await wait_for_error_title(family)
        await wait_for_error_summary_focus(family)
        summary = await family.locator("#first-password-form .error-summary").inner_text()
        assert "12 caractères" in summary
        assert await family.locator("#nouveau_mot_de_passe").input_value() == ""
        await check(family)

        await tab_until(family, "e.id === 'nouveau_mot_de_passe'")
        await family.keyboard.type(NEW)
        await family.keyboard.press("Tab")
        await family.keyboard.type(NEW)
        await family.keyboard.press("Enter")
        await family.wait_for_url(re.compile(r"/famille/?$"))
        await family.wait_for_selector("#flash :text('Votre mot de passe est enregistré')")
        assert await family.locator("nav.main-nav a").count() > 0
        await check(family)

        # Logged out, the letter's password no longer opens the account; the new one does.
        await tab_until(family, "e.textContent.trim() === 'Se déconnecter'")
        await family.keyboard.press("Enter")
        # Anchored: "/$" alone matched "/famille/", the page the logout starts from, so the
        # wait returned before the logout and the next login could race it.
        await family.wait_for_url(re.compile(r"^https?://[^/]+/(connexion)?$"))
        await _keyboard_login(family, code, provisional)
        await family.wait_for_selector(".error-summary")
        await _keyboard_login(family, code, NEW)
        await family.wait_for_url(re.compile(r"/famille/?$"))
    finally:
        await context.close()
