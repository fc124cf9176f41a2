"""The family's Accueil on a phone, in a real browser: « Mon enfant est malade aujourd'hui » in
two taps at 375 px with its undo (htmx, then without JavaScript), the unpaid invoice paid from
the Accueil's « Payer », the live total of the ticked invoices; axe-core at 320 and 1280 px in
every state, and WCAG 1.4.12 text spacing at 320 px on the Accueil, invoices, payments and the
paperless choice without sideways scrolling."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.browser.a11y import (
    assert_accessible,
    horizontal_overflow,
    small_targets,
    wait_for_focus,
)
from tests.browser.conftest import ROOT
from tests.browser.test_payments import keyboard_card, unpaid_invoice_number
from tests.browser.test_public_and_login import keyboard_login_family

# Today's canteen and evening garderie for F00001's first child, with the illness cut-off
# moved to the end of the day (the server runs on the real clock); printed: the child's id
# and first name. RESTORE puts the commune's 09:00 back.
BOOK_TODAY = r"""
import asyncio
from ecp import clock, db
from ecp.booking.tables import Booking
from ecp.commune.tables import Activity, CommuneSettings
from ecp.families.tables import Child, Family
import datetime as dt

async def main():
    await CommuneSettings.update({CommuneSettings.illness_cutoff_time: dt.time(23, 59)}).where(
        CommuneSettings.id > 0)
    family = await Family.select(Family.id).where(Family.code == "F00001").first()
    child = await Child.select(Child.id, Child.first_name, Child.school).where(
        (Child.family == family["id"]) & (Child.active == True)).order_by(Child.id).first()
    today, now = clock.today(), clock.now()
    for code in ("restauration", "garderie_soir"):
        activity = await Activity.select(Activity.id).where(Activity.code == code).first()
        where = (Booking.child == child["id"]) & (Booking.activity == activity["id"]) & (
            Booking.day == today)
        if await Booking.exists().where(where):
            await Booking.update({Booking.state: "reservee", Booking.updated_by: None}).where(where)
        else:
            await Booking(child=child["id"], activity=activity["id"], school=child["school"],
                          day=today, state="reservee", source="famille", created_at=now,
                          updated_at=now).save()
        await db.fetch(
            "INSERT INTO slot (school, activity, day, booked) VALUES ({}, {}, {}, 1) "
            "ON CONFLICT (school, activity, day) DO UPDATE SET booked = slot.booked + 1",
            child["school"], activity["id"], today)
    print(child["id"], child["first_name"])

asyncio.run(main())
"""
RESTORE = r"""
import asyncio, datetime as dt
from ecp.commune.tables import CommuneSettings
asyncio.run(CommuneSettings.update({CommuneSettings.illness_cutoff_time: dt.time(9, 0)}).where(
    CommuneSettings.id > 0).run())
"""
PHONE = {"width": 375, "height": 740}

# WCAG 1.4.12 (RGAA 10.12): the spacing a reader may impose, added to the portal's own
# stylesheet through the CSSOM (the CSP forbids a <style> element).
TEXT_SPACING = """() => {
  const sheet = [...document.styleSheets].find(s => (s.href || '').includes('app.css'));
  const rules = ['* { line-height: 1.5 !important; letter-spacing: 0.12em !important;'
    + ' word-spacing: 0.16em !important; }', 'p { margin-bottom: 2em !important; }'];
  for (const rule of rules) { sheet.insertRule(rule, sheet.cssRules.length); }
}"""


# The elements that stick out on the right, for the failure message.
WIDE = """() => [...document.querySelectorAll('body *')].filter(e => {
  const r = e.getBoundingClientRect(); return r.right > document.documentElement.clientWidth + 1;
}).slice(0, 8).map(e => `${e.tagName}.${e.className}#${e.id} ${Math.round(e.getBoundingClientRect().right)}`)"""


def _run(live_server, script: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=live_server.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


async def check_both_widths(page) -> None:
    """axe-core at 1280 and 320 px (no sideways scroll at 320), then back to the phone."""
    for width in (1280, 320):
        await page.set_viewport_size({"width": width, "height": 800})
        await assert_accessible(page)
        if width == 320:
            assert await horizontal_overflow(page) <= 0, page.url
    await page.set_viewport_size(PHONE)
    assert await small_targets(page) == [], page.url


async def test_declare_ill_in_two_taps_at_375_then_undo(page, live_server):
    child_id, name = _run(live_server, BOOK_TODAY).split(" ", 1)
    try:
        await keyboard_login_family(page)
        await page.set_viewport_size(PHONE)
        await page.goto("/famille/")
        card = page.locator(f"#malade-{child_id}")
        await card.scroll_into_view_if_needed()
        await check_both_widths(page)

        # Tap 1: the confirmation, in place, naming the child, the activities and the cut-off.
        await card.get_by_role("link", name=f"{name} est malade aujourd’hui").click()
        await wait_for_focus(page, f"e.id === 'malade-{child_id}-title'")
        assert (await page.title()).startswith(f"Confirmer l’absence de {name}")
        text = await card.inner_text()
        assert "Cantine" in text and "Garderie" in text and "jusqu’à 23:59" in text
        await check_both_widths(page)

        # Tap 2: declared; the result has focus and the live region says it once.
        await card.get_by_role("button", name=f"Confirmer : {name} est malade").click()
        await wait_for_focus(page, "e.classList.contains('notice-success')")
        flash = await page.locator("#flash").inner_text()
        assert f"Absence pour maladie signalée pour {name} aujourd’hui" in flash
        assert (await page.title()).startswith("Accueil")
        await check_both_widths(page)

        # Undo, until the cut-off.
        await card.get_by_role("button", name=re.compile("Annuler la déclaration")).click()
        await wait_for_focus(page, "e.textContent.startsWith('Déclaration annulée')")
        assert "Déclaration annulée" in await page.locator("#flash").inner_text()
        assert await card.get_by_role("link", name=f"{name} est malade aujourd’hui").count() == 1
        await check_both_widths(page)
    finally:
        _run(live_server, RESTORE + "\nprint('ok')")


async def test_declare_ill_without_javascript(nojs_page, live_server):
    page = nojs_page
    child_id, name = _run(live_server, BOOK_TODAY).split(" ", 1)
    try:
        await page.goto("/")
        await page.fill("#code_famille", "F00001")
        await page.fill("#mot_de_passe", "demo-famille-1")
        await page.press("#mot_de_passe", "Enter")
        await page.wait_for_url(re.compile(r"/famille/$"))
        await page.set_viewport_size(PHONE)
        await (
            page.locator(f"#malade-{child_id}")
            .get_by_role("link", name=f"{name} est malade aujourd’hui")
            .click()
        )
        await page.wait_for_url(re.compile(rf"/famille/malade/{child_id}$"))
        assert (await page.title()).startswith(f"Confirmer l’absence de {name}")
        await page.get_by_role("button", name=f"Confirmer : {name} est malade").click()
        await page.wait_for_url(re.compile(rf"/famille#malade-{child_id}$"))
        assert (
            f"Absence pour maladie signalée pour {name}"
            in await page.locator("#flash").inner_text()
        )
        # The undo redirects to the address already shown (/famille#malade-…): a URL wait
        # would return at once and read the old page's flash; wait for the navigation itself.
        async with page.expect_navigation(url=re.compile(rf"/famille#malade-{child_id}$")):
            await page.get_by_role("button", name=re.compile("Annuler la déclaration")).click()
        assert "Déclaration annulée" in await page.locator("#flash").inner_text()
    finally:
        _run(live_server, RESTORE + "\nprint('ok')")


async def test_a_refused_card_says_what_happened_and_what_to_do(page, live_server):
    number = unpaid_invoice_number(live_server)
    await keyboard_login_family(page)
    await page.set_viewport_size(PHONE)
    await page.goto("/famille/paiements")
    for box in await page.locator("input[name=factures]").all():
        label = await page.locator(f"label[for='{await box.get_attribute('id')}']").inner_text()
        if (number in label) != await box.is_checked():
            await box.click()
    await page.get_by_role("button", name="Vérifier le montant").click()
    await page.wait_for_url(re.compile(r"/famille/paiements/ECP-[A-Za-z0-9_-]+$"))
    attempt = page.url
    await page.get_by_role("button", name="Continuer vers le paiement sécurisé").click()
    await page.wait_for_url(re.compile(r"/simulateur-paybox/paiement$"))
    await keyboard_card(page, "4000000000000002")
    await page.wait_for_url(re.compile(r"/retour/refuse\?"))
    for url in (page.url, attempt):
        await page.goto(url)
        main = await page.locator("main").inner_text()
        assert "Paiement refusé par votre banque" in main
        assert "Factures réglées par ce paiement" not in main and "Montant payé" not in main
        assert "Factures que ce paiement devait régler" in main
        assert "payer à nouveau en ligne" in main and "guichet de la régie" in main
        await check_both_widths(page)


async def test_pay_the_unpaid_invoice_from_the_home_page(page, live_server):
    number = unpaid_invoice_number(live_server)
    await keyboard_login_family(page)
    await page.set_viewport_size(PHONE)
    await page.goto("/famille/")
    card = page.locator("#a-payer")
    assert re.match(r"À payer\s*:\s*[\d  ]+,\d\d\s€", await card.locator("h2").inner_text())
    # Screen 1: the Accueil, « Payer » in its first screenful.
    payer = card.get_by_role("link", name=re.compile(r"^Payer"))
    box = await payer.bounding_box()
    assert box["y"] + box["height"] <= PHONE["height"] * 1.5, box
    await payer.click()
    # Screen 2: the invoices, every one ticked; the total follows the ticks.
    await page.wait_for_url(re.compile(r"/famille/paiements$"))
    total = page.locator("[data-chosen-total]")
    assert (await total.inner_text()).startswith("Total choisi")
    boxes = page.locator("input[name=factures]")
    target = None
    for i in range(await boxes.count()):
        checkbox = boxes.nth(i)
        label = await page.locator(
            f"label[for='{await checkbox.get_attribute('id')}']"
        ).inner_text()
        # The box itself is 32 px; with its label (which ticks it too) the target is 44 px high.
        size = await checkbox.bounding_box()
        assert size["width"] >= 30 and size["height"] >= 30, size
        label_box = await page.locator(
            f"label[for='{await checkbox.get_attribute('id')}']"
        ).bounding_box()
        assert label_box["height"] >= 44, label_box
        if number in label:
            target = checkbox
        elif await checkbox.is_checked():
            await checkbox.click()
    assert target is not None
    await target.click()
    assert (await total.inner_text()).startswith("Aucune facture cochée")
    await target.click()
    chosen = await total.inner_text()
    assert "(1 facture)" in chosen
    await check_both_widths(page)
    await page.get_by_role("button", name="Vérifier le montant").click()
    # Screen 3: the amount the server computed, the same as the live total.
    await page.wait_for_url(re.compile(r"/famille/paiements/ECP-[A-Za-z0-9_-]+$"))
    amount = re.search(r"[\d  ]+,\d\d\s€", chosen).group(0).strip()
    assert amount.replace("\u202f", " ") in (await page.locator("h1").inner_text()).replace(
        "\u202f", " "
    )
    await check_both_widths(page)
    await page.get_by_role("button", name="Continuer vers le paiement sécurisé").click()
    # Screen 4: the bank's page (the simulator), then back, paid.
    await page.wait_for_url(re.compile(r"/simulateur-paybox/paiement$"))
    await keyboard_card(page, "1111222233334444")
    await page.wait_for_url(re.compile(r"/retour/effectue\?"))
    assert "Paiement confirmé" in await page.locator("#attempt-status").inner_text()
    assert (
        "Factures réglées par ce paiement" in await page.locator("#attempt-invoices").inner_text()
    )
    await check_both_widths(page)


async def test_text_spacing_holds_at_320_on_the_family_pages(page, live_server):
    number = unpaid_invoice_number(live_server)
    await keyboard_login_family(page)
    await page.set_viewport_size({"width": 320, "height": 800})
    await page.goto("/famille/factures")
    detail = await page.locator("#invoice-list tbody th a").first.get_attribute("href")
    assert number
    for path in ("/famille/", "/famille/factures", detail, "/famille/paiements"):
        await page.goto(path)
        await page.evaluate(TEXT_SPACING)
        overflow = await horizontal_overflow(page)
        wide = await page.evaluate(WIDE)
        assert overflow <= 0, f"{path} scrolls {overflow}px sideways with text spacing: {wide}"
        # The paperless choice (« facture dématérialisée ») is on the invoices page.
        if path == "/famille/factures":
            choice = await page.locator("#paperless-choice").bounding_box()
            assert choice["x"] + choice["width"] <= 320, choice
        await assert_accessible(page)
        await page.set_viewport_size({"width": 1280, "height": 800})
        await assert_accessible(page)
        await page.set_viewport_size({"width": 320, "height": 800})


async def test_paperless_choice_htmx_state_at_320_and_1280(page, live_server):
    await keyboard_login_family(page)
    await page.set_viewport_size({"width": 320, "height": 800})
    await page.goto("/famille/factures")
    other = "papier" if await page.locator("#mode-courriel").is_checked() else "courriel"
    await page.locator(f"#mode-{other}").check()
    await page.get_by_role("button", name="Enregistrer mon choix").click()
    await wait_for_focus(page, "e.id === 'paperless-choice-title'")
    assert await page.locator(f"#mode-{other}").is_checked()
    for width in (320, 1280):
        await page.set_viewport_size({"width": width, "height": 800})
        await assert_accessible(page)
    await page.set_viewport_size({"width": 320, "height": 800})
    assert await horizontal_overflow(page) <= 0
