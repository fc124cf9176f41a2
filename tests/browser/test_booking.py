"""Booking in a real browser, by keyboard alone, with and without JavaScript: book a week, cancel
a day, apply a semaine type to two children; axe-core in every state, 320 px reflow."""

from __future__ import annotations

import datetime as dt
import re

from babel.dates import format_date

from ecp import clock
from ecp.booking import calendar as cal
from tests.browser.a11y import (
    assert_accessible,
    assert_reflows_at_320,
    small_targets,
    tab_until,
    wait_for_error_summary_focus,
    wait_for_error_title,
)
from tests.browser.test_public_and_login import keyboard_login_family, keyboard_login_staff


def open_weeks(n: int) -> list[dt.date]:
    """Mondays from two weeks ahead whose five days are all school days (deadlines still open)."""
    today = clock.today()
    monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=14)
    found = []
    while len(found) < n:
        days = [monday + dt.timedelta(days=i) for i in range(5)]
        if all(cal.school_holiday(d, "C") is None and cal.public_holiday(d) is None for d in days):
            found.append(monday)
        monday += dt.timedelta(days=7)
    return found


def jour(day: dt.date) -> str:
    return format_date(day, "EEEE d MMMM", locale="fr_FR")


async def tab_to(page, match, max_tabs: int = 200):
    """Press Tab until the focused element matches. Locators only (no page.evaluate), so it works
    with JavaScript disabled too."""
    for _ in range(max_tabs):
        await page.keyboard.press("Tab")
        focused = page.locator(":focus")
        if await focused.count() == 1 and await match(focused):
            return focused
    raise AssertionError("focus never reached the target")


def has_text(fragment: str):
    async def match(focused) -> bool:
        return fragment in (await focused.text_content() or "")

    return match


def has_id(element_id: str):
    async def match(focused) -> bool:
        return await focused.get_attribute("id") == element_id

    return match


def cell_context(activity: str, day: dt.date, child: str) -> str:
    return f"{activity}, {jour(day)}, pour {child}"


async def focused_text(page) -> str:
    return await page.locator(":focus").text_content() or ""


async def nojs_login(page, code="F00001", password="demo-famille-1"):
    await page.goto("/")
    await tab_to(page, has_id("code_famille"))
    await page.keyboard.type(code)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")


async def summaries(page) -> str:
    """The week's per-child summaries (« 4 réservations : Cantine × 4 »), one line each."""
    return "\n".join(await page.locator("#week-grid .child-summary").all_inner_texts())


async def check_page(page) -> None:
    assert await page.locator("h1").count() == 1
    await assert_accessible(page)
    await assert_reflows_at_320(page)
    assert await small_targets(page) == []


async def keyboard_press_cell(page, activity, day, child, *, js: bool) -> None:
    await tab_to(page, has_text(cell_context(activity, day, child)), max_tabs=150)
    if not js:
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        return
    await page.keyboard.press("Enter")
    if js:
        # htmx swaps the week, then focus lands on the cell's new button.
        await page.wait_for_function(
            "ctx => document.activeElement && document.activeElement.tagName === 'BUTTON'"
            " && document.activeElement.textContent.includes(ctx)"
            " && !document.activeElement.closest('[aria-busy]')",
            arg=f"{activity}, {jour(day)}, pour {child}",
        )


async def test_book_a_week_and_cancel_a_day_by_keyboard(page):
    monday = open_weeks(1)[0]
    await keyboard_login_family(page)
    await page.goto(f"/famille/reservations?semaine={cal.week_code(monday)}")
    await check_page(page)
    if monday + dt.timedelta(days=2) <= clock.today() + dt.timedelta(days=21):
        # The demo fills Wednesdays up to two places under capacity.
        assert "Plus que 2 places" in await page.locator("#week-grid").inner_text()
    for offset in (0, 1, 3, 4):
        day = monday + dt.timedelta(days=offset)
        await keyboard_press_cell(page, "Cantine", day, "Léa", js=True)
        text = await focused_text(page)
        assert text.strip().startswith("Réservé") and "Annuler" in text
        assert (
            "Réservation enregistrée : Cantine pour Léa"
            in await page.locator("#flash").inner_text()
        )
    summary = await summaries(page)
    assert "Cantine × 4" in summary
    await assert_accessible(page)
    # Cancel Tuesday.
    tuesday = monday + dt.timedelta(days=1)
    await page.keyboard.press("Shift+Tab")
    await keyboard_press_cell(page, "Cantine", tuesday, "Léa", js=True)
    assert (await focused_text(page)).strip().startswith("Libre")
    assert "Réservation annulée : Cantine pour Léa" in await page.locator("#flash").inner_text()
    assert "Cantine × 3" in await summaries(page)
    await check_page(page)
    # The next week by its link, still by keyboard; the URL follows.
    await tab_until(page, "e.getAttribute('rel') === 'next'", max_tabs=200)
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(re.escape(cal.week_code(monday + dt.timedelta(days=7)))))
    await assert_accessible(page)


async def test_book_a_week_and_cancel_a_day_without_javascript(nojs_page):
    page = nojs_page
    monday = open_weeks(2)[1]
    await nojs_login(page)
    await page.goto(f"/famille/reservations?semaine={cal.week_code(monday)}")
    for offset in (0, 1, 3):
        day = monday + dt.timedelta(days=offset)
        await keyboard_press_cell(page, "Cantine", day, "Hugo", js=False)
        assert cal.week_code(monday) in page.url
        assert (
            "Réservation enregistrée : Cantine pour Hugo"
            in await page.locator("#flash").inner_text()
        )
    assert "Cantine × 3" in await summaries(page)
    await keyboard_press_cell(page, "Cantine", monday + dt.timedelta(days=1), "Hugo", js=False)
    assert "Réservation annulée : Cantine pour Hugo" in await page.locator("#flash").inner_text()
    assert "Cantine × 2" in await summaries(page)


async def fill_pattern_by_keyboard(page, start: dt.date, end: dt.date) -> None:
    await page.goto("/famille/reservations/semaine-type")
    targets = []
    for child in ("Léa", "Hugo"):
        targets.append(
            await page.locator("#pattern-form label", has_text=child).first.get_attribute("for")
        )
    for weekday in ("lundi", "jeudi"):
        targets.append(
            await page.locator(
                "#pattern-form label", has_text=f"{weekday} (Cantine)"
            ).first.get_attribute("for")
        )
    for target in targets:
        await tab_to(page, has_id(target))
        await page.keyboard.press("Space")
    await tab_to(page, has_id("du"), max_tabs=120)
    await type_date(page, start)
    await tab_to(page, has_id("au"))
    await type_date(page, end)
    await page.keyboard.press("Enter")


async def type_date(page, day: dt.date) -> None:
    """Digits alone into the focused native date input, as a phone's keypad types them. Its
    segments follow the browser's language (day first in French, month first in English):
    digits typed in the other order are typed again from the first segment."""
    for order in ("%d%m%Y", "%m%d%Y"):
        await page.keyboard.type(day.strftime(order))
        if await page.locator(":focus").input_value() == day.isoformat():
            return
        await page.keyboard.press("Shift+Tab")
        await page.keyboard.press("Shift+Tab")
    raise AssertionError(f"the date input did not take {day.isoformat()}")


async def test_semaine_type_for_two_children_by_keyboard(page):
    start = open_weeks(3)[2]
    end = start + dt.timedelta(days=11)
    await keyboard_login_family(page)
    # A validation error first: no child chosen.
    await page.goto("/famille/reservations/semaine-type")
    await tab_until(page, "e.textContent.trim() === 'Voir les changements'", max_tabs=120)
    await page.keyboard.press("Enter")
    await page.wait_for_selector(".error-summary")
    await wait_for_error_summary_focus(page)
    await assert_accessible(page)
    await fill_pattern_by_keyboard(page, start, end)
    await page.wait_for_selector("#plan-title")
    await page.wait_for_function(
        "document.activeElement && document.activeElement.id === 'plan-title'"
    )
    plan = await page.locator("#pattern-form").inner_text()
    assert f"{jour(start).capitalize()} : Cantine pour Léa" in plan
    assert f"{jour(start).capitalize()} : Cantine pour Hugo" in plan
    await check_page(page)
    await tab_until(page, "e.textContent.trim().startsWith('Confirmer les')")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/famille/reservations\?semaine="))
    assert (
        "Semaine type appliquée : 8 réservations ajoutées."
        in await page.locator("#flash").inner_text()
    )
    summary = await summaries(page)
    assert summary.count("Cantine × 2") == 2


async def test_semaine_type_without_javascript(nojs_page):
    page = nojs_page
    start = open_weeks(5)[4]
    end = start + dt.timedelta(days=4)
    await nojs_login(page)
    await fill_pattern_by_keyboard(page, start, end)
    await page.wait_for_selector("#plan-title")
    await tab_to(page, has_text("Confirmer les"))
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/famille/reservations\?semaine="))
    assert "4 réservations ajoutées" in await page.locator("#flash").inner_text()


async def test_inscriptions_and_home_pages_are_accessible(page):
    await keyboard_login_family(page)
    await check_page(page)
    home = await page.locator("main").inner_text()
    assert "Bonjour, famille Martin" in home and "Léa Martin" in home
    # The week after next is always still open: when it is all school days, its deadline is
    # one of those announced (otherwise a holiday decides, and the list may well be empty).
    today = clock.today()
    after_next = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=14)
    if open_weeks(1)[0] == after_next:
        deadlines = await page.locator("section[aria-labelledby='deadlines-title']").inner_text()
        assert f"Réservez la semaine du {jour(after_next)} avant" in deadlines
    await page.goto("/famille/inscriptions")
    await check_page(page)
    await tab_until(page, "e.textContent.trim().startsWith('Créer')", max_tabs=120)
    await page.keyboard.press("Enter")
    await page.wait_for_selector(".ics-url")
    assert (await page.locator(".ics-url").inner_text()).endswith(".ics")
    await assert_accessible(page)
    await page.goto("/famille/inscriptions/imprimer")
    await check_page(page)
    # A validation error on an inscription request.
    await page.goto("/famille/inscriptions")
    await tab_until(page, "e.textContent.trim() === 'Envoyer la demande'", max_tabs=150)
    await page.keyboard.press("Enter")
    await page.wait_for_selector(".error-summary")
    await wait_for_error_title(page)
    await assert_accessible(page)


async def test_staff_pages_are_accessible_and_work_by_keyboard(page):
    await keyboard_login_staff(page)
    await page.goto("/agents/inscriptions")
    await check_page(page)
    await page.goto("/agents/effectifs")
    await check_page(page)
    # A weekday with bookings: the last school day before today.
    day = clock.today() - dt.timedelta(days=1)
    while day.weekday() >= 5 or cal.school_holiday(day, "C") or cal.public_holiday(day):
        day -= dt.timedelta(days=1)
    await page.goto(f"/agents/effectifs?jour={day.isoformat()}&ecole=1")
    await check_page(page)
    assert "repas" in await page.locator("#kitchen-title + ul").inner_text()
    await tab_until(page, "e.type === 'radio'", max_tabs=80)
    await page.keyboard.press("Space")
    await tab_until(
        page, "e.textContent.trim().startsWith('Enregistrer le pointage')", max_tabs=400
    )
    # htmx saves that list alone; focus goes to its confirmation, beside it.
    section = await page.evaluate("() => document.activeElement.closest('section').id")
    await page.keyboard.press("Enter")
    await page.wait_for_function(f"() => document.activeElement.id === '{section}-status'")
    assert "Pointage enregistré" in await page.locator(f"#{section}-status").inner_text()
    await page.goto("/agents/familles/1/reservations")
    await check_page(page)
