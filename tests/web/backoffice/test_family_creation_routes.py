"""Creating a family at the counter: two responsables, post/redirect/get to a letter shown
once, a reload (F5) or the same form posted again creating nothing, likely duplicates shown
before anything is saved, a new password only behind a confirmation (C3, H4)."""

from __future__ import annotations

from ecp.audit.tables import AuditLog
from ecp.backoffice import letters
from ecp.families.tables import Family, Guardian
from tests.staff_factories import indexed_family, staff_client
from tests.support import csrf_from, error_summary_links, login_family, post_form, soup

NEW = "/agents/familles/nouvelle"
TWO_PARENTS = {
    "nom_famille": "Nguyen",
    "civilite": "Mme",
    "prenom": "Mei",
    "nom": "Nguyen",
    "address_line1": "4 allée des Peupliers",
    "postcode": "78999",
    "city": "Villebelle-sur-Seine",
    "phone_mobile": "06 11 22 33 44",
    "email": "mei.nguyen@example.org",
    "r2_civilite": "M.",
    "r2_prenom": "Bao",
    "r2_nom": "Tran",
    "r2_meme_adresse": "oui",
    "r2_phone_mobile": "06 22 33 44 55",
    "r2_email": "bao.tran@example.org",
    "payeur": "2",
    "courriels": "les_deux",
    "quotient_familial": "720",
    "qf_depuis": "01/09/2026",
    "qf_source": "caf",
}


async def _form_page(client) -> tuple[str, str]:
    """The creation page's CSRF token and one-time key, as a browser would have them."""
    page = await client.get(NEW)
    jeton = soup(page.text).select_one('input[name="jeton"]')["value"]
    return csrf_from(page.text), jeton


async def _post(client, data: dict, headers: dict | None = None):
    csrf, jeton = await _form_page(client)
    payload = {"jeton": jeton, **data, "_csrf_token": csrf}
    return await client.post(NEW, data=payload, headers=headers or {}, follow_redirects=False)


async def test_the_page_offers_two_responsables_and_a_one_time_key(client):
    await staff_client(client)
    page = await client.get(NEW)
    html = soup(page.text)
    legends = [legend.get_text() for legend in html.select("#family-form legend")]
    assert "Premier responsable légal" in legends
    assert "Second responsable légal (facultatif)" in legends
    assert len(html.select_one('input[name="jeton"]')["value"]) >= 32
    assert html.select_one("#payeur")["checked"] is not None
    fragment = await client.get(NEW, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="family-form"' in fragment.text


async def test_two_parents_then_f5_creates_one_family_and_one_password(client, other_client):
    await staff_client(client)
    csrf, jeton = await _form_page(client)
    data = {**TWO_PARENTS, "jeton": jeton, "_csrf_token": csrf}
    response = await client.post(NEW, data=data, follow_redirects=False)
    assert response.status_code == 303
    letter_path = response.headers["location"]
    family = await Family.select().first()
    assert letter_path == f"/agents/familles/{family['id']}/lettre"
    letter = await client.get(letter_path)
    password = soup(letter.text).select_one(".password").get_text()
    assert "Mei Nguyen" in letter.text and family["code"] in letter.text
    # F5 on the letter: nothing created, no password shown or issued.
    reloaded = await client.get(letter_path)
    assert reloaded.status_code == 200 and password not in reloaded.text
    assert "déjà été affichée" in reloaded.text
    assert soup(reloaded.text).find("a", string="Nouveau mot de passe")["href"] == (
        f"/agents/familles/{family['id']}/nouvelle-lettre"
    )
    # The form posted again (back button, double click): the same family, no new password.
    again = await client.post(NEW, data=data, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == letter_path
    assert "set-cookie" not in again.headers or "lettre" not in again.headers["set-cookie"]
    assert await Family.count() == 1
    assert await AuditLog.count().where(AuditLog.action == "family_created") == 1
    guardians = (
        await Guardian.select().where(Guardian.family == family["id"]).order_by(Guardian.rank)
    )
    assert [(g["first_name"], g["is_payer"], g["address_line1"]) for g in guardians] == [
        ("Mei", False, "4 allée des Peupliers"),
        ("Bao", True, "4 allée des Peupliers"),
    ]
    await login_family(other_client, family["code"], password)


async def test_the_password_is_for_this_agent_and_this_family_only(app, client):
    staff = await staff_client(client)
    response = await _post(client, TWO_PARENTS)
    family = await Family.select().first()
    other, _ = await indexed_family("F00077", "Autre")
    token = response.cookies.get("__Secure-lettre")
    cookie = response.headers["set-cookie"]
    assert f"Path=/agents/familles/{family['id']}/lettre" in cookie and "HttpOnly" in cookie
    key = app.state.settings.secret_key
    password = letters.unseal(key, family["id"], staff.id, token)
    assert password and password not in token  # sealed, never in clear
    assert letters.unseal(key, family["id"], staff.id + 1, token) is None  # another agent
    assert letters.unseal(key, other.id, staff.id, token) is None  # another family
    # Sent to another family's letter page, it shows nothing.
    client.cookies.set("__Secure-lettre", token, path=f"/agents/familles/{other.id}/lettre")
    page = await client.get(f"/agents/familles/{other.id}/lettre")
    assert password not in page.text and "déjà été affichée" in page.text


async def test_likely_duplicates_are_confirmed_before_saving(client):
    await staff_client(client)
    await indexed_family("F00001", "Nguyen", phone_mobile="06 11 22 33 44")
    response = await _post(client, TWO_PARENTS)
    assert response.status_code == 200
    html = soup(response.text)
    panel = html.select_one("#duplicates")
    assert "Famille Nguyen (F00001)" in panel.get_text() and "même téléphone" in panel.get_text()
    assert panel.find("a")["href"].startswith("/agents/familles/")
    assert html.select_one("#r2_prenom")["value"] == "Bao"  # nothing typed is lost
    assert await Family.count() == 1
    confirmed = await _post(client, {**TWO_PARENTS, "doublon": "oui"})
    assert confirmed.status_code == 303 and await Family.count() == 2


async def test_htmx_creation_navigates_to_the_letter(client):
    await staff_client(client)
    response = await _post(client, TWO_PARENTS, headers={"HX-Request": "true"})
    assert response.status_code == 200
    family = await Family.select().first()
    assert response.headers["hx-redirect"] == f"/agents/familles/{family['id']}/lettre"
    letter = await client.get(response.headers["hx-redirect"])
    assert soup(letter.text).select_one(".password") is not None
    bad = await _post(client, {**TWO_PARENTS, "r2_prenom": ""}, headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "<html" not in bad.text
    assert error_summary_links(bad.text) == ["#r2_prenom"]


async def test_bad_input_keeps_the_values(client):
    await staff_client(client)
    response = await _post(
        client,
        {**TWO_PARENTS, "r2_meme_adresse": "", "r2_phone_mobile": "12", "qf_depuis": "hier"},
    )
    assert response.status_code == 422
    assert error_summary_links(response.text) == [
        "#r2_address_line1",
        "#r2_postcode",
        "#r2_city",
        "#r2_phone_mobile",
        "#qf_depuis",
    ]
    assert soup(response.text).select_one("#r2_email")["value"] == "bao.tran@example.org"
    assert await Family.count() == 0


async def test_creation_needs_csrf_and_an_administrator(client, other_client):
    await staff_client(client)
    refused = await post_form(client, NEW, TWO_PARENTS, csrf=False)
    assert refused.status_code == 403 and await Family.count() == 0
    await staff_client(other_client, "agent", username="guichet")
    assert (await other_client.get(NEW)).status_code == 403
    assert (await post_form(other_client, NEW, TWO_PARENTS, from_page="/agents/")).status_code == (
        403
    )
    family, _ = await indexed_family()
    assert (await other_client.get(f"/agents/familles/{family.id}/lettre")).status_code == 403


async def test_a_new_password_is_behind_a_confirmation(client, other_client):
    await staff_client(client)
    family, _ = await indexed_family()
    path = f"/agents/familles/{family.id}/nouvelle-lettre"
    page = await client.get(path)
    assert page.status_code == 200 and "L’ancien mot de passe ne fonctionnera plus" in page.text
    fragment = await client.get(path, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="letter-confirm"' in fragment.text
    before = (await Family.select(Family.password_hash).first())["password_hash"]
    refused = await post_form(client, path, {}, from_page=path)
    assert refused.status_code == 422 and error_summary_links(refused.text) == ["#confirmer"]
    assert (await Family.select(Family.password_hash).first())["password_hash"] == before
    done = await post_form(client, path, {"confirmer": "oui"}, from_page=path)
    assert done.status_code == 303
    letter = await client.get(done.headers["location"])
    password = soup(letter.text).select_one(".password").get_text()
    reloaded = await client.get(done.headers["location"])
    assert password not in reloaded.text
    assert await AuditLog.count().where(AuditLog.action == "family_updated") == 1
    await login_family(other_client, "F00001", password)
    missing = await post_form(
        client, "/agents/familles/999999/nouvelle-lettre", {"confirmer": "oui"}, from_page=path
    )
    assert missing.status_code == 404
    assert (await client.get("/agents/familles/999999/lettre")).status_code == 404
