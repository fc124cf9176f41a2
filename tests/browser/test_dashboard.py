"""The staff dashboard in a real browser, on the demo data: every figure a link that opens its
list, today's table per school and activity, the three SVG charts each with its table, axe-core
at 1280 and 320 px, no sideways scroll, and the charts drawn without any script of their own."""

from __future__ import annotations

import re

from tests.browser.a11y import assert_accessible, assert_reflows_at_320, small_targets
from tests.browser.test_public_and_login import keyboard_login_staff


async def test_the_dashboard_its_charts_and_its_links(page):
    await keyboard_login_staff(page)
    assert await page.locator("h1").inner_text() == "Tableau de bord"
    for chart in ("chart-occupancy", "chart-weekly", "chart-monthly"):
        svg = page.locator(f"svg#{chart}")
        assert await svg.get_attribute("role") == "img"
        assert await svg.locator("title").count() == 1
        box = await svg.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 80, chart
    tables = page.locator("#dashboard table")
    assert await tables.count() == 4  # today's, and one beside each chart
    # The demo has bookings today (a weekday) or says there is no activity.
    today = await page.locator("#today-title").locator("..").inner_text()
    assert "Réservés" in today or "Aucune activité aujourd’hui" in today
    await assert_accessible(page)
    assert await small_targets(page) == []
    await page.set_viewport_size({"width": 320, "height": 800})
    await assert_accessible(page)
    await page.set_viewport_size({"width": 1280, "height": 900})
    await assert_reflows_at_320(page)
    # A tile opens its list, with its filter.
    await page.locator(".figures a", has_text=re.compile(r"inscriptions à valider")).click()
    await page.wait_for_url(re.compile(r"/agents/inscriptions\?statut=en_attente$"))
    await page.go_back()
    await page.locator(".figures a", has_text=re.compile(r"réservations aujourd’hui")).click()
    await page.wait_for_url(re.compile(r"/agents/effectifs\?jour=\d{4}-\d{2}-\d{2}$"))
    assert await page.locator("h1").count() == 1
    await page.go_back()
    await page.locator(".figures a", has_text=re.compile(r"restent à payer")).click()
    await page.wait_for_url(re.compile(r"/agents/(factures|paiements/impayes)"))
