"""Every family page in one pass (issue 15, RGAA 8.6, 10.11, 10.12, 12.8): the GET routes under
/famille are listed from the application itself, so that a new page cannot be forgotten; each
one is reached through the links of the pages before it (or, for a page no link reaches in the
demo, from the family's own data) and checked with axe-core (WCAG 2.0-2.2 A/AA and best
practice) at 1280 and 320 px, then at 320 px with the WCAG 1.4.12 text spacing, which must not
make it scroll sideways (320 CSS px is also a 1280 px screen at 400 % zoom: WCAG 1.4.10).
Downloads (PDF, CSV, ICS, JSON, the page « Mes données » saved as a file) are told apart by
their content type and disposition, not by a list.

Then the htmx interactions of these pages (paperless choice, contact form errors, password
errors, inscription request errors, semaine type preview and errors, the calendar link, the
illness confirmation): after each swap focus is not on <body> and the <title> is current."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import subprocess
import sys
from urllib.parse import urlsplit

from ecp.app import create_app
from tests.browser.a11y import axe_violations
from tests.browser.conftest import ROOT
from tests.browser.test_public_and_login import keyboard_login_family
from tests.browser.test_week_phone import own_week

SUFFIX = " – Portail Famille de "
# The family's ids a link may not show in the demo (no child booked today: no illness link;
# no payment started yet: no attempt page), printed as « child_id reference ».
IDS = r"""
import asyncio
from ecp.families.tables import Child, Family
from ecp.payments.tables import PaymentAttempt

async def main():
    family = await Family.select(Family.id).where(Family.code == "F00001").first()
    child = await Child.select(Child.id).where(
        (Child.family == family["id"]) & (Child.active == True)).order_by(Child.id).first()
    attempt = await PaymentAttempt.select(PaymentAttempt.reference).where(
        PaymentAttempt.family == family["id"]).order_by(PaymentAttempt.id).first()
    print(child["id"], attempt["reference"] if attempt else "-")

asyncio.run(main())
"""
# The family pages this pass cannot open, and the test that checks each.
NOT_HERE = {
    # The provider's signed return (tests/browser/test_payments.py, test_payfip.py).
    "family_payment_return": "a Paybox return needs the provider's signature",
    "family_payfip_return": "a PayFiP return needs the provider's answer",
    # Shown before the first password change only (tests/browser/test_first_login.py).
    "family_first_password": "only until the welcome letter's password is replaced",
    # A download the demo family has none of yet (no certificate issued).
    "family_certificate_pdf": "no certificate issued to the demo family",
}
# WCAG 1.4.12: the spacing a reader's style sheet may impose, as rules added to the portal's
# own style sheet through the CSSOM (the CSP refuses a <style> element, and style attributes
# would be copied by htmx's settle step, which the CSP refuses too); removed after measuring.
TEXT_SPACING = """on => {
  const sheet = [...document.styleSheets].find(s => (s.href || '').includes('app.css'));
  if (!on) { sheet.deleteRule(sheet.cssRules.length - 1); sheet.deleteRule(sheet.cssRules.length - 1); return; }
  sheet.insertRule('* { line-height: 1.5 !important; letter-spacing: 0.12em !important;'
    + ' word-spacing: 0.16em !important; }', sheet.cssRules.length);
  sheet.insertRule('p { margin-bottom: 2em !important; }', sheet.cssRules.length);
}"""
# Where the axe-core or overflow problems are, for the failure message.
STICKING_OUT = """() => [...document.querySelectorAll('body *')].filter(e => {
  const r = e.getBoundingClientRect(); return r.right > document.documentElement.clientWidth + 1;
}).slice(0, 6).map(e => `${e.tagName}.${e.className}#${e.id} ${Math.round(e.getBoundingClientRect().right)}`)"""


def family_get_routes() -> dict[str, re.Pattern]:
    """Every named GET route under /famille, as a pattern of the paths it serves."""
    routes = {}
    for route in create_app().routes:
        if not route.path.startswith("/famille"):
            continue
        for handler in route.route_handlers:
            if "GET" in handler.http_methods and handler.name:
                pattern = re.sub(
                    r"\\\{\w+:(\w+)\\\}",
                    lambda m: r"\d+" if m.group(1) == "int" else r"[^/]+",
                    re.escape(route.path),
                )
                routes[handler.name] = re.compile(f"^{pattern}/?$")
    return routes


def _ids(live_server) -> tuple[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", IDS],
        env=live_server.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    child_id, reference = done.stdout.split()
    return child_id, reference


def _route_of(routes: dict[str, re.Pattern], path: str) -> str | None:
    for name, pattern in routes.items():
        if pattern.match(path):
            return name
    return None


async def _links(page) -> list[str]:
    hrefs = await page.eval_on_selector_all(
        "a[href^='/famille'], [hx-get^='/famille']",
        "els => els.map(e => e.getAttribute('href') || e.getAttribute('hx-get'))",
    )
    return [urlsplit(h).path for h in hrefs]


async def check_page(page, label: str) -> list[str]:
    problems = []
    if await page.locator("h1").count() != 1:
        problems.append(f"{label}: {await page.locator('h1').count()} h1")
    title = await page.title()
    if SUFFIX not in title or title.startswith("Portail Famille" + SUFFIX):
        problems.append(f"{label}: the title {title!r} does not name the page")
    for width in (1280, 320):
        await page.set_viewport_size({"width": width, "height": 800})
        problems += [f"{label} at {width}px: {v}" for v in await axe_violations(page, best=True)]
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 0:
        problems.append(
            f"{label}: {overflow}px sideways at 320px {await page.evaluate(STICKING_OUT)}"
        )
    await page.evaluate(TEXT_SPACING, True)
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 0:
        problems.append(
            f"{label}: {overflow}px sideways at 320px with text spacing"
            f" {await page.evaluate(STICKING_OUT)}"
        )
    await page.evaluate(TEXT_SPACING, False)
    await page.set_viewport_size({"width": 1280, "height": 900})
    return problems


async def test_every_family_page_is_accessible_at_1280_and_320_with_text_spacing(page, live_server):
    routes = family_get_routes()
    child_id, reference = _ids(live_server)
    await keyboard_login_family(page)
    queue = ["/famille/"]
    visited: dict[str, str] = {}  # route name -> the URL checked, or why it was not a page
    problems: list[str] = []

    def add_fallbacks() -> None:
        """The pages no link reached: those without a parameter by their path, the others
        from the family's data."""
        for name, pattern in routes.items():
            path = pattern.pattern.removeprefix("^").removesuffix("/?$")
            path = path.replace("\\", "")
            if name not in visited and re.fullmatch(r"[\w/.-]+", path):
                queue.append(path)
        queue.append(f"/famille/malade/{child_id}")
        invoice = re.search(r"\d+", visited.get("family_invoice", ""))
        if invoice:  # the former address of the PDF, still served
            queue.append(f"/famille/factures/{invoice[0]}/facture.pdf")
        if reference != "-":
            queue.append(f"/famille/paiements/{reference}")

    fallbacks_added = False
    while queue or not fallbacks_added:
        if not queue:
            add_fallbacks()
            fallbacks_added = True
            continue
        path = queue.pop(0)
        name = _route_of(routes, path)
        if name is None or name in visited:
            continue
        probe = await page.request.get(path, max_redirects=0)
        kind = probe.headers.get("content-type", "")
        if probe.status == 404 and fallbacks_added:
            # A page guessed from the family's data (e.g. the mandate's PDF without a mandate).
            visited[name] = "404: nothing of the family's to show"
            continue
        if 300 <= probe.status < 400:
            visited[name] = f"redirect {probe.status} to {probe.headers.get('location')}"
            continue
        if not kind.startswith("text/html") or "attachment" in probe.headers.get(
            "content-disposition", ""
        ):
            visited[name] = f"download {kind.split(';')[0]}"
            continue
        response = await page.goto(path)
        assert response.ok, f"{path}: {response.status}"
        visited[name] = path
        queue += await _links(page)
        problems += await check_page(page, path)
    print("family pages:", visited)
    assert not problems, "\n".join(problems)
    missing = set(routes) - set(visited)
    if reference == "-":
        missing.discard("family_payment_attempt")  # the demo family has not started one yet
    assert not missing - set(NOT_HERE), f"family pages not checked: {sorted(missing)}"


async def _swap(page, click) -> None:
    """Run `click` and wait until htmx has settled the swap (app.js moves focus then)."""
    settled = asyncio.ensure_future(
        page.evaluate(
            "() => new Promise(r => document.body.addEventListener('htmx:afterSettle',"
            " () => setTimeout(r, 50), {once: true}))"
        )
    )
    await asyncio.sleep(0)  # the listener in place before the click
    await page.evaluate("() => 0")
    await click()
    await asyncio.wait_for(settled, 10)


async def check_swap(page, label: str, error: bool) -> list[str]:
    """After a swap: focus off <body>, the title current (« Erreur : » exactly when the
    fragment shows errors), then as a page: axe-core at both widths, text spacing at 320 px."""
    problems = []
    active = await page.evaluate("() => document.activeElement.tagName")
    if active == "BODY":
        problems.append(f"{label}: focus on <body>")
    title = await page.title()
    if title.startswith("Erreur : ") != error or SUFFIX not in title:
        problems.append(f"{label}: title {title!r} (errors shown: {error})")
    if error and not await page.locator(".error-summary").count():
        problems.append(f"{label}: no error summary")
    problems += await check_page(page, label)
    return problems


async def test_every_family_htmx_swap_keeps_focus_and_title(page):
    await keyboard_login_family(page)
    problems: list[str] = []

    # The paperless choice: no choice (an error), then the family's own choice again.
    await page.goto("/famille/factures")
    choice = page.locator("#paperless-choice")
    current = await choice.locator("input[name=mode]:checked").get_attribute("id")
    await page.evaluate(
        "() => document.querySelectorAll('input[name=mode]').forEach(i => i.checked = false)"
    )
    await _swap(page, lambda: choice.get_by_role("button").click())
    problems += await check_swap(page, "paperless choice, none ticked", error=True)
    await page.locator(f"#{current}").check()
    await _swap(page, lambda: page.locator("#paperless-choice").get_by_role("button").click())
    problems += await check_swap(page, "paperless choice saved", error=False)

    # The contact change: a required field emptied (once corrected, the form sends the
    # request and the browser goes to « Mes coordonnées »: tests/browser/test_accounts.py).
    await page.goto("/famille/coordonnees")
    await page.locator("a[href$='/modifier']").first.click()
    await page.wait_for_url(re.compile(r"/modifier$"))
    await page.locator("#address_line1").fill("")
    await _swap(page, lambda: page.locator("#contact-form button[type=submit]").click())
    problems += await check_swap(page, "contact change, address emptied", error=True)

    # The password change, empty.
    await page.goto("/famille/mot-de-passe")
    await _swap(page, lambda: page.locator("#password-form button[type=submit]").click())
    problems += await check_swap(page, "password change, empty", error=True)

    # An inscription request with nothing chosen.
    await page.goto("/famille/inscriptions")
    # (A plain form: the page comes back whole, its error summary focused.)
    request = page.locator("form[action='/famille/inscriptions']").first
    assert await request.get_attribute("hx-post") is None
    async with page.expect_navigation():
        await request.locator("button[type=submit]").click()
    problems += await check_swap(page, "inscription request, empty", error=True)

    # The calendar link: a new address, shown once (a long URL, on a phone too).
    await page.goto("/famille/inscriptions")
    await _swap(page, lambda: page.locator("#ics-panel button").first.click())
    assert await page.locator("#ics-panel .ics-url").count() == 1
    problems += await check_swap(page, "calendar link created", error=False)

    # The semaine type: nothing chosen (errors), then a preview.
    await page.goto("/famille/reservations/semaine-type")
    form = "#pattern-form form"
    await _swap(page, lambda: page.locator(f"{form} button[type=submit]").click())
    problems += await check_swap(page, "semaine type, empty", error=True)
    await page.locator(f"{form} input[name=enfants]").first.check()
    await page.locator("#jours").check()
    monday = own_week(2)
    await page.locator("#du").fill(monday.isoformat())
    await page.locator("#au").fill((monday + dt.timedelta(days=4)).isoformat())
    await _swap(page, lambda: page.locator(f"{form} button[type=submit]").click())
    assert await page.locator("#plan-title").count() == 1
    problems += await check_swap(page, "semaine type, preview", error=False)

    assert not problems, "\n".join(problems)
