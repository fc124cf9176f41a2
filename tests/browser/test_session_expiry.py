"""The session's end in a real browser (WCAG 2.2.1, RGAA 13.1): two minutes before it, a warning
takes the focus with « Rester connecté »; pressing it keeps the session (the server's record
moves) and gives the focus back; left alone, the warning says the session is closed and leads to
the login, which brings the family back to the page and its week. axe-core at 320 and 1280 px.

No sleeping stands in for a clock: the page's timers run on Playwright's clock, moved by the
test, and the warning's delay is what the server wrote on the page (data-session-remaining);
the server's side of time is the session's row, aged by the test as the minutes would."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.browser.a11y import (
    assert_accessible,
    assert_reflows_at_320,
    small_targets,
    tab_until,
    wait_for_focus,
)
from tests.browser.conftest import ROOT
from tests.browser.test_public_and_login import keyboard_login_family

CODE, PASSWORD = "F00002", "demo-famille-2"

# Ages this browser's session on the server as if `minutes` had passed since its last request
# (a negative number only reads), and prints how many seconds ago it was last seen, or "none".
AGE = r"""
import asyncio, datetime as dt, sys
from ecp import clock, db
from ecp.auth.sessions import hash_token
from ecp.auth.tables import AuthSession

async def main(token, minutes):
    async with db.pool(min_size=1, max_size=2):
        mine = AuthSession.token_hash == hash_token(token)
        if minutes >= 0:
            await AuthSession.update(
                {AuthSession.last_seen_at: clock.now() - dt.timedelta(minutes=minutes)}
            ).where(mine)
        row = await AuthSession.select(AuthSession.last_seen_at).where(mine).first()
        seen = db.aware(row["last_seen_at"]) if row else None
        print(int((clock.now() - seen).total_seconds()) if seen else "none")

asyncio.run(main(sys.argv[1], float(sys.argv[2])))
"""


async def session_age(page, live_server, minutes: float = -1) -> str:
    cookies = await page.context.cookies()
    token = next(c["value"] for c in cookies if c["name"].endswith("ecp_session"))
    return _age(live_server, token, minutes)


def _age(live_server, token: str, minutes: float) -> str:
    done = subprocess.run(
        [sys.executable, "-c", AGE, token, str(minutes)],
        env=live_server.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


async def axe_at_320_and_1280(page) -> None:
    size = page.viewport_size
    try:
        for width in (320, 1280):
            await page.set_viewport_size({"width": width, "height": 800})
            await assert_accessible(page)
    finally:
        await page.set_viewport_size(size)
    await assert_reflows_at_320(page)


async def until_the_warning(page) -> int:
    """Moves the page's clock to two minutes before the end the server wrote; the seconds
    that were left when the page was drawn."""
    remaining = int(await page.locator("body").get_attribute("data-session-remaining"))
    warn = int(await page.locator("body").get_attribute("data-session-warn"))
    assert warn == 120 and 1700 <= remaining <= 1800
    assert await page.locator("#session-warning").is_hidden()
    await page.clock.fast_forward((remaining - warn - 5) * 1000)
    assert await page.locator("#session-warning").is_hidden()  # not a moment too soon
    await page.clock.fast_forward(6 * 1000)
    await page.wait_for_selector("#session-warning", state="visible")
    return remaining


async def test_rester_connecte_keeps_the_session_and_gives_the_focus_back(page, live_server):
    await page.clock.install()
    await keyboard_login_family(page, CODE, PASSWORD)
    await page.goto("/famille/coordonnees")
    await tab_until(page, "e.textContent.trim() === 'Changer mon mot de passe'")
    await until_the_warning(page)
    await wait_for_focus(page, "e.id === 'session-extend'")
    warning = page.locator("#session-warning")
    assert await warning.get_attribute("role") == "alertdialog"
    text = await warning.inner_text()
    assert "Votre session va bientôt se fermer" in text
    assert "vous serez déconnecté dans moins de 2 minutes" in text
    await axe_at_320_and_1280(page)
    assert await small_targets(page) == []
    # Meanwhile on the server, 28 minutes without a request: the session is about to end.
    assert int(await session_age(page, live_server, 28)) >= 28 * 60
    await page.keyboard.press("Enter")  # « Rester connecté », from the keyboard
    await page.wait_for_selector("#session-warning", state="hidden")
    await wait_for_focus(page, "e.textContent.trim() === 'Changer mon mot de passe'")
    assert "Vous restez connecté." in await page.locator("#flash").inner_text()
    assert int(await session_age(page, live_server)) < 60  # the server's record moved
    # The next warning is due a full idle period after the extension, not before.
    await page.clock.fast_forward(25 * 60 * 1000)
    assert await warning.is_hidden()
    await page.clock.fast_forward(4 * 60 * 1000)
    await page.wait_for_selector("#session-warning", state="visible")
    # The family still uses the portal: any page request keeps the session too.
    await page.goto("/famille/coordonnees")
    assert await page.locator("h1").inner_text() == "Mes coordonnées"


async def test_a_warning_left_alone_ends_with_a_way_back_to_the_same_page(page, live_server):
    await page.clock.install()
    await keyboard_login_family(page, CODE, PASSWORD)
    week = "/famille/reservations?semaine=2026-W50"
    await page.goto(week)
    await until_the_warning(page)
    await page.clock.fast_forward(125 * 1000)
    ended = page.locator("#session-warning")
    await page.wait_for_function(
        "() => document.getElementById('session-warning').innerText.includes('session est fermée')"
    )
    await wait_for_focus(page, "e.id === 'session-warning-title'")
    assert await page.locator("#session-extend").is_hidden()
    link = page.locator("#session-login")
    assert (
        await link.get_attribute("href")
        == "/connexion?next=/famille/reservations%3Fsemaine%3D2026-W50"
    )
    assert "connexion se ferme après 30 minutes sans activité" in await ended.inner_text()
    await axe_at_320_and_1280(page)
    # The server's side: the session has expired too. The link leads to the login...
    await session_age(page, live_server, 31)
    await tab_until(page, "e.id === 'session-login'")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/connexion\?next="))
    assert "Votre session s’est fermée" in await page.locator("main").inner_text()
    await tab_until(page, "e.id === 'code_famille'")
    await page.keyboard.type(CODE)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    # ...which brings the family back to the week it was looking at.
    await page.wait_for_url(re.compile(r"/famille/reservations\?semaine=2026-W50$"))


async def test_without_javascript_the_warning_never_shows(nojs_page, live_server):
    page = nojs_page
    await page.goto("/")
    await page.fill("#code_famille", CODE)
    await page.fill("#mot_de_passe", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(re.compile(r"/famille/$"))
    assert await page.locator("#session-warning").count() == 1
    assert await page.locator("#session-warning").is_hidden()
