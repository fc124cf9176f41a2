"""A family created at the counter in a real browser: two parents and two children, the
letter shown once and F5 creating nothing, then its quotient familial changed from a date and
a person allowed to collect the children; axe-core at 1280 and 320 px on every page and state,
with JavaScript (htmx) and without."""

from __future__ import annotations

import os
import re

from tests.browser.a11y import (
    assert_accessible,
    assert_reflows_at_320,
    small_targets,
    wait_for_error_title,
)
from tests.browser.test_public_and_login import keyboard_login_staff

# Screenshots of each page for a person to look at, when asked for (ECP_BROWSER_SHOTS=dir).
SHOTS = os.environ.get("ECP_BROWSER_SHOTS")


async def shot(page, name: str) -> None:
    if SHOTS and name:
        # caret="initial": hiding the caret would inject a <style>, which the CSP refuses.
        await page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True, caret="initial")


async def check(page, name: str = "") -> None:
    """One h1, axe-core at 1280 px and at 320 px, no sideways scroll, big enough targets."""
    assert await page.locator("h1").count() == 1, page.url
    await assert_accessible(page)
    assert await small_targets(page) == [], page.url
    await shot(page, f"{name}-1280" if name else "")
    size = page.viewport_size
    await page.set_viewport_size({"width": 320, "height": 800})
    try:
        await assert_accessible(page)
        await shot(page, f"{name}-320" if name else "")
    finally:
        await page.set_viewport_size(size)
    await assert_reflows_at_320(page)


async def fill(page, values: dict[str, str]) -> None:
    for field, value in values.items():
        await page.fill(f"#{field}", value)


PARENTS = {
    "nom_famille": "Quesnel",
    "prenom": "Sophie",
    "nom": "Quesnel",
    "address_line1": "12 chemin des Vignes",
    "postcode": "78999",
    "city": "Villebelle-sur-Seine",
    "phone_mobile": "06 41 52 63 74",
    "email": "sophie.quesnel@example.org",
    "r2_prenom": "Karim",
    "r2_nom": "Benali",
    "r2_phone_mobile": "06 85 96 07 18",
    "r2_email": "karim.benali@example.org",
    "quotient_familial": "680",
    "qf_depuis": "2026-09-01",
}


async def _count_families(page, q: str) -> int:
    await page.goto(f"/agents/familles?q={q}")
    return await page.locator("#family-results tbody tr").count()


async def test_two_parents_two_children_f5_and_a_new_quotient(page):
    await keyboard_login_staff(page)
    await page.goto("/agents/familles/nouvelle")
    await check(page, "family-new")
    await page.locator("#family-form button[type=submit]").click()  # empty: errors in place
    await page.wait_for_selector("#family-form .error-summary")
    await wait_for_error_title(page)
    await check(page, "family-new-errors")
    await fill(page, PARENTS)
    await page.check("#r2_meme_adresse")
    await page.check("#payeur-2")
    await page.check("#courriels-les_deux")
    await page.select_option("#qf_source", "caf")
    await page.locator("#family-form button[type=submit]").click()
    await page.wait_for_selector(".password")
    letter = await page.locator("main").inner_text()
    password = await page.locator(".password").inner_text()
    code = re.search(r"F\d{5}", letter).group(0)
    assert "Sophie Quesnel" in letter
    await check(page, "letter")
    # F5: no second family, no password again.
    await page.reload()
    await page.wait_for_selector("#letter-already-shown")
    assert password not in await page.locator("main").inner_text()
    await check(page, "letter-again")
    assert await _count_families(page, "quesnel") == 1
    await page.locator("#family-results a").first.click()
    await page.wait_for_url(re.compile(r"/agents/familles/\d+$"))
    record_url = page.url
    main = await page.locator("main").inner_text()
    assert "Karim Benali" in main and "paie les factures" in main and code in main
    # Two children.
    for first_name, birth, level in (("Inès", "2018-03-12", "CE2"), ("Yanis", "2021-10-02", "MS")):
        await page.goto(record_url)
        await page.locator("a", has_text="Ajouter un enfant").click()
        await page.wait_for_url(re.compile(r"/enfants/nouveau$"))
        await page.fill("#prenom", first_name)
        await page.fill("#naissance", birth)
        await page.select_option("#niveau", level)
        await page.locator("#child-form button[type=submit]").click()
        await page.wait_for_url(record_url)
    main = await page.locator("main").inner_text()
    assert "Inès Quesnel" in main and "Yanis Quesnel" in main
    # The quotient familial changes from 1 January.
    await page.locator("a", has_text="Nouveau quotient familial").click()
    await page.wait_for_url(re.compile(r"/quotient$"))
    await check(page, "quotient")
    await page.locator("#quotient-form button[type=submit]").click()
    await page.wait_for_selector("#quotient-form .error-summary")
    await wait_for_error_title(page)
    await check(page, "quotient-errors")
    await page.fill("#valeur", "910")
    await page.fill("#depuis", "2027-01-01")
    await page.select_option("#source", "avis_imposition")
    await page.locator("#quotient-form button[type=submit]").click()
    await page.wait_for_url(record_url)
    assert "Quotient familial 910 enregistré à partir du 01/01/2027." in (
        await page.locator("#flash").inner_text()
    )
    quotients = await page.locator("#quotients-title + *").inner_text()
    assert "910" in quotients and "680" in quotients and "avis d’imposition" in quotients
    # Someone allowed to collect the children.
    await page.locator("a", has_text="Ajouter une personne").click()
    await page.wait_for_url(re.compile(r"/contacts/nouveau$"))
    await check(page, "contact")
    await fill(page, {"prenom": "Nadia", "nom": "Benali", "lien": "tante"})
    await page.uncheck("#urgence")
    await page.check("#recuperer")
    await page.locator("#contact-form button[type=submit]").click()
    await page.wait_for_url(record_url)
    assert "Nadia Benali" in await page.locator("#contacts-title").locator("..").inner_text()
    await check(page, "record")
    # The second parent's record.
    await page.locator("a[aria-label='Modifier Karim Benali']").click()
    await page.wait_for_url(re.compile(r"/responsables/\d+$"))
    await check(page, "guardian")
    # The journal tells it all in French.
    await page.goto(f"/agents/journal?famille={code}")
    journal = await page.locator("#journal-entries").inner_text()
    assert (
        "Création d’une famille" in journal and "Enregistrement d’un quotient familial" in journal
    )
    assert "quotient familial : 680 → 910" in journal and "1er janvier 2027" in journal
    assert "_" not in journal.replace("F0", "")
    await check(page, "journal")


async def test_without_javascript_a_reload_creates_nothing(nojs_page):
    page = nojs_page
    await page.goto("/agents/connexion")
    await page.fill("#identifiant", "agent")
    await page.fill("#mot_de_passe", "demo-agent-sej-2026")
    await page.locator("main button[type=submit]").click()
    await page.wait_for_url(re.compile(r"/agents/$"))
    await page.goto("/agents/familles/nouvelle")
    await fill(
        page,
        {
            **PARENTS,
            "nom_famille": "Zanetti",
            "prenom": "Léo",
            "nom": "Zanetti",
            "phone_mobile": "06 12 98 76 54",
            "email": "leo.zanetti@example.org",
            "r2_prenom": "",
            "r2_nom": "",
            "r2_phone_mobile": "",
            "r2_email": "",
        },
    )
    await page.locator("#family-form button[type=submit]").click()
    await page.wait_for_selector(".password")
    await page.reload()
    await page.wait_for_selector("#letter-already-shown")
    await page.go_back()  # back to the form's answer: the browser does not post it again
    assert await _count_families(page, "zanetti") == 1
    # No axe here: page.evaluate does not run with JavaScript disabled (the same pages are
    # checked with JavaScript above).
