"""An abandoned card payment in a real browser, keyboard only: the family leaves the bank's page,
the payment_expiry job closes the attempt once its time is up, the family reads an honest message
and pays again, and the régisseur sees the attempt closed rather than pending (axe-core, 320 px
reflow and target sizes on each page)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.browser.a11y import tab_until
from tests.browser.conftest import ROOT, _new_page
from tests.browser.test_payments import (
    ENSURE_UNPAID,
    check_page,
    keyboard_card,
    keyboard_to_bank_page,
)
from tests.browser.test_public_and_login import keyboard_login_family, keyboard_login_staff

CODE, PASSWORD = "F00002", "demo-famille-2"

# The live server runs no jobs (ECP_JOBS=0): age the family's open attempt past its expiry, then
# run the payment_expiry job once through the job runner, as a process of the app would.
EXPIRE = (
    r"""
import asyncio, datetime as dt
from ecp import clock, db
from ecp.families.tables import Family
from ecp.jobs.tables import JobLease
from ecp.ops.jobs import JobRunner, default_jobs
from ecp.payments.tables import PaymentAttempt
from ecp.settings import Settings

async def main():
    async with db.pool(min_size=1, max_size=2):
        family = await Family.select(Family.id).where(Family.code == "%s").first()
        now = clock.now()
        aged = await PaymentAttempt.update({
            PaymentAttempt.created_at: now - dt.timedelta(hours=3),
            PaymentAttempt.expires_at: now - dt.timedelta(hours=2, minutes=40),
        }).where((PaymentAttempt.family == family["id"])
                 & (PaymentAttempt.status == "en_attente")).returning(PaymentAttempt.reference)
        await JobLease.update({JobLease.last_run_at: None}).where(
            JobLease.name == "payment_expiry")
        settings = Settings.from_env()
        runner = JobRunner(settings, [j for j in default_jobs(settings)
                                      if j.name == "payment_expiry"])
        ran = await runner.run_pending()
        await runner.stop()
        print(",".join(r["reference"] for r in aged), "|", ",".join(ran))

asyncio.run(main())
"""
    % CODE
)


def run(live_server, script: str) -> str:
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


async def test_an_abandoned_card_payment_expires_and_the_family_pays_again(
    page, browser, live_server
):
    number = run(live_server, ENSURE_UNPAID.replace('"F00001"', f'"{CODE}"'))
    await keyboard_login_family(page, CODE, PASSWORD)
    await keyboard_to_bank_page(page, number)
    await page.goto("/famille/")  # the parent leaves the bank's page without paying

    aged, _, ran = run(live_server, EXPIRE).partition(" | ")
    assert ran == "payment_expiry" and aged
    reference = aged.split(",")[0]

    await page.goto("/famille/paiements")
    assert "Un paiement est en cours" not in await page.locator("#invoice-choice").inner_text()
    history = await page.locator("#payment-history").inner_text()
    assert "expiré sans réponse de la banque" in history
    await check_page(page)
    await tab_until(page, f"(e.getAttribute('href') || '').endsWith('{reference}')", max_tabs=120)
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(f"/famille/paiements/{reference}$"))
    status = await page.locator("#attempt-status").inner_text()
    assert "aucune réponse" in status and "Si votre compte a été débité" in status
    await check_page(page)

    # Paying again works at once.
    await page.goto("/famille/")
    await keyboard_to_bank_page(page, number)
    await keyboard_card(page, "1111222233334444")
    await page.wait_for_url(re.compile(r"/retour/effectue\?"))
    assert "Paiement confirmé" in await page.locator("#attempt-status").inner_text()

    # The régisseur: closed without an answer, not among the attempts to check.
    context, staff = await _new_page(browser, live_server)
    try:
        await keyboard_login_staff(staff)
        await staff.goto("/agents/paiements/rapprochement")
        row = staff.locator("tr", has_text=reference)
        assert "expiré sans réponse de la banque" in await row.inner_text()
        anomalies = await staff.locator("h2:text-is('Anomalies à vérifier') + *").inner_text()
        assert reference not in anomalies
        assert "sans réponse de la banque" in await staff.locator(".figures").inner_text()
        await check_page(staff)
    finally:
        await context.close()
