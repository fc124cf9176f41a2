"""An agent writes to the families of a school in a real browser: the form, an error swapped
in place with the focus on the summary, the preview with its count (focus on it), the send,
the list of messages sent; axe-core at 1280 and 320 px on each state."""

from __future__ import annotations

import re

from tests.browser.a11y import wait_for_error_summary_focus, wait_for_error_title, wait_for_focus
from tests.browser.test_family_record import check
from tests.browser.test_public_and_login import keyboard_login_staff

SUBJECT = "Sortie au musée du vendredi"


async def test_an_agent_writes_to_a_schools_families(page):
    await keyboard_login_staff(page)
    await page.locator("nav.main-nav a", has_text="Messages").click()
    await page.wait_for_url(re.compile(r"/agents/messages$"))
    await check(page)
    await page.locator("a", has_text="Écrire aux familles").click()
    await page.wait_for_url(re.compile(r"/agents/messages/nouveau$"))
    await check(page)
    # No school chosen: the error in place, the focus on the summary.
    await page.fill("#objet", SUBJECT)
    await page.fill("#texte", "Les enfants partent à 9 h.\n\nPrévoyez un pique-nique.")
    await page.locator("#message-form button[type=submit]").click()
    await wait_for_error_title(page)
    await wait_for_error_summary_focus(page)
    await check(page)
    # The first school: the preview, with its count, takes the focus.
    school = await page.locator("#ecole option").nth(1).get_attribute("value")
    await page.select_option("#ecole", school)
    await page.locator("#message-form button[type=submit]", has_text="aperçu").click()
    await wait_for_focus(page, "e.id === 'message-preview-title'")
    preview = await page.locator("#message-preview").inner_text()
    assert re.search(r"\d+ familles? et \d+ adresses? électroniques?", preview), preview
    assert (
        await page.title()
        == "Aperçu : Écrire aux familles – " + ((await page.title()).split(" – ", 1)[1])
    )
    await check(page)
    await page.locator("#message-preview button", has_text="Envoyer à").click()
    await page.wait_for_url(re.compile(r"/agents/messages$"))
    assert f"Message « {SUBJECT} » envoyé" in await page.locator("#flash").inner_text()
    assert SUBJECT in await page.locator("main").inner_text()
    await check(page)
