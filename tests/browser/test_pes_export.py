"""The régisseur sends a month to the Trésor public in a real browser: checks the accountant's
codes (a first mistake comes back in place), sees the month's pieces and total, issues the
bordereau, downloads its XML (schema-valid, the same count and total as the page), finds the
month already exported, then cancels the bordereau (a reason is required). Without JavaScript,
the same export by plain posts. axe-core at 1280 and 320 px on every page and state."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from ecp.finance import pes
from tests.browser.a11y import (
    assert_accessible,
    assert_reflows_at_320,
    small_targets,
    tab_until,
    wait_for_error_summary_focus,
    wait_for_error_title,
    wait_for_focus,
)
from tests.browser.test_public_and_login import keyboard_login_staff

PES = "/agents/finance/pes"
SETTINGS = "/agents/finance/parametres"


def _month_before(today: dt.date, back: int) -> str:
    """A month the demo billed (never August, never the current one)."""
    first = today.replace(day=1)
    while True:
        first = (first - dt.timedelta(days=1)).replace(day=1)
        if first.month != 8:
            back -= 1
            if back == 0:
                return first.strftime("%Y-%m")


def _cents(text: str) -> int:
    units, _, rest = text.replace("\u202f", "").replace("\xa0", "").replace("€", "").partition(",")
    sign = -1 if units.strip().startswith("-") else 1
    return sign * (abs(int(units.strip())) * 100 + int(rest or 0))


async def check_page(page) -> None:
    """One h1, axe-core at 1280 and at 320 px, no sideways scroll at 320, big enough targets."""
    assert await page.locator("h1").count() == 1, page.url
    await assert_accessible(page)
    size = page.viewport_size
    await page.set_viewport_size({"width": 320, "height": 800})
    try:
        await assert_accessible(page)
    finally:
        await page.set_viewport_size(size)
    await assert_reflows_at_320(page)
    assert await small_targets(page) == [], page.url


async def test_regisseur_exports_a_month_to_the_tresor_and_cancels_the_bordereau(page, tmp_path):
    await keyboard_login_staff(page)
    # The accountant's codes: the demo's are filled in; a wrong SIRET comes back in place.
    await page.goto(SETTINGS)
    await check_page(page)
    siret = await page.locator("#siret").input_value()
    assert siret == "21780999900017"
    await page.locator("#siret").fill("1234")
    await page.get_by_role("button", name="Enregistrer les codes", exact=True).click()
    await wait_for_error_title(page)
    await wait_for_error_summary_focus(page)
    assert "14 chiffres" in await page.locator("#siret-error").inner_text()
    await check_page(page)
    await page.locator("#siret").fill(siret)
    await page.get_by_role("button", name="Enregistrer les codes", exact=True).click()
    await page.wait_for_function(
        "() => document.querySelector('#flash').textContent.includes('Aucun changement')"
    )
    await check_page(page)

    # The export page, reached by keyboard from the menu.
    await tab_until(page, f"e.getAttribute('href') === '{PES}'", 80)
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(PES + "$"))
    await check_page(page)
    month = _month_before(dt.date.today(), 1)
    await page.locator("#mois").select_option(month)
    await page.get_by_role("button", name="Voir les pièces").click()
    await page.wait_for_url(re.compile(r"perimetre=mois&mois=" + month))
    await wait_for_focus(page, "e.id === 'pes-export-title'")
    summary = await page.locator("#pes-summary").inner_text()
    count = int(re.match(r"(\d+) pièce", summary).group(1))
    total = _cents(await page.locator("#pes-total").inner_text())
    assert count >= 1
    await check_page(page)

    await page.get_by_role("button", name=re.compile("Émettre le bordereau")).click()
    await page.wait_for_url(re.compile(PES + r"/\d+$"))
    assert "émis" in await page.locator("#flash").inner_text()
    await check_page(page)
    async with page.expect_download() as info:
        await page.get_by_role("link", name="Télécharger le fichier PES (XML)").click()
    download = await info.value
    path = Path(tmp_path) / download.suggested_filename
    await download.save_as(path)
    content = path.read_bytes()
    pes.validate(content)
    found = pes.summary(content)
    assert (found["pieces"], found["total_cents"]) == (count, total)
    detail = page.url

    # The same month again: nothing left to export, the bordereau is named.
    await page.goto(f"{PES}?perimetre=mois&mois={month}")
    assert "0 pièce" in await page.locator("#pes-summary").inner_text()
    assert await page.get_by_role("button", name=re.compile("Émettre")).count() == 0
    assert await page.locator("a", has_text=re.compile(r"bordereau n° \d+")).count() >= 1
    await check_page(page)

    # Cancelled: a reason is asked first (in place), then the month may go again.
    await page.goto(detail)
    await page.get_by_role("button", name=re.compile("Annuler le bordereau")).click()
    await wait_for_error_title(page)
    await wait_for_error_summary_focus(page)
    assert "Indiquez pourquoi" in await page.locator(".error-summary").inner_text()
    await check_page(page)
    await page.locator("#motif").fill("Essai refusé par le Trésor")
    await page.get_by_role("button", name=re.compile("Annuler le bordereau")).click()
    await page.wait_for_function(
        "() => document.querySelector('#flash').textContent.includes('annulé')"
    )
    assert "Essai refusé par le Trésor" in await page.locator("#bordereau-status").inner_text()
    await check_page(page)
    await page.goto(f"{PES}?perimetre=mois&mois={month}")
    assert f"{count} pièce" in await page.locator("#pes-summary").inner_text()


async def test_regisseur_exports_a_month_without_javascript(nojs_page):
    page = nojs_page
    await keyboard_login_staff(page)
    await page.goto(PES)
    month = _month_before(dt.date.today(), 2)
    await page.locator("#mois").select_option(month)
    await page.get_by_role("button", name="Voir les pièces").click()
    await page.wait_for_url(re.compile(r"mois=" + month))
    count = int(re.match(r"(\d+) pièce", await page.locator("#pes-summary").inner_text()).group(1))
    await page.get_by_role("button", name=re.compile("Émettre le bordereau")).click()
    await page.wait_for_url(re.compile(PES + r"/\d+$"))
    assert f"{count} pièce" in await page.locator("#flash").inner_text()
    rows = await page.locator("#bordereau-pieces tbody tr").count()
    assert rows == count
