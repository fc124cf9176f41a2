"""A school's levels and classes, and a child's class, in a real browser: the school form
with its kinds (the levels taught) and its classes, a class of a level the school does not
teach refused in place; the child form offering the classes, a class of another school
refused next to the field; axe-core at 1280 and 320 px in each state (with JavaScript),
and the refusal without JavaScript. Nothing changes in the shared demo but a save of what it
already holds."""

from __future__ import annotations

import re

from tests.browser.a11y import wait_for_error_title
from tests.browser.test_family_record import check
from tests.browser.test_public_and_login import keyboard_login_staff

FERRY = "École élémentaire Jules-Ferry"


async def _school_form(page) -> None:
    await page.goto("/agents/parametres")
    await page.get_by_role("link", name=FERRY, exact=True).click()
    await page.wait_for_url(re.compile(r"/parametres/ecoles/\d+$"))


async def test_school_levels_and_classes_then_a_childs_class(page):
    await keyboard_login_staff(page)
    await _school_form(page)
    await check(page, "school-levels")
    selected = await page.locator("#type option:checked").inner_text()
    assert selected == "élémentaire (CP à CM2)"
    classes = await page.input_value("#classes")
    assert "CE1 A" in classes
    await page.fill("#classes", classes + "\nPS Z")
    await page.locator("#school-form button[type=submit]").click()
    await page.wait_for_selector("#school-form .error-summary")
    await wait_for_error_title(page)
    error = await page.locator("#classes-error").inner_text()
    assert "« PS Z » est d’un niveau que cette école n’enseigne pas" in error
    assert (await page.input_value("#classes")).endswith("PS Z")
    await check(page, "school-levels-error")
    await page.fill("#classes", classes)
    await page.locator("#school-form button[type=submit]").click()
    await page.wait_for_url(re.compile(r"/agents/parametres(#[\w-]+)?$"))
    assert "est enregistrée" in await page.locator("main").inner_text()

    await page.goto("/agents/familles?q=F00001")
    await page.locator("#family-results a").first.click()
    await page.wait_for_url(re.compile(r"/agents/familles/\d+$"))
    await page.get_by_role("link", name=re.compile("Modifier la fiche de Léa")).click()
    await page.wait_for_url(re.compile(r"/enfants/\d+$"))
    await check(page, "child-class")
    own = await page.locator("#classe option:checked").inner_text()
    assert own == f"CE1 A – {FERRY}"
    other = page.locator("#classe option", has_text="Les Tilleuls").first
    await page.select_option("#classe", await other.get_attribute("value"))
    await page.locator("#child-form button[type=submit]").click()
    await page.wait_for_selector("#child-form .error-summary")
    await wait_for_error_title(page)
    assert "n’est pas une classe de l’école" in await page.locator("#classe-error").inner_text()
    await check(page, "child-class-error")
    await page.select_option("#classe", label=own)
    await page.locator("#child-form button[type=submit]").click()
    await page.wait_for_url(re.compile(r"/agents/familles/\d+$"))
    assert "La fiche de l’enfant est à jour." in await page.locator("main").inner_text()


async def test_without_javascript_the_refusals_come_back_in_the_page(nojs_page):
    page = nojs_page
    await page.goto("/agents/connexion")
    await page.fill("#identifiant", "agent")
    await page.fill("#mot_de_passe", "demo-agent-sej-2026")
    await page.locator("main button[type=submit]").click()
    await page.wait_for_url(re.compile(r"/agents/$"))
    await _school_form(page)
    classes = await page.input_value("#classes")
    await page.fill("#classes", classes + "\nPS Z")
    await page.locator("#school-form button[type=submit]").click()
    await page.wait_for_selector("#school-form .error-summary")
    assert (await page.title()).startswith("Erreur")
    assert "« PS Z »" in await page.locator("#classes-error").inner_text()
    assert (await page.input_value("#classes")).endswith("PS Z")
    # No axe here: page.evaluate does not run with JavaScript disabled (the same page and
    # state are checked with JavaScript above).
