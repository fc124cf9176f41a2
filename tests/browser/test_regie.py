"""The régisseur accounts for the cash office in a real browser: records a cheque with its
drawer and bank at the counter (keyboard, with a first mistake), reads the day's journal,
downloads the cheques' bordereau, and runs the first relances; without JavaScript, the month's
journal and the paper invoices. axe-core at 320 and 1280 px on every page and state."""

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
)
from tests.browser.conftest import ROOT
from tests.browser.test_public_and_login import keyboard_login_staff

BUTTON = "e.tagName === 'BUTTON' && e.textContent.includes('%s')"

# A family of the demo (not F00001 nor F00002, which other journeys pay) with an open invoice,
# and at least one overdue invoice no first relance has named yet, so the journey has both.
PREPARE = r"""
import asyncio, datetime as dt
from ecp import clock
from ecp.families.tables import Family
from ecp.invoices.tables import Invoice
from ecp.payments.tables import InvoiceReminder

async def main():
    rows = await Invoice.select(Invoice.id, Invoice.family.code.as_alias("code")).where(
        (Invoice.kind == "facture") & (Invoice.paid_cents < Invoice.total_cents)
        & Invoice.family.code.not_in(["F00001", "F00002"])).order_by(Invoice.id)
    code = rows[0]["code"]
    today = clock.today()
    late = await Invoice.select(Invoice.id).where(
        (Invoice.kind == "facture") & (Invoice.paid_cents < Invoice.total_cents)
        & (Invoice.due_on < today)
        & Invoice.id.not_in(InvoiceReminder.select(InvoiceReminder.invoice)))
    if not late:
        await Invoice.update({Invoice.due_on: today - dt.timedelta(days=40)}).where(
            Invoice.id == rows[-1]["id"])
    print(code)

asyncio.run(main())
"""


def prepare(live_server) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PREPARE],
        env=live_server.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


async def accessible_at_both_widths(page) -> None:
    """axe-core on the phone width and on the desktop one, and no sideways scrolling."""
    size = page.viewport_size
    await page.set_viewport_size({"width": 320, "height": 800})
    try:
        await assert_accessible(page)
    finally:
        await page.set_viewport_size(size)
    await assert_accessible(page)
    await assert_reflows_at_320(page)


async def check_page(page) -> None:
    assert await page.locator("h1").count() == 1, page.url
    await accessible_at_both_widths(page)
    assert await small_targets(page) == [], page.url


async def test_regisseur_records_a_cheque_downloads_the_bordereau_and_sends_relances(
    page, live_server
):
    code = prepare(live_server)
    await keyboard_login_staff(page)
    await page.goto("/agents/paiements")
    await check_page(page)
    await tab_until(page, "e.id === 'famille'")
    await page.keyboard.type(code)
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#counter-payment-form input[name=facture]")
    # A cheque without its drawer and bank: the error summary says what is missing.
    await tab_until(page, "e.name === 'facture'")
    await page.keyboard.press("Space")
    await tab_until(page, "e.id === 'montant'")
    await page.keyboard.type("2,00")
    await page.locator("#mode-cheque").check()
    await page.locator("#reference").fill("CHQ 7654321")
    await tab_until(page, BUTTON % "Enregistrer le paiement")
    await page.keyboard.press("Enter")
    await wait_for_error_summary_focus(page)
    summary = await page.locator("#counter-payment-form .error-summary").inner_text()
    assert "tireur du chèque" in summary and "banque du chèque" in summary
    assert await page.locator("#reference").input_value() == "CHQ 7654321"
    await accessible_at_both_widths(page)
    await tab_until(page, "e.id === 'tireur'")
    await page.keyboard.type("M. Jean Bernard")
    await page.keyboard.press("Tab")
    await page.keyboard.type("Crédit Agricole")
    await tab_until(page, BUTTON % "Enregistrer le paiement")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/agents/paiements/\d+/recu"))
    await check_page(page)
    receipt = await page.locator("#payment-receipt").inner_text()
    assert "M. Jean Bernard" in receipt and "Crédit Agricole" in receipt and "2,00" in receipt

    # The day's journal lists it, with the totals per mode.
    await page.goto("/agents/paiements")
    await page.get_by_role("link", name="Journal de régie").click()
    await page.wait_for_url(re.compile(r"/agents/paiements/journal$"))
    await check_page(page)
    assert "M. Jean Bernard" in await page.locator("#journal-lines").inner_text()
    totals = await page.locator("#journal-totals").inner_text()
    assert "Chèques vacances (ANCV)" in totals and "Total général" in totals

    # The month's journal, through htmx.
    await page.select_option("#mois", index=1)
    await page.get_by_role("button", name="Afficher le journal du mois").click()
    await page.wait_for_function("() => document.activeElement.id === 'regie-journal-title'")
    await accessible_at_both_widths(page)

    # The cheques' bordereau of the day, on screen then as a PDF.
    await page.get_by_role("link", name="Bordereaux de remise").click()
    await page.wait_for_url(re.compile(r"/agents/paiements/bordereau$"))
    await check_page(page)
    assert "Crédit Agricole" in await page.locator("#slip-lines").inner_text()
    async with page.expect_download() as info:
        await page.get_by_role("link", name="Télécharger le bordereau en PDF").click()
    download = await info.value
    assert re.fullmatch(r"bordereau-cheque-\d{4}-\d{2}-\d{2}\.pdf", download.suggested_filename)
    # Another mode, through htmx: the section is swapped and its heading takes the focus.
    await page.select_option("#mode", "especes")
    await page.get_by_role("button", name="Afficher le bordereau").click()
    await page.wait_for_function(
        "() => document.querySelector('#regie-slip-title').textContent.includes('espèces')"
    )
    await page.wait_for_function("() => document.activeElement.id === 'regie-slip-title'")
    await accessible_at_both_widths(page)

    # The month's paper invoices: how many, then one PDF.
    await page.get_by_role("link", name="Factures papier du mois").click()
    await page.wait_for_url(re.compile(r"/agents/paiements/factures-papier$"))
    await check_page(page)
    assert "papier" in await page.locator("#paper-count").inner_text()

    # The first relances, by keyboard.
    await page.get_by_role("link", name="Impayés et relances").click()
    await page.wait_for_url(re.compile(r"/agents/paiements/impayes$"))
    await check_page(page)
    assert await page.locator("#overdue-list tbody tr").count() >= 1
    await tab_until(page, "e.id === 'niveau'")
    await page.keyboard.press("Space")
    await tab_until(page, BUTTON % "Envoyer les relances")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/agents/paiements/relances/\d+$"))
    await check_page(page)
    assert "1re relance envoyée" in await page.locator("#flash").inner_text()
    assert await page.locator("#batch-reminders tbody tr").count() >= 1
    letters = page.get_by_role("link", name=re.compile("lettres? en PDF"))
    if await letters.count():
        async with page.expect_download() as info:
            await letters.click()
        assert (await info.value).suggested_filename.startswith("relances-")
    # Run again: nothing is sent twice, and the refusal is said next to the choice.
    await page.goto("/agents/paiements/impayes")
    await page.locator("#niveau").check()
    await page.get_by_role("button", name="Envoyer les relances").click()
    await wait_for_error_summary_focus(page)
    assert "rien n’a été envoyé" in await page.locator("#reminder-run").inner_text()
    await accessible_at_both_widths(page)


async def test_regisseur_reads_the_month_and_the_paper_invoices_without_javascript(nojs_page):
    # axe-core needs JavaScript: the same pages are checked with it in the journey above.
    page = nojs_page
    await keyboard_login_staff(page)
    await page.goto("/agents/paiements/journal")
    assert await page.locator("h1").count() == 1
    await page.select_option("#mois", index=1)
    await page.get_by_role("button", name="Afficher le journal du mois").click()
    await page.wait_for_url(re.compile(r"/agents/paiements/journal\?.*mois=\d{4}-\d{2}"))
    title = await page.locator("#regie-journal-title").inner_text()
    assert re.match(r"Journal d(e |’)\w+ \d{4}", title), title
    assert await page.locator("#journal-totals tfoot").count() == 1
    # A day to come: the error summary, the chosen day kept (a date input holds it as ISO).
    await page.locator("#jour").fill("2999-12-31")
    await page.get_by_role("button", name="Afficher le journal du jour").click()
    await page.wait_for_selector(".error-summary")
    assert await page.locator("#jour").input_value() == "2999-12-31"
    assert (await page.title()).startswith("Erreur : ")
    await page.goto("/agents/paiements/factures-papier")
    assert "papier" in await page.locator("#paper-count").inner_text()
    await page.get_by_role("button", name="Compter les factures papier").click()
    await page.wait_for_url(re.compile(r"/agents/paiements/factures-papier\?mois=\d{4}-\d{2}"))
    assert await page.locator("#paper-count").count() == 1
