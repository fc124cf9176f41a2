"""A family pays an invoice through the local PayFiP simulator, keyboard only: a refusal and an
abandonment leave it to pay, then a success marks it « payée » (after the portal's own
recupererDetailPaiementSecurise); axe-core at 1280 and 320 px on every page of the journey."""

from __future__ import annotations

import re

import pytest

from tests.browser.a11y import assert_accessible, small_targets, tab_until
from tests.browser.conftest import _new_page, running_server
from tests.browser.test_payments import invoice_state, unpaid_invoice_number
from tests.browser.test_public_and_login import keyboard_login_family


@pytest.fixture(scope="module")
def payfip_server():
    env = {"ECP_STAFF_MFA": "facultative", "ECP_PAYMENT_PROVIDERS": "paybox,payfip"}
    with running_server("ecp-payfip-", env, [("seed-demo",)]) as server:
        yield server


@pytest.fixture
async def pf_page(browser, payfip_server):
    context, p = await _new_page(browser, payfip_server)
    yield p
    csp = [m for m in p.console_messages if "Content Security Policy" in m]
    await context.close()
    assert not csp, csp


async def check_page(page):
    """One h1, axe clean at 1280 and at 320 px (where nothing scrolls sideways), big targets."""
    assert await page.locator("h1").count() == 1, page.url
    await assert_accessible(page)
    assert await small_targets(page) == [], page.url
    size = page.viewport_size
    await page.set_viewport_size({"width": 320, "height": 800})
    try:
        await assert_accessible(page)
        overflow = await page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{page.url} scrolls {overflow}px sideways at 320px"
    finally:
        await page.set_viewport_size(size)


async def keyboard_to_payfip(page, number: str) -> None:
    """From the family home to the PayFiP simulator's page for this one invoice, by keyboard."""
    await page.goto("/famille/")
    await tab_until(page, "e.getAttribute('href') === '/famille/paiements'")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/famille/paiements$"))
    await check_page(page)
    for box in await page.locator("input[name=factures]").all():
        label = await page.locator(f"label[for='{await box.get_attribute('id')}']").inner_text()
        if (number in label) != await box.is_checked():
            await box.focus()
            await page.keyboard.press("Space")
    # The choice of provider: the arrow key moves from Paybox (first) to PayFiP.
    await tab_until(page, "e.name === 'moyen' && e.checked")
    await page.keyboard.press("ArrowDown")
    assert await page.evaluate("document.activeElement.value") == "payfip"
    await tab_until(page, "e.textContent.trim() === 'Vérifier le montant'")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/famille/paiements/ECP-[A-Za-z0-9_-]+$"))
    assert "Payer avec PayFiP" in await page.locator("main").inner_text()
    await check_page(page)
    await tab_until(page, "e.textContent.trim() === 'Continuer vers le paiement sécurisé'")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/simulateur-payfip/paiement\?idop="))
    assert await page.locator("h1").inner_text() != ""
    await check_page(page)


async def press(page, label: str) -> None:
    await tab_until(page, f"e.textContent.trim().startsWith({label!r})")
    await page.keyboard.press("Enter")


async def test_refused_abandoned_then_paid_through_the_payfip_simulator(pf_page, payfip_server):
    page = pf_page
    number = unpaid_invoice_number(payfip_server)
    await keyboard_login_family(page)

    await keyboard_to_payfip(page, number)
    await press(page, "Simuler un refus")
    await page.wait_for_url(re.compile(r"/retour/refuse$"))
    assert "refusé" in (await page.locator("#attempt-status").inner_text()).lower()
    await check_page(page)
    assert await invoice_state(page, number) != "payée"

    await keyboard_to_payfip(page, number)
    await press(page, "Abandonner et revenir")
    await page.wait_for_url(re.compile(r"/retour/annule$"))
    assert "annulé" in (await page.locator("#attempt-status").inner_text()).lower()
    await check_page(page)
    assert await invoice_state(page, number) != "payée"

    await keyboard_to_payfip(page, number)
    await press(page, "Payer")
    await page.wait_for_url(re.compile(r"/retour/effectue$"))
    status = await page.locator("#attempt-status").inner_text()
    assert "Paiement confirmé" in status and "payée" in status
    await check_page(page)
    assert await invoice_state(page, number) == "payée"


async def test_a_family_records_its_mandate_by_keyboard(pf_page, payfip_server):
    """SEPA direct debit, family side: a wrong IBAN is refused in French (focus on the error
    summary), the right one recorded; its page shows the masked IBAN only."""
    page = pf_page
    await keyboard_login_family(page, "F00002", "demo-famille-2")
    await page.goto("/famille/paiements")
    await tab_until(page, "e.getAttribute('href') === '/famille/prelevement'")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/famille/prelevement$"))
    await check_page(page)
    await tab_until(page, "e.id === 'titulaire'")
    await page.keyboard.type("Fatou Diallo")
    await page.keyboard.press("Tab")
    await page.keyboard.type("FR76 3000 6000 0112 3456 7890 188")
    await page.keyboard.press("Enter")
    await page.wait_for_selector(".error-summary")
    assert "IBAN invalide" in await page.locator(".error-summary").inner_text()
    await page.wait_for_function("() => document.activeElement.closest('.error-summary') !== null")
    await check_page(page)
    await page.locator("#iban").focus()
    await page.keyboard.press("Control+A")
    await page.keyboard.type("FR76 3000 6000 0112 3456 7890 189")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#mandate-section dl")
    text = await page.locator("#mandate-section").inner_text()
    assert "FR76 … 0189" in text and "30006000011234567890189" not in text.replace(" ", "")
    await check_page(page)


async def test_the_regisseur_debit_pages_are_accessible(pf_page, payfip_server):
    page = pf_page
    await page.goto("/agents/connexion")
    await page.fill("#identifiant", "agent")
    await page.fill("#mot_de_passe", "demo-agent-sej-2026")
    await page.locator("#mot_de_passe").press("Enter")
    await page.wait_for_url(re.compile(r"/agents/$"))
    await page.goto("/agents/prelevements")
    await check_page(page)
    # The demo families on direct debit (F00003, F00004) owe last months' invoices: one file
    # per month until one has something to debit.
    for value in await page.locator("#mois option").evaluate_all("os => os.map(o => o.value)"):
        await page.select_option("#mois", value)
        # The previous month's refusal is still on the page until htmx swaps the section: mark
        # it stale, so that only this month's answer (a new section or the file's page) counts.
        await page.locator("#debit-month").evaluate("e => e.setAttribute('data-stale', '')")
        await page.get_by_role("button", name="Produire le fichier de prélèvements").click()
        await page.wait_for_function(
            "() => /\\/prelevements\\/\\d+$/.test(location.pathname)"
            " || document.querySelector('#debit-month:not([data-stale]) .error-summary') !== null"
        )
        if re.search(r"/agents/prelevements/\d+$", page.url):
            break
    assert re.search(r"/agents/prelevements/\d+$", page.url), "no month had anything to debit"
    assert "FR76 … 7845" in await page.locator("main").inner_text() or "FR18 … 4K78" in (
        await page.locator("main").inner_text()
    )
    await check_page(page)
