"""Staff two-factor authentication in a real browser, with the production default
(ECP_STAFF_MFA=obligatoire) on a server of its own: an administrator created by `ecp create-admin`
enrols at first login by keyboard, then logs in with a code; axe-core and 320 px reflow on each
page; the code step without JavaScript."""

from __future__ import annotations

import asyncio
import re
import time

import pyotp
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

ADMIN, PASSWORD = "admin", "une longue phrase secrète du matin"


@pytest.fixture(scope="module")
def mfa_server():
    env = {"ECP_STAFF_MFA": "obligatoire", "ECP_ADMIN_PASSWORD": PASSWORD}
    with running_server(
        "ecp-mfa-",
        env,
        [("migrate",), ("create-admin", "--username", ADMIN, "--name", "Camille Admin")],
    ) as s:
        yield s


@pytest.fixture
async def mfa_page(browser, mfa_server):
    context, p = await _new_page(browser, mfa_server)
    yield p
    csp = [m for m in p.console_messages if "Content Security Policy" in m]
    await context.close()
    assert not csp, csp


@pytest.fixture
async def mfa_nojs_page(browser, mfa_server):
    context, p = await _new_page(browser, mfa_server, java_script_enabled=False)
    yield p
    await context.close()


class Phone:
    """An authenticator app: the code of now, or of the next 30 s step once this one was used
    (the server accepts a step once, and one step either side)."""

    secret: str = ""
    last_step: int = -1

    async def code(self) -> str:
        while True:
            now = int(time.time()) // 30
            step = max(now, self.last_step + 1)
            if step <= now + 1:
                self.last_step = step
                return pyotp.TOTP(self.secret).at(step * 30)
            await asyncio.sleep(30 - time.time() % 30 + 0.2)

    def wrong_code(self) -> str:
        totp = pyotp.TOTP(self.secret)
        window = {totp.at(time.time() + 30 * k) for k in (-1, 0, 1, 2)}
        return next(c for c in ("000000", "111111", "222222", "333333") if c not in window)


PHONE = Phone()


async def check(page) -> None:
    assert await page.locator("h1").count() == 1, page.url
    await assert_accessible(page)
    await assert_reflows_at_320(page)
    assert await small_targets(page) == [], page.url


async def keyboard_password(page) -> None:
    await page.goto("/agents/connexion")
    await tab_until(page, "e.id === 'identifiant'")
    await page.keyboard.type(ADMIN)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")


async def test_an_administrator_enrols_by_keyboard_then_logs_in_with_a_code(mfa_page):
    page = mfa_page
    await keyboard_password(page)
    await page.wait_for_url(re.compile(r"/agents/connexion/activation$"))
    assert await page.locator("h1").inner_text() == "Activer la double authentification"
    await check(page)
    key = await page.locator("#totp-key").inner_text()
    assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", key)
    PHONE.secret = key.replace(" ", "")
    assert await page.locator(".totp-qr svg[role=img]").count() == 1
    # A wrong code first: the error summary takes the focus, the page stays accessible.
    await tab_until(page, "e.id === 'code'")
    assert await page.evaluate("document.activeElement.getAttribute('autocomplete')") == (
        "one-time-code"
    )
    await page.keyboard.type(PHONE.wrong_code())
    await page.keyboard.press("Enter")
    await wait_for_error_title(page)
    await wait_for_error_summary_focus(page)
    assert "Code incorrect ou expiré" in await page.locator(".error-summary").inner_text()
    assert await page.locator("#totp-key").inner_text() == key
    await assert_accessible(page)
    # The summary's link leads back to the field.
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await wait_for_focus(page, "e.id === 'code'")
    await page.keyboard.type(await PHONE.code())
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/agents/$"))
    assert await page.locator("h1").inner_text() == "Tableau de bord"

    # Log out, then the next login asks the code only.
    await tab_until(page, "e.textContent.trim() === 'Se déconnecter'")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/agents/connexion$"))
    await keyboard_password(page)
    await page.wait_for_url(re.compile(r"/agents/connexion/code$"))
    assert await page.locator("h1").inner_text() == "Code de vérification"
    await check(page)
    await tab_until(page, "e.id === 'code'")
    await page.keyboard.type(await PHONE.code())
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/agents/$"))

    # « Mon compte » from the menu, then the page that replaces the phone.
    await tab_until(page, "e.textContent.trim() === 'Mon compte'")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/agents/compte$"))
    assert "Activée" in await page.locator("#mfa").inner_text()
    await check(page)
    await tab_until(page, "e.textContent.trim() === 'Changer d’application d’authentification'")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/agents/compte/double-authentification$"))
    await check(page)


async def no_js_password(page) -> None:
    await page.goto("/agents/connexion")
    await page.fill("#identifiant", ADMIN)
    await page.fill("#mot_de_passe", PASSWORD)
    async with page.expect_navigation():
        await page.click("button[type=submit]")


async def test_the_code_step_works_without_javascript(mfa_nojs_page):
    page = mfa_nojs_page
    await no_js_password(page)
    if page.url.endswith("/agents/connexion/activation"):
        # Run on its own, before the keyboard journey: enrol without JavaScript first.
        PHONE.secret = (await page.locator("#totp-key").inner_text()).replace(" ", "")
        await page.fill("#code", await PHONE.code())
        async with page.expect_navigation():
            await page.click("#activation-form button[type=submit]")
        assert page.url.endswith("/agents/")
        async with page.expect_navigation():
            await page.click("button:has-text('Se déconnecter')")
        await no_js_password(page)
    assert page.url.endswith("/agents/connexion/code")
    await page.fill("#code", "12")
    async with page.expect_navigation():
        await page.click("#code-form button[type=submit]")
    assert "Le code comporte 6 chiffres" in await page.locator(".error-summary").inner_text()
    await page.fill("#code", await PHONE.code())
    async with page.expect_navigation():
        await page.click("#code-form button[type=submit]")
    assert page.url.endswith("/agents/")
    assert await page.locator("h1").inner_text() == "Tableau de bord"
