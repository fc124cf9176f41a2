"""The family week as a parent uses it (issue 15): its height on a 375 × 667 phone, axe-core at
1280 and 320 px in every state (navigation, booked, refused, holiday week, copy preview), focus
and title after every htmx swap, and WCAG 1.4.12 text spacing at 320 px."""

from __future__ import annotations

import datetime as dt
import re

from ecp import clock
from ecp.booking import calendar as cal
from tests.browser.a11y import axe_violations
from tests.browser.test_booking import jour, open_weeks
from tests.browser.test_public_and_login import keyboard_login_family

WEEK = "/famille/reservations"
PHONE = {"width": 375, "height": 667}
WIDE = {"width": 1280, "height": 900}
# WCAG 1.4.12: the spacing a reader's style sheet may impose without loss of content. Set
# through the CSSOM on every element (the CSP refuses an injected <style>, as it should).
TEXT_SPACING = """() => {
  for (const el of document.querySelectorAll('body, body *')) {
    el.style.setProperty('line-height', '1.5', 'important');
    el.style.setProperty('letter-spacing', '0.12em', 'important');
    el.style.setProperty('word-spacing', '0.16em', 'important');
    if (el.tagName === 'P') el.style.setProperty('margin-bottom', '2em', 'important');
  }
}"""


def own_week(n: int = 0) -> dt.date:
    """Weeks of this file's own, after those test_booking.py books (the live server's
    database is shared by the session's browser tests)."""
    return open_weeks(8 + n)[7 + n]


def holiday_week() -> dt.date:
    """The first Monday from next week whose five days are all school holidays (zone C)."""
    today = clock.today()
    monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7)
    while not all(cal.school_holiday(monday + dt.timedelta(days=i), "C") for i in range(5)):
        monday += dt.timedelta(days=7)
    return monday


async def check_state(page, name: str, swapped: bool = True) -> None:
    """axe-core (WCAG 2.0-2.2 A/AA and best practice) at 1280 and 320 px, no sideways scroll
    at 320 px, the title naming the week shown and, after an htmx swap, focus not on <body>."""
    problems = []
    heading = (await page.locator("#week-grid-title").inner_text()).strip()
    active = await page.evaluate("() => document.activeElement && document.activeElement.tagName")
    if swapped and active == "BODY":
        problems.append(f"{name}: focus on <body>")
    title = await page.title()
    week = await page.evaluate("() => new URLSearchParams(location.search).get('semaine') || ''")
    if week and cal.week_code(cal.parse_week(week, clock.today())) != week:
        problems.append(f"{name}: bad week in the URL {week}")
    # The <title> names the same week as the heading (its first and last day).
    days = re.findall(r"\d+(?:er)?", heading)
    if not (title.startswith("Réservations") and all(d in title for d in days)):
        problems.append(f"{name}: title {title!r} does not match the heading {heading!r}")
    size = page.viewport_size
    for width in (1280, 320):
        await page.set_viewport_size({"width": width, "height": 800})
        problems += [f"{name} at {width}px: {v}" for v in await axe_violations(page, best=True)]
        if width == 320:
            overflow = await page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 0:
                problems.append(f"{name}: scrolls {overflow}px sideways at 320px")
    await page.set_viewport_size(size)
    assert not problems, "\n".join(problems)


async def wait_for_swap(page, predicate_js: str) -> None:
    """The swap done and settled: the predicate holds and focus has left <body>."""
    await page.wait_for_function(
        f"() => !document.querySelector('[aria-busy]') && ({predicate_js})"
        " && document.activeElement && document.activeElement !== document.body",
        timeout=5000,
    )


async def test_two_childrens_week_fits_two_phone_screens(page):
    """What is measured: the whole document's height (header, menu and footer included) of
    the demo family with two children, at 375 × 667, on this week and on the next week all of
    whose days are still open; a phone shows one child at a time, the other one tap away."""
    await page.set_viewport_size(PHONE)
    await keyboard_login_family(page)
    heights = {}
    for monday in (None, own_week()):
        url = WEEK if monday is None else f"{WEEK}?semaine={cal.week_code(monday)}"
        await page.goto(url)
        assert await page.locator("section.week-child").count() == 2
        assert await page.locator("section.week-child:visible").count() == 1
        assert await page.locator(".child-switch a").count() == 2
        heights[url] = await page.evaluate("() => document.documentElement.scrollHeight")
        overflow = await page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
    print(f"week page heights at 375 x 667: {heights}")
    assert all(h <= 2 * PHONE["height"] for h in heights.values()), heights
    # The other child, one tap away: the same budget.
    await page.locator(".child-switch a:not([aria-current])").click()
    await wait_for_swap(page, "document.activeElement.id.endsWith('-title')")
    assert await page.locator("section.week-child:visible h3").inner_text() != ""
    assert await page.evaluate("() => document.documentElement.scrollHeight") <= 2 * 667
    # Today is marked in words when the week holds it.
    today = clock.today()
    if today.weekday() < 5:
        await page.goto(WEEK)
        current = page.locator("section.week-child:visible [aria-current='date']")
        if await current.count():
            assert "aujourd’hui" in await current.inner_text()


async def test_every_week_state_is_accessible_and_keeps_focus_and_title(page):
    await page.set_viewport_size(WIDE)
    await keyboard_login_family(page)
    monday = own_week()
    await page.goto(f"{WEEK}?semaine={cal.week_code(monday)}")
    await check_state(page, "open week (full page)", swapped=False)
    # Navigation: next week, by its link.
    await page.locator('a[rel="next"]').click()
    await wait_for_swap(page, "document.activeElement.id === 'week-grid-title'")
    await page.wait_for_url(re.compile(cal.week_code(monday + dt.timedelta(days=7))))
    await check_state(page, "next week (htmx)")
    await page.locator('a[rel="prev"]').click()
    await wait_for_swap(page, f"location.search.includes('{cal.week_code(monday)}')")
    # A booking: Léa's first free cell of the week, by its button.
    free = page.locator("section.week-child.is-shown button.cell-button-reserver").first
    cell = await free.evaluate("b => b.closest('li.cell').id")
    await free.click()
    await wait_for_swap(
        page, f"document.activeElement.closest && !!document.activeElement.closest('#{cell}')"
    )
    assert "Réservation enregistrée" in await page.locator("#flash").inner_text()
    await check_state(page, "booked (htmx)")
    # A stale tap: the cell is booked meanwhile (another tab), then its old button pressed.
    # The wish already holds: the fresh week shows the cell booked, and says nothing changed.
    other = page.locator("section.week-child.is-shown button.cell-button-reserver").first
    other_cell = await other.evaluate("b => b.closest('li.cell').id")
    case = await other.get_attribute("value")
    token = await page.locator("input[name=_csrf_token]").first.input_value()
    response = await page.request.post(
        WEEK, form={"case": case, "semaine": cal.week_code(monday), "_csrf_token": token}
    )
    assert response.ok
    await other.click()
    await wait_for_swap(
        page, f"!!document.querySelector('#{other_cell} button.cell-button-annuler')"
    )
    notice = await page.locator("#flash").inner_text()
    assert notice.startswith("Déjà réservé ce jour-là") and "Rien n’a changé." in notice
    assert await page.locator(f"#{other_cell}-refus").count() == 0
    await check_state(page, "already booked (htmx)")
    # « Comme la semaine dernière »: the preview, focused.
    await page.get_by_role("button", name="Comme la semaine dernière").click()
    await wait_for_swap(page, "document.activeElement.id === 'copy-plan-title'")
    await check_state(page, "copy preview (htmx)")
    await page.locator("#copy-plan a.button").click()  # « Ne rien changer » / « Fermer »
    await wait_for_swap(page, "!document.getElementById('copy-plan')")
    await check_state(page, "copy preview closed (htmx)")
    # A holiday week: one line.
    await page.goto(f"{WEEK}?semaine={cal.week_code(holiday_week())}")
    assert "Pas d’accueil cette semaine" in await page.locator("#week-grid").inner_text()
    assert await page.locator(".week-day").count() == 0
    await check_state(page, "holiday week (full page)", swapped=False)


async def test_text_spacing_at_320_px_does_not_scroll_sideways(page):
    await page.set_viewport_size({"width": 320, "height": 800})
    await keyboard_login_family(page)
    for monday in (None, own_week(), holiday_week()):
        url = WEEK if monday is None else f"{WEEK}?semaine={cal.week_code(monday)}"
        await page.goto(url)
        await page.evaluate(TEXT_SPACING)
        sizes = await page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert sizes[0] <= sizes[1], f"{url}: {sizes} with text spacing"
        # Nothing clipped either: every cell's button shows its words.
        clipped = await page.evaluate("""() => [...document.querySelectorAll('.cell-button')]
          .filter(b => b.offsetParent && b.scrollWidth > b.clientWidth + 1).length""")
        assert clipped == 0, url


async def test_pour_tous_mes_enfants_books_both_children_by_keyboard(page):
    await page.set_viewport_size(WIDE)
    await keyboard_login_family(page)
    monday = own_week(1)
    await page.goto(f"{WEEK}?semaine={cal.week_code(monday)}")
    summary = page.locator("details.all-children summary")
    await summary.focus()
    await page.keyboard.press("Enter")
    button = page.locator("details.all-children button").first
    label = (await button.evaluate("b => b.firstChild.textContent")).strip()
    await button.focus()
    await page.keyboard.press("Enter")
    await wait_for_swap(page, "document.activeElement.closest('li.cell') !== null")
    message = await page.locator("#flash").inner_text()
    # « Réserver Cantine, lundi 4 janvier » -> « Réservation enregistrée : Cantine pour Léa et
    # Hugo, lundi 4 janvier. » (offered only where both children are free).
    activity, day = label.removeprefix("Réserver ").split(", ", 1)
    assert message.strip() == f"Réservation enregistrée : {activity} pour Léa et Hugo, {day}."
    assert day.split(" ")[0] in {
        jour(monday + dt.timedelta(days=i)).split(" ")[0] for i in range(5)
    }
