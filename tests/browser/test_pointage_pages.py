"""A long pointage list a page at a time (issue 17), by keyboard on a server of its own (its
extra school and children would change the lists the other browser tests count): a school with
more than PAGE_SIZE children at the canteen, built with the test factories; a mark saved on
page 1, then page 2 reached by keyboard from the page navigation (htmx swaps the lists, focus
on the list's title, never <body>), a child marked and saved there; both marks still there
after a reload. axe-core at 1280 and 320 px, before and after the swap."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from ecp.booking.staff_routes import PAGE_SIZE
from tests.browser.a11y import (
    assert_accessible,
    assert_reflows_at_320,
    small_targets,
    tab_until,
    wait_for_focus,
)
from tests.browser.conftest import ROOT, _new_page, running_server
from tests.browser.test_booking_unbooked import last_school_day
from tests.browser.test_public_and_login import keyboard_login_staff

# A school of its own whose canteen list on a past day has PAGE_SIZE + 12 children (so two
# pages); printed: the school's and the canteen's ids.
LONG_LIST = r"""
import asyncio, datetime as dt, sys
from ecp import clock
from ecp.booking.tables import Booking
from ecp.commune.tables import Activity
from tests import factories

async def main():
    day, n, name, codes = dt.date.fromisoformat(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    school = await factories.make_school(name)
    cantine = (await Activity.select(Activity.id).where(Activity.code == "restauration").first())["id"]
    now = clock.now()
    for i in range(n):
        family = await factories.make_family(f"{codes}{i:04d}", password="", name=f"Pagination{i:02d}")
        kid = await factories.make_child(family, "Camille", "CE1", school=school)
        await Booking(child=kid.id, activity=cantine, school=school.id, day=day, state="reservee",
                      source="famille", created_at=now, updated_at=now).save()
    print(school.id, cantine)

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def paging_server():
    with running_server(
        "ecp-paging-", {"ECP_STAFF_MFA": "facultative"}, [("seed-demo",)]
    ) as server:
        yield server


@pytest.fixture
async def agent_page(browser, paging_server):
    context, p = await _new_page(browser, paging_server)
    yield p
    csp = [m for m in p.console_messages if "Content Security Policy" in m]
    await context.close()
    assert not csp, csp


def long_list(server, day, name: str = "École Paul-Bert", codes: str = "F9") -> tuple[int, int]:
    done = subprocess.run(
        [sys.executable, "-c", LONG_LIST, day.isoformat(), str(PAGE_SIZE + 12), name, codes],
        env=server.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    school, cantine = done.stdout.split()
    return int(school), int(cantine)


async def check(page) -> None:
    assert await page.locator("h1").count() == 1
    await assert_accessible(page)  # 1280 px
    await assert_reflows_at_320(page)
    await page.set_viewport_size({"width": 320, "height": 800})
    try:
        await assert_accessible(page)
    finally:
        await page.set_viewport_size({"width": 1280, "height": 900})
    assert await small_targets(page) == []


async def test_page_two_of_a_long_list_by_keyboard(agent_page, paging_server):
    page = agent_page
    day = last_school_day(2)
    school, cantine = long_list(paging_server, day)
    key = f"{school}-{cantine}"
    await keyboard_login_staff(page)
    url = f"/agents/effectifs?jour={day.isoformat()}&ecole={school}&activite={cantine}"
    await page.goto(url)
    counts = page.locator(f"#liste-{key} .list-pages-count")
    assert await counts.inner_text() == (
        f"{PAGE_SIZE + 12} enfants, page 1 sur 2 (enfants 1 à {PAGE_SIZE})"
    )
    assert await page.locator(f"#liste-{key} li.pointage-child").count() == PAGE_SIZE
    await check(page)
    # Page 1: its first child absent (keyboard), saved with htmx.
    first = page.locator(f"#liste-{key} input[type=radio][value=absent]").first
    first_name = await first.get_attribute("name")
    await first.focus()
    await page.keyboard.press("Space")
    assert await first.is_checked()
    await tab_until(
        page, "e.name === 'liste' && e.closest('.pointage-list') !== null", max_tabs=400
    )
    await page.keyboard.press("Enter")
    await wait_for_focus(page, f"e.id === 'liste-{key}-status'")
    assert (
        "Pointage enregistré : 1 enfant." in await page.locator(f"#liste-{key}-status").inner_text()
    )
    # From the confirmation, Tab reaches the page navigation: page 2, Enter.
    await tab_until(
        page,
        "e.closest('nav[aria-label=\"Pages de la liste\"]') && !e.hasAttribute('aria-current')",
    )
    assert (
        (await page.locator(":focus").inner_text())
        .strip()
        .endswith(f"{PAGE_SIZE + 1}–{PAGE_SIZE + 12}")
    )
    await page.keyboard.press("Enter")
    await wait_for_focus(page, f"e.id === 'liste-{key}-title'")
    assert await page.evaluate("() => document.activeElement !== document.body")
    assert "page=2" in page.url
    assert await page.locator(f"#liste-{key} li.pointage-child").count() == 12
    assert "page 2 sur 2" in await counts.inner_text()
    current = page.locator('nav[aria-label="Pages de la liste"] a[aria-current="page"]')
    assert (await current.inner_text()).strip().endswith(f"{PAGE_SIZE + 1}–{PAGE_SIZE + 12}")
    await check(page)
    # A child of page 2 marked « excusé » by keyboard (arrows move within the group), saved.
    radio = page.locator(f"#liste-{key} input[type=radio][value=present]").nth(3)
    name = await radio.get_attribute("name")
    await radio.focus()
    await page.keyboard.press("Space")
    await page.keyboard.press("ArrowRight")
    await page.keyboard.press("ArrowRight")
    assert await page.locator(f"input[name='{name}'][value=excuse]").is_checked()
    await tab_until(
        page, "e.name === 'liste' && e.closest('.pointage-list') !== null", max_tabs=200
    )
    await page.keyboard.press("Enter")
    await wait_for_focus(page, f"e.id === 'liste-{key}-status'")
    assert (
        "Pointage enregistré : 1 enfant." in await page.locator(f"#liste-{key}-status").inner_text()
    )
    await check(page)
    # Reload both pages: both marks kept.
    await page.goto(f"{url}&page=2")
    assert await page.locator(f"input[name='{name}'][value=excuse]").is_checked()
    await page.goto(url)
    assert await page.locator(f"input[name='{first_name}'][value=absent]").is_checked()


async def test_page_links_and_save_without_javascript(browser, paging_server):
    """Without JavaScript the page links are plain links, and the save of page 2 comes back
    to page 2 with the confirmation in the list's status."""
    day = last_school_day(4)
    school, cantine = long_list(paging_server, day, name="École Jean-Macé", codes="F8")
    key = f"{school}-{cantine}"
    context, page = await _new_page(browser, paging_server, java_script_enabled=False)
    try:
        await page.goto("/agents/connexion")  # no script: no keyboard walk helper either
        await page.fill("#identifiant", "agent")
        await page.fill("#mot_de_passe", "demo-agent-sej-2026")
        await page.press("#mot_de_passe", "Enter")
        await page.wait_for_url(re.compile(r"/agents/$"))
        url = f"/agents/effectifs?jour={day.isoformat()}&ecole={school}&activite={cantine}"
        await page.goto(url)
        await page.get_by_role("link", name=f"{PAGE_SIZE + 1}–{PAGE_SIZE + 12}").click()
        await page.wait_for_url(f"**page=2#liste-{key}-title")
        assert await page.locator(f"#liste-{key} li.pointage-child").count() == 12
        radio = page.locator(f"#liste-{key} input[type=radio][value=absent]").first
        name = await radio.get_attribute("name")
        await page.locator(f"label[for='{await radio.get_attribute('id')}']").click()
        async with page.expect_navigation():
            await page.locator(f"#liste-{key} button[name=liste]").click()
        assert "page=2" in page.url and "enregistre=" in page.url
        assert "Pointage enregistré" in await page.locator(f"#liste-{key}-status").inner_text()
        assert await page.locator(f"input[name='{name}'][value=absent]").is_checked()
    finally:
        await context.close()
