"""The « file d'attente » page in a real browser: accessible at 320 and 1280 px, reloading by
itself without JavaScript (its Refresh header), then the login form at the ticket's turn."""

from __future__ import annotations

import re
import time

from ecp.auth import queue
from ecp.settings import Settings
from tests.browser.a11y import assert_accessible, assert_reflows_at_320, small_targets


def _ticket(live_server, wait: float) -> str:
    key = Settings.from_env(live_server.env).secret_key
    return queue.issue(key, "family", wait).value


async def test_the_queue_page_is_accessible_and_keeps_its_ticket(page, live_server):
    url = f"/connexion/attente?ticket={_ticket(live_server, 300)}&next=%2Ffamille%2F"
    response = await page.goto(url)
    assert response.status == 200 and response.headers["content-type"].startswith("text/html")
    assert (await page.title()).startswith("File d’attente – Portail Famille de ")
    assert await page.locator("h1").inner_text() == "File d’attente"
    assert await page.locator("#queue-status[role=status]").count() == 1
    refresh = response.headers["refresh"]
    assert await page.locator("meta[http-equiv=refresh]").count() == 0
    assert re.fullmatch(
        r"20; url=/connexion/attente\?ticket=family\.[^&]+&next=%2Ffamille%2F", refresh
    )
    for width in (1280, 320):
        await page.set_viewport_size({"width": width, "height": 800})
        await assert_accessible(page)
        assert await small_targets(page) == []
    await assert_reflows_at_320(page)


async def test_without_javascript_the_page_reloads_itself_until_the_login_form(
    nojs_page, live_server
):
    await nojs_page.goto(f"/connexion/attente?ticket={_ticket(live_server, 2.5)}")
    assert await nojs_page.locator("h1").inner_text() == "File d’attente"
    started = time.monotonic()
    # The browser follows the Refresh header by itself (no script runs on this page).
    await nojs_page.wait_for_selector("#queue-turn", timeout=15000)
    assert time.monotonic() - started < 15
    assert await nojs_page.locator("input[name=ticket]").count() == 1
    await nojs_page.fill("#code_famille", "F00001")
    await nojs_page.fill("#mot_de_passe", "demo-famille-1")
    await nojs_page.click("button[type=submit]")
    await nojs_page.wait_for_url(re.compile(r"/famille/$"))
