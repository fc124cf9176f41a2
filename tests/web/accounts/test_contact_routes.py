"""Mes coordonnées: details, change requests validated field by field, reminders (C2, C4)."""

from __future__ import annotations

import json

from ecp.families.tables import ContactChangeRequest, Family, Guardian
from tests.accounts_factories import family_with_guardian
from tests.support import error_summary_links, login_family, post_form, soup

GOOD = {
    "address_line1": "8 rue des Écoles",
    "address_line2": "",
    "postcode": "78999",
    "city": "Villebelle-sur-Seine",
    "phone_mobile": "0612345678",
    "phone_home": "",
    "phone_work": "",
    "email": "martin@example.org",
}


async def _setup(client):
    family, guardian = await family_with_guardian()
    await login_family(client)
    return family, guardian


def _change_path(guardian) -> str:
    return f"/famille/coordonnees/{guardian.id}/modifier"


async def test_contact_page_shows_the_guardians_and_their_details(client):
    family, guardian = await _setup(client)
    page = await client.get("/famille/coordonnees")
    assert page.status_code == 200
    text = soup(page.text).get_text(" ")
    assert "Claire Martin" in text and "1 rue de la République" in text and "06 12 34 56 78" in text
    assert 'aria-current="page"' in page.text  # the nav knows the section


async def test_contact_fragment_for_htmx(client):
    await _setup(client)
    response = await client.get("/famille/coordonnees", headers={"HX-Request": "true"})
    assert "<html" not in response.text and 'id="contact-details"' in response.text
    assert response.headers["vary"] == "HX-Request"


async def test_change_form_is_prefilled_and_has_autocomplete(client):
    _, guardian = await _setup(client)
    page = soup((await client.get(_change_path(guardian))).text)
    assert page.select_one("#address_line1")["value"] == "1 rue de la République"
    assert page.select_one("#postcode")["autocomplete"] == "postal-code"
    assert page.select_one("#email")["type"] == "email"


async def test_change_form_fragment(client):
    _, guardian = await _setup(client)
    response = await client.get(_change_path(guardian), headers={"HX-Request": "true"})
    assert "<html" not in response.text and 'id="contact-form"' in response.text


async def test_a_change_is_recorded_as_a_request_not_applied(client):
    family, guardian = await _setup(client)
    response = await post_form(
        client, _change_path(guardian), GOOD, from_page=_change_path(guardian)
    )
    assert response.status_code == 303 and response.headers["location"] == "/famille/coordonnees"
    rows = await ContactChangeRequest.select().output(load_json=True)
    assert len(rows) == 1
    assert rows[0]["changes"] == {
        "address_line1": {"before": "1 rue de la République", "after": "8 rue des Écoles"}
    }
    assert rows[0]["status"] == "en_attente" and rows[0]["guardian"] == guardian.id
    stored = await Guardian.select(Guardian.address_line1).where(Guardian.id == guardian.id).first()
    assert stored["address_line1"] == "1 rue de la République"
    page = await client.get("/famille/coordonnees")
    assert "Votre demande a été envoyée" in page.text
    assert "en attente de validation" in page.text and "8 rue des Écoles" in page.text


async def test_htmx_post_is_told_to_navigate(client):
    _, guardian = await _setup(client)
    response = await post_form(
        client,
        _change_path(guardian),
        GOOD,
        headers={"HX-Request": "true"},
        from_page=_change_path(guardian),
    )
    assert response.headers["hx-redirect"] == "/famille/coordonnees"


async def test_each_bad_field_gets_a_french_message_and_nothing_is_written(client):
    _, guardian = await _setup(client)
    bad = {
        **GOOD,
        "postcode": "7899",
        "phone_mobile": "12",
        "phone_home": "01 02",
        "email": "pas-une-adresse",
        "city": "",
    }
    response = await post_form(
        client, _change_path(guardian), bad, from_page=_change_path(guardian)
    )
    assert response.status_code == 422
    page = soup(response.text)
    assert page.title.string.startswith("Erreur : ")
    assert set(error_summary_links(response.text)) == {
        "#postcode",
        "#phone_mobile",
        "#phone_home",
        "#email",
        "#city",
    }
    assert "5 chiffres" in response.text and "adresse électronique valide" in response.text
    assert page.select_one("#postcode")["value"] == "7899"
    assert page.select_one("#email")["aria-invalid"] == "true"
    assert await ContactChangeRequest.count() == 0


async def test_validation_error_fragment_for_htmx(client):
    _, guardian = await _setup(client)
    response = await post_form(
        client,
        _change_path(guardian),
        {**GOOD, "postcode": "x"},
        headers={"HX-Request": "true"},
        from_page=_change_path(guardian),
    )
    assert response.status_code == 422
    assert "<html" not in response.text and 'id="contact-form"' in response.text


async def test_phone_numbers_are_normalised(client):
    _, guardian = await _setup(client)
    await post_form(
        client,
        _change_path(guardian),
        {**GOOD, "phone_mobile": "+33 7 81 02 03 04"},
        from_page=_change_path(guardian),
    )
    row = await ContactChangeRequest.select().output(load_json=True).first()
    assert row["changes"]["phone_mobile"]["after"] == "07 81 02 03 04"


async def test_no_change_is_an_error(client):
    _, guardian = await _setup(client)
    same = {**GOOD, "address_line1": "1 rue de la République", "phone_mobile": "06 12 34 56 78"}
    response = await post_form(
        client, _change_path(guardian), same, from_page=_change_path(guardian)
    )
    assert response.status_code == 422 and "aucune information" in response.text
    assert await ContactChangeRequest.count() == 0


async def test_extra_posted_fields_change_nothing(client):
    family, guardian = await _setup(client)
    other, _ = await family_with_guardian("F00002", name="Diallo")
    extra = {
        **GOOD,
        "family_id": str(other.id),
        "family": str(other.id),
        "balance": "0",
        "is_staff": "1",
        "code_famille": "F99999",
        "code": "F99999",
        "first_name": "Pirate",
        "last_name": "Pirate",
        "status": "appliquee",
        "guardian": "999",
        "reminders": "1",
        "active": "0",
        "quotient_familial": "1",
    }
    response = await post_form(
        client, _change_path(guardian), extra, from_page=_change_path(guardian)
    )
    assert response.status_code == 303
    row = await ContactChangeRequest.select().output(load_json=True).first()
    assert set(row["changes"]) == {"address_line1"}
    assert row["family"] == family.id and row["guardian"] == guardian.id
    assert row["status"] == "en_attente"
    fam = await Family.select().where(Family.id == family.id).first()
    assert fam["code"] == "F00001" and fam["active"] and fam["quotient_familial"] is None
    g = await Guardian.select().where(Guardian.id == guardian.id).first()
    assert g["first_name"] == "Claire"


async def test_another_familys_guardian_is_404_for_get_and_post(client):
    await _setup(client)
    _, theirs = await family_with_guardian("F00002", name="Diallo")
    assert (await client.get(_change_path(theirs))).status_code == 404
    response = await post_form(client, _change_path(theirs), GOOD, from_page="/famille/coordonnees")
    assert response.status_code == 404
    assert await ContactChangeRequest.count() == 0


async def test_change_without_csrf_is_refused(client):
    _, guardian = await _setup(client)
    response = await post_form(client, _change_path(guardian), GOOD, csrf=False)
    assert response.status_code == 403 and await ContactChangeRequest.count() == 0


async def test_reminders_opt_in_then_out(client):
    family, _ = await _setup(client)
    response = await post_form(
        client, "/famille/coordonnees/rappels", {"rappels": "oui"}, from_page="/famille/coordonnees"
    )
    assert response.status_code == 303
    assert (await Family.select(Family.reminders).where(Family.id == family.id).first())[
        "reminders"
    ]
    page = soup((await client.get("/famille/coordonnees")).text)
    assert page.select_one("#rappels-oui").has_attr("checked")
    await post_form(
        client, "/famille/coordonnees/rappels", {"rappels": "non"}, from_page="/famille/coordonnees"
    )
    assert not (await Family.select(Family.reminders).where(Family.id == family.id).first())[
        "reminders"
    ]


async def test_reminders_without_csrf_is_refused(client):
    family, _ = await _setup(client)
    response = await post_form(
        client, "/famille/coordonnees/rappels", {"rappels": "oui"}, csrf=False
    )
    assert response.status_code == 403


async def test_anonymous_visitor_is_sent_to_login(client):
    response = await client.get("/famille/coordonnees", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/connexion")


async def test_request_json_keeps_only_allowed_fields(client):
    _, guardian = await _setup(client)
    await post_form(
        client,
        _change_path(guardian),
        {**GOOD, "email": "Nouveau@Example.org"},
        from_page=_change_path(guardian),
    )
    row = await ContactChangeRequest.select(ContactChangeRequest.changes).first()
    changes = json.loads(row["changes"]) if isinstance(row["changes"], str) else row["changes"]
    assert changes["email"]["after"] == "nouveau@example.org"
