"""Pointage of a school's day on a 768 px tablet, by touch and by keyboard (issue 14): marks
made in one list survive the save of another (htmx swaps that list alone), « tous présents »
marks a list in the page, the confirmation lands in the saved list's status with focus on
it, arrival and departure times of a garderie (billed by the hour in the demo) are kept;
nothing is lost on reload. axe-core at 768, 1280 and 320 px."""

from __future__ import annotations

from tests.browser.a11y import assert_accessible, assert_reflows_at_320, small_targets, tab_until
from tests.browser.test_booking_unbooked import last_school_day
from tests.browser.test_public_and_login import keyboard_login_staff


async def tablet(browser, live_server):
    context = await browser.new_context(
        viewport={"width": 768, "height": 1024},
        has_touch=True,
        locale="fr-FR",
        base_url=live_server.url,
    )
    page = await context.new_page()
    page.set_default_timeout(10000)
    return context, page


async def check(page) -> None:
    await assert_accessible(page)
    assert await small_targets(page) == []
    size = page.viewport_size
    await page.set_viewport_size({"width": 1280, "height": 900})
    await assert_accessible(page)
    await page.set_viewport_size(size)
    await assert_reflows_at_320(page)


async def lists(page) -> list[str]:
    return await page.eval_on_selector_all("section.pointage-list", "els => els.map(e => e.id)")


async def test_pointage_on_a_tablet_by_touch_and_keyboard(browser, live_server):
    context, page = await tablet(browser, live_server)
    try:
        await keyboard_login_staff(page)
        day = last_school_day(3).isoformat()
        url = f"/agents/effectifs?jour={day}&ecole=1&activite=toutes"
        await page.goto(url)
        await check(page)
        ids = await lists(page)
        assert len(ids) >= 2, ids
        first, second = ids[0], ids[1]
        # Touch: a mark in the first list, left unsaved.
        radio = page.locator(f"#{first} input[value=absent]").first
        name = await radio.get_attribute("name")
        await page.locator(f"#{first} label[for='{await radio.get_attribute('id')}']").tap()
        assert await radio.is_checked()
        # « Tous présents » in the second list: in the page, announced in its status.
        await page.locator(f"#{second} button[name=tous]").tap()
        presents = page.locator(f"#{second} input[value=present]")
        count = await presents.count()
        assert all([await presents.nth(i).is_checked() for i in range(count)])
        status = page.locator(f"#{second}-status")
        assert "marqué" in await status.inner_text()
        # Its save (touch): that list alone is swapped, focus on its confirmation.
        await page.locator(f"#{second} button[name=liste]").tap()
        await page.wait_for_function(f"() => document.activeElement.id === '{second}-status'")
        assert "Pointage enregistré" in await status.inner_text()
        assert await page.locator(f"input[name='{name}'][value=absent]").is_checked()
        await check(page)
        # Keyboard: from the first list's unsaved mark to its save button, Enter.
        await page.locator(f"input[name='{name}'][value=absent]").focus()
        await tab_until(
            page,
            f"e.name === 'liste' && e.closest('#{first}') !== null",
            max_tabs=400,
        )
        await page.keyboard.press("Enter")
        await page.wait_for_function(f"() => document.activeElement.id === '{first}-status'")
        assert "Pointage enregistré" in await page.locator(f"#{first}-status").inner_text()
        # Reload: both lists as they were left, nothing lost.
        await page.goto(url)
        assert await page.locator(f"input[name='{name}'][value=absent]").is_checked()
        presents = page.locator(f"#{second} input[value=present]")
        assert all([await presents.nth(i).is_checked() for i in range(count)])
        # The garderie's times (billed by the hour in the demo).
        times = page.locator("input[type=time]")
        assert await times.count()
        arrival = times.first
        section = arrival.locator("xpath=ancestor::section[1]")
        list_id = await section.get_attribute("id")
        arrival_id = await arrival.get_attribute("id")
        child = arrival.locator("xpath=ancestor::li[1]")
        await child.locator("input[value=present] + label").tap()
        await arrival.fill("16:35")
        await section.locator("button[name=liste]").tap()
        await page.wait_for_function(f"() => document.activeElement.id === '{list_id}-status'")
        await page.goto(url)
        assert await page.locator(f"#{arrival_id}").input_value() == "16:35"
        await check(page)
    finally:
        await context.close()


async def test_kitchen_sheet_page_by_keyboard(page):
    await keyboard_login_staff(page)
    day = last_school_day(1).isoformat()
    await page.goto(f"/agents/effectifs?jour={day}&ecole=1")
    await page.get_by_role("link", name="Fiche cuisine (PDF, A4)").click()
    await page.wait_for_url(f"**/agents/effectifs/cuisine?jour={day}&ecole=1")
    assert (await page.title()).startswith("Fiche cuisine du ")
    await assert_accessible(page)
    await assert_reflows_at_320(page)
    assert await small_targets(page) == []
    # A number the kitchen cannot use: the form again, 422, the error announced.
    await tab_until(page, "e.id === 'adultes'", max_tabs=80)
    await page.keyboard.press("Control+a")
    await page.keyboard.type("trois")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert (await page.title()).startswith("Erreur : Fiche cuisine")
    assert "nombre entier" in await page.locator("#adultes-error").inner_text()
    await assert_accessible(page)
    # Four adults: the PDF comes as a download.
    await page.locator("#adultes").fill("4")
    async with page.expect_download() as download:
        await page.get_by_role("button", name="Imprimer la fiche cuisine (PDF, A4)").click()
    assert (await download.value).suggested_filename == f"cuisine-{day}-ecole-1.pdf"
