"""Invoices in a real browser, by keyboard alone, with and without JavaScript: the family's list,
detail and paperless choice; the régisseur's billing run, credit note, counter payment and
receipt; tariffs and the outbox. axe-core on every page and every htmx state, 320 px reflow."""

from __future__ import annotations

import re

from tests.browser.a11y import assert_accessible, assert_reflows_at_320, small_targets, tab_until
from tests.browser.test_public_and_login import keyboard_login_family, keyboard_login_staff

BUTTON = "e.tagName === 'BUTTON' && e.textContent.includes('%s')"


async def check_page(page):
    assert await page.locator("h1").count() == 1, page.url
    await assert_accessible(page)
    await assert_reflows_at_320(page)
    assert await small_targets(page) == [], page.url


async def test_family_reads_its_invoices_and_opens_one_by_keyboard(page):
    await keyboard_login_family(page)
    await page.goto("/famille/factures")
    await check_page(page)
    rows = page.locator("#invoice-list tbody tr")
    assert await rows.count() >= 2
    statuses = await page.locator("#invoice-list .status").all_inner_texts()
    assert any(s in ("à payer", "en retard", "partiellement payée") for s in statuses)
    assert "payée" in statuses
    await tab_until(page, "e.tagName === 'A' && e.textContent.startsWith('Facture FAC-')")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/famille/factures/\d+$"))
    await check_page(page)
    assert (await page.locator("h1").inner_text()).startswith("Facture FAC-")
    days = await page.locator(".invoice-lines tbody tr td").first.inner_text()
    assert re.search(r"(lundi|mardi|mercredi|jeudi|vendredi) \d+", days)
    async with page.expect_download() as info:
        await page.get_by_role("link", name=re.compile("Télécharger le PDF")).click()
    download = await info.value
    assert download.suggested_filename.startswith("FAC-") and download.suggested_filename.endswith(
        ".pdf"
    )


async def test_family_switches_paperless_by_keyboard_with_htmx(page):
    await keyboard_login_family(page)
    await page.goto("/famille/factures")
    checked = "papier" if await page.locator("#mode-courriel").is_checked() else "courriel"
    await tab_until(page, "e.name === 'mode'")
    await page.keyboard.press("ArrowDown" if checked == "papier" else "ArrowUp")
    await tab_until(page, BUTTON % "Enregistrer mon choix")
    await page.keyboard.press("Enter")
    await page.wait_for_function(
        "() => document.querySelector('#flash') && document.querySelector('#flash').textContent"
        ".includes('choisie')"
    )
    # Focus moves to the swapped section's heading (data-focus, after htmx settles).
    await page.wait_for_function("() => document.activeElement.id === 'paperless-choice-title'")
    await assert_accessible(page)
    # Back to the demo's choice, so other tests see what the seed made.
    await page.reload()
    radio = "#mode-courriel" if checked == "papier" else "#mode-papier"
    await page.locator(radio).check()
    await page.get_by_role("button", name="Enregistrer mon choix").click()
    await page.wait_for_function(
        "() => document.querySelector('#flash').textContent.includes('choisie')"
    )


async def test_family_switches_paperless_without_javascript(nojs_page):
    page = nojs_page
    await keyboard_login_family(page)
    await page.goto("/famille/factures")
    before = await page.locator("#mode-courriel").is_checked()
    await page.locator("#mode-papier" if before else "#mode-courriel").check()
    # The form posts back to the page it is on: wait for that navigation itself (a URL
    # wait would match the address already shown and read the old page).
    async with page.expect_navigation(url=re.compile(r"/famille/factures")):
        await page.get_by_role("button", name="Enregistrer mon choix").click()
    assert "choisie" in await page.locator("#flash").inner_text()
    # (axe and the reflow check need JavaScript in the page: they run in the JS tests.)
    await page.locator("#mode-courriel" if before else "#mode-papier").check()
    # The form posts back to the page it is on: wait for that navigation itself (a URL
    # wait would match the address already shown and read the old page).
    async with page.expect_navigation(url=re.compile(r"/famille/factures")):
        await page.get_by_role("button", name="Enregistrer mon choix").click()
    assert await page.locator("#mode-courriel").is_checked() == before


async def test_regisseur_reruns_a_billed_month_and_sees_the_summary(page):
    await keyboard_login_staff(page)
    await page.goto("/agents/facturation")
    await check_page(page)
    await tab_until(page, "e.id === 'mois'")
    # A month the demo already billed: the run is idempotent and creates nothing.
    options = await page.locator("#mois option").all_inner_texts()
    await page.select_option("#mois", index=2 if len(options) > 2 else 0)
    await tab_until(page, "e.tagName === 'BUTTON' && e.textContent.includes('Lancer')")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/agents/facturation\?run=\d+"))
    await page.wait_for_function(
        "() => document.querySelector('#billing-progress h2').textContent.includes('terminée')",
        timeout=30000,
    )
    await check_page(page)
    assert "lancée" in await page.locator("#flash").inner_text()


async def test_regisseur_billing_the_current_month_must_confirm_the_warning(page):
    """Without the confirmation nothing is billed: the page says what billing in advance means
    and asks. (The confirmed run is the web tests': here it would lock the demo's month.)"""
    await keyboard_login_staff(page)
    await page.goto("/agents/facturation")
    options = await page.locator("#mois option").evaluate_all("os => os.map(o => o.value)")
    current = options[1]  # next month first, then this one
    await tab_until(page, "e.id === 'mois'")
    await page.select_option("#mois", current)
    await tab_until(page, "e.tagName === 'BUTTON' && e.textContent.includes('Lancer')")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#advance-warning")
    assert "?run=" not in page.url
    assert (await page.title()).startswith("Erreur : ")
    warning = await page.locator("#advance-warning").inner_text()
    assert "pourront encore changer" in warning and "régularisé le mois suivant" in warning
    assert not await page.locator("#confirmation").is_checked()
    assert await page.locator("#confirmation").get_attribute("value") == current
    await check_page(page)


async def test_regisseur_reads_the_regularisations(page):
    await keyboard_login_staff(page)
    await page.goto("/agents/facturation")
    await tab_until(page, "e.tagName === 'A' && e.textContent === 'Régularisations'")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/agents/facturation/regularisations"))
    await check_page(page)
    assert await page.locator("#billing-periods tbody tr").count() >= 2


async def test_regisseur_billing_progress_without_javascript(nojs_page):
    page = nojs_page
    await keyboard_login_staff(page)
    await page.goto("/agents/facturation")
    await page.get_by_role("button", name="Lancer la facturation").click()
    await page.wait_for_url(re.compile(r"/agents/facturation\?run=\d+"))
    # Without JS the page refreshes itself (meta refresh in <noscript>) until it is finished.
    for _ in range(20):
        if "terminée" in await page.locator("#billing-progress h2").inner_text():
            break
        await page.wait_for_timeout(1000)
        await page.reload()
    assert "terminée" in await page.locator("#billing-progress h2").inner_text()
    assert await page.locator("h1").count() == 1


async def test_regisseur_records_a_counter_payment_by_keyboard(page):
    await keyboard_login_staff(page)
    await page.goto("/agents/paiements")
    await check_page(page)
    await tab_until(page, "e.id === 'famille'")
    await page.keyboard.type("F00002")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#counter-payment-form input[name=facture]")
    await assert_accessible(page)
    # Submit empty first: the error summary is announced and accessible.
    await tab_until(page, BUTTON % "Enregistrer le paiement")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#counter-payment-form .error-summary")
    await page.wait_for_function("() => document.activeElement.classList.contains('error-summary')")
    await assert_accessible(page)
    await tab_until(page, "e.name === 'facture'")
    await page.keyboard.press("Space")
    await tab_until(page, "e.id === 'montant'")
    await page.keyboard.type("1,50")
    await tab_until(page, "e.name === 'mode'")
    await page.keyboard.press("Space")
    await tab_until(page, "e.id === 'reference'")
    await page.keyboard.type("Guichet test")
    await tab_until(page, BUTTON % "Enregistrer le paiement")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/agents/paiements/\d+/recu"))
    await check_page(page)
    receipt = await page.locator("#payment-receipt").inner_text()
    assert "1,50" in receipt and "Diallo" in receipt


async def test_staff_invoice_credit_note_form_error_is_accessible(page):
    await keyboard_login_staff(page)
    await page.goto("/agents/factures")
    await check_page(page)
    # A family no other browser test credits or pays: its invoice still has every line to credit.
    await page.goto("/agents/factures?famille=F00099")
    await page.locator("#staff-invoice-list tbody a").first.click()
    await page.wait_for_url(re.compile(r"/agents/factures/\d+$"))
    await check_page(page)
    await page.get_by_role("button", name="Émettre l’avoir").click()
    await page.wait_for_selector("#credit-note-form .error-summary")
    await assert_accessible(page)


async def test_admin_tariffs_and_outbox_pages(page):
    await keyboard_login_staff(page)
    await page.goto("/agents/parametres/tarifs")
    await check_page(page)
    await page.get_by_role("button", name="Programmer ce tarif").click()
    await page.wait_for_selector("#tariff-form .error-summary")
    await assert_accessible(page)
    await page.goto("/agents/courriels")
    await check_page(page)
    await page.select_option("#etat", "en_attente")
    await page.get_by_role("button", name="Afficher").click()
    await page.wait_for_function("() => document.activeElement.id === 'outbox-list-title'")
    await assert_accessible(page)
    await page.locator("#outbox-list tbody a").first.click()
    await page.wait_for_url(re.compile(r"/agents/courriels/\d+$"))
    await check_page(page)
