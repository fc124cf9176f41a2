"""An agent changes their own password from « Mon compte » in a real browser, by keyboard:
axe-core at 1280 and 320 px on the page, after the errors are swapped in and after success;
the focus goes to the error summary; the same form without JavaScript (post, 422 page,
post/redirect/get)."""

from __future__ import annotations

import re

import pytest

from tests.browser.a11y import (
    assert_accessible,
    assert_reflows_at_320,
    small_targets,
    tab_until,
    wait_for_error_summary_focus,
    wait_for_error_title,
    wait_for_focus,
)
from tests.browser.conftest import _new_page, running_server

ADMIN, PASSWORD = "camille", "une longue phrase secrète du matin"
NOJS_ADMIN = "dominique"
NEW = "la pendule du salon avance de dix minutes"


@pytest.fixture(scope="module")
def password_server():
    # Its own server: the shared demo's agent must keep its password for the other tests.
    # Facultative mode, so that the password alone opens the session (the TOTP step has
    # its own browser tests).
    env = {"ECP_STAFF_MFA": "facultative", "ECP_ADMIN_PASSWORD": PASSWORD}
    with running_server(
        "ecp-pw-",
        env,
        [
            ("migrate",),
            ("create-admin", "--username", ADMIN, "--name", "Camille Admin"),
            ("create-admin", "--username", NOJS_ADMIN, "--name", "Dominique Admin"),
        ],
    ) as s:
        yield s


async def _page(browser, server, **options):
    context, page = await _new_page(browser, server, **options)
    return context, page


async def axe_at_both_widths(page) -> None:
    assert await page.locator("h1").count() == 1, page.url
    await assert_accessible(page)  # 1280 px
    size = page.viewport_size
    await page.set_viewport_size({"width": 320, "height": 800})
    try:
        await assert_accessible(page)
    finally:
        await page.set_viewport_size(size)
    await assert_reflows_at_320(page)
    assert await small_targets(page) == [], page.url


async def keyboard_login(page, password: str) -> None:
    await page.goto("/agents/connexion")
    await tab_until(page, "e.id === 'identifiant'")
    await page.keyboard.type(ADMIN)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/agents/$"))


async def type_into(page, field: str, value: str) -> None:
    await tab_until(page, f"e.id === '{field}'")
    await page.keyboard.type(value)


async def test_an_agent_changes_their_password_by_keyboard(browser, password_server):
    context, page = await _page(browser, password_server)
    try:
        await keyboard_login(page, PASSWORD)
        await tab_until(page, "e.textContent.trim() === 'Mon compte'")
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(r"/agents/compte$"))
        await axe_at_both_widths(page)

        # A wrong current password and a new one too short: both errors, swapped in place.
        await type_into(page, "mot_de_passe_actuel", "pas le bon du tout")
        await page.keyboard.press("Tab")
        await page.keyboard.type("court")
        await page.keyboard.press("Tab")
        await page.keyboard.type("court")
        await page.keyboard.press("Enter")
        await wait_for_error_title(page)
        await wait_for_error_summary_focus(page)
        summary = await page.locator("#staff-password-form .error-summary").inner_text()
        assert "Le mot de passe actuel est incorrect." in summary
        assert "15 caractères" in summary
        # Passwords are never shown back.
        assert await page.locator("#mot_de_passe_actuel").input_value() == ""
        await axe_at_both_widths(page)

        # The summary's first link leads to its field; then the right values.
        await page.keyboard.press("Tab")
        await page.keyboard.press("Enter")
        await wait_for_focus(page, "e.id === 'mot_de_passe_actuel'")
        await page.keyboard.type(PASSWORD)
        await page.keyboard.press("Tab")
        await page.keyboard.type(NEW)
        await page.keyboard.press("Tab")
        await page.keyboard.type(NEW)
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#flash :text('Votre mot de passe a été changé')")
        assert page.url.endswith("/agents/compte")
        await axe_at_both_widths(page)

        # Log out; the new password logs in.
        await tab_until(page, "e.textContent.trim() === 'Se déconnecter'")
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(r"/agents/connexion$"))
        await keyboard_login(page, NEW)
    finally:
        await context.close()


async def test_the_change_without_javascript(browser, password_server):
    context, page = await _page(browser, password_server, java_script_enabled=False)
    try:
        await page.goto("/agents/connexion")
        await page.fill("#identifiant", NOJS_ADMIN)
        await page.fill("#mot_de_passe", PASSWORD)
        await page.press("#mot_de_passe", "Enter")
        await page.wait_for_url(re.compile(r"/agents/$"))
        await page.goto("/agents/compte")
        await page.fill("#mot_de_passe_actuel", PASSWORD)
        await page.fill("#nouveau_mot_de_passe", "un autre mot de passe assez long")
        await page.fill("#confirmation", "un autre mot de passe assez différent")
        await page.press("#confirmation", "Enter")
        await page.wait_for_url(re.compile(r"/agents/compte/mot-de-passe$"))
        assert (await page.title()).startswith("Erreur : ")
        assert (
            "Les deux mots de passe saisis sont différents."
            in await page.locator("#confirmation-error").inner_text()
        )
        # (axe needs scripts: the same markup is checked with them in the test above.)
        assert await page.locator(".error-summary a[href='#confirmation']").count() == 1
        await page.fill("#mot_de_passe_actuel", PASSWORD)
        await page.fill("#nouveau_mot_de_passe", "un autre mot de passe assez long")
        await page.fill("#confirmation", "un autre mot de passe assez long")
        await page.press("#confirmation", "Enter")
        await page.wait_for_url(re.compile(r"/agents/compte$"))
        assert "Votre mot de passe a été changé" in await page.locator("#flash").inner_text()
    finally:
        await context.close()
