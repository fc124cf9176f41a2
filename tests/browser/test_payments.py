"""A family pays the Martin family's unpaid invoice by card through the local Paybox simulator,
keyboard only; a refused card leaves it unpaid; axe-core on every page of the journey."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.browser.a11y import (
    assert_accessible,
    assert_reflows_at_320,
    small_targets,
    tab_until,
    wait_for_error_summary_focus,
    wait_for_error_title,
)
from tests.browser.conftest import ROOT
from tests.browser.test_public_and_login import keyboard_login_family, keyboard_login_staff

# The demo seeds an unpaid invoice for F00001 (invoices feature); when it is not there (or
# already paid by an earlier test), this adds one for a month with no invoice yet.
ENSURE_UNPAID = r"""
import asyncio, datetime as dt
from ecp import clock
from ecp.families.tables import Family
from ecp.invoices.tables import Invoice

async def main():
    family = await Family.select(Family.id, Family.name).where(Family.code == "F00001").first()
    rows = await Invoice.select(Invoice.number, Invoice.month, Invoice.total_cents,
                                Invoice.paid_cents, Invoice.kind).where(
        Invoice.family == family["id"])
    unpaid = [r for r in rows if r["kind"] == "facture" and r["total_cents"] > r["paid_cents"]]
    if unpaid:
        print(unpaid[0]["number"]); return
    used = {r["month"] for r in rows}
    today = clock.today()
    for back in range(24, 240):
        year, month = divmod(today.year * 12 + today.month - 1 - back, 12)
        first = dt.date(year, month + 1, 1)
        if first not in used:
            break
    number = f"FAC-TEST-{len(rows) + 1:06d}"
    await Invoice(number=number, kind="facture", family=family["id"], month=first,
                  issued_at=clock.now(), due_on=today + dt.timedelta(days=10), total_cents=3780,
                  paid_cents=0, family_name=family["name"]).save()
    print(number)

asyncio.run(main())
"""


def unpaid_invoice_number(live_server) -> str:
    done = subprocess.run(
        [sys.executable, "-c", ENSURE_UNPAID],
        env=live_server.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


async def check_page(page):
    assert await page.locator("h1").count() == 1, page.url
    await assert_accessible(page)
    await assert_reflows_at_320(page)
    assert await small_targets(page) == [], page.url


async def keyboard_to_bank_page(page, number: str) -> None:
    """From the family home to the simulator's card page, by keyboard alone."""
    await tab_until(page, "e.getAttribute('href') === '/famille/paiements'")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/famille/paiements$"))
    assert number in await page.locator("#invoice-choice").inner_text()
    await check_page(page)
    # Only this invoice: untick the others if the demo has several.
    for box in await page.locator("input[name=factures]").all():
        label = await page.locator(f"label[for='{await box.get_attribute('id')}']").inner_text()
        if (number in label) != await box.is_checked():
            await box.focus()
            await page.keyboard.press("Space")
    await tab_until(page, "e.textContent.trim() === 'Vérifier le montant'")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/famille/paiements/ECP-[A-Za-z0-9_-]+$"))
    assert number in await page.locator("main").inner_text()
    await check_page(page)
    await tab_until(page, "e.textContent.trim() === 'Continuer vers le paiement sécurisé'")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/simulateur-paybox/paiement$"))
    await check_page(page)


async def keyboard_card(page, card: str) -> None:
    await tab_until(page, "e.id === 'carte'")
    await page.keyboard.type(card)
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "expiration"
    await page.keyboard.type("12/39")
    await page.keyboard.press("Tab")
    await page.keyboard.type("123")
    await page.keyboard.press("Enter")


async def invoice_state(page, number: str) -> str:
    await page.goto("/famille/factures")
    row = page.locator("tr", has=page.locator("th", has_text=number))
    return await row.locator(".status").inner_text()


async def test_refused_then_paid_by_keyboard_through_the_simulator(page, live_server):
    number = unpaid_invoice_number(live_server)
    await keyboard_login_family(page)

    # A refused card: clear message, the invoice stays unpaid.
    await keyboard_to_bank_page(page, number)
    await keyboard_card(page, "4000000000000002")
    await page.wait_for_url(re.compile(r"/retour/refuse\?"))
    status = await page.locator("#attempt-status").inner_text()
    assert "Paiement refusé par votre banque" in status
    await check_page(page)
    assert await invoice_state(page, number) != "payée"

    # Again with the success card: confirmed, and the invoice says "payée".
    await page.goto("/famille/")
    await keyboard_to_bank_page(page, number)
    await keyboard_card(page, "1111222233334444")
    await page.wait_for_url(re.compile(r"/retour/effectue\?"))
    assert "Paiement confirmé" in await page.locator("#attempt-status").inner_text()
    assert "payée" in await page.locator("#attempt-status").inner_text()
    await check_page(page)
    assert await invoice_state(page, number) == "payée"
    # The history lists it.
    await page.goto("/famille/paiements")
    assert number in await page.locator("#payment-history").inner_text()
    await check_page(page)


async def test_bank_page_errors_are_accessible(page, live_server):
    number = unpaid_invoice_number(live_server)
    await keyboard_login_family(page)
    await keyboard_to_bank_page(page, number)
    await keyboard_card(page, "1234")
    await page.wait_for_selector(".error-summary")
    await wait_for_error_title(page)
    await wait_for_error_summary_focus(page)
    await check_page(page)
    # Cancel: back on the portal, nothing paid.
    await tab_until(page, "e.textContent.trim() === 'Annuler le paiement'")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/retour/annule\?"))
    assert "Paiement annulé" in await page.locator("#attempt-status").inner_text()
    await check_page(page)


async def test_late_notification_is_picked_up_by_polling(page, live_server):
    number = unpaid_invoice_number(live_server)
    await keyboard_login_family(page)
    await keyboard_to_bank_page(page, number)
    await page.locator("#notification-tardive").check()
    await keyboard_card(page, "1111222233334444")
    await page.wait_for_url(re.compile(r"/retour/effectue\?"))
    assert "en cours de confirmation" in await page.locator("#attempt-status").inner_text()
    await check_page(page)
    await page.wait_for_selector("#attempt-status .notice-success", timeout=20000)
    assert "Paiement confirmé" in await page.locator("#attempt-status").inner_text()
    await assert_accessible(page)


async def test_without_javascript_the_return_page_refreshes_itself(nojs_page, live_server):
    page = nojs_page
    number = unpaid_invoice_number(live_server)
    await page.goto("/connexion")
    await page.fill("#code_famille", "F00001")
    await page.fill("#mot_de_passe", "demo-famille-1")
    await page.locator("#mot_de_passe").press("Enter")
    await page.wait_for_url(re.compile(r"/famille/$"))
    await page.goto("/famille/paiements")
    for box in await page.locator("input[name=factures]").all():
        label = await page.locator(f"label[for='{await box.get_attribute('id')}']").inner_text()
        await box.set_checked(number in label)
    await page.get_by_role("button", name="Vérifier le montant").click()
    await page.get_by_role("button", name="Continuer vers le paiement sécurisé").click()
    await page.fill("#carte", "1111222233334444")
    await page.fill("#expiration", "12/39")
    await page.fill("#cvv", "123")
    await page.locator("#notification-tardive").check()
    await page.get_by_role("button", name=re.compile("^Payer")).click()
    await page.wait_for_url(re.compile(r"/retour/effectue"))
    assert "en cours de confirmation" in await page.locator("#attempt-status").inner_text()
    await page.wait_for_selector("#attempt-status .notice-success", timeout=25000)
    assert await invoice_state(page, number) == "payée"


async def test_regisseur_reconciliation_page(page, live_server):
    await keyboard_login_staff(page)
    await page.goto("/agents/paiements/rapprochement")
    await check_page(page)
    await page.select_option("#jours", "30")
    await tab_until(page, "e.textContent.trim() === 'Afficher'")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"jours=30"))
    await assert_accessible(page)
