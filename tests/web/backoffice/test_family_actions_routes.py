"""Staff actions on a family: children, disable/enable, reset link, new letter (B5, C3, H4)."""

from __future__ import annotations

import datetime as dt

from ecp.audit.tables import AuditLog
from ecp.families.tables import Child, Family
from ecp.mail.tables import OutboxEmail
from tests import factories
from tests.mail_support import delivered_text
from tests.staff_factories import indexed_family, staff_client
from tests.support import error_summary_links, login_family, post_form, soup

CHILD = {
    "prenom": "Noé",
    "nom": "Martin",
    "naissance": "2020-03-14",
    "niveau": "GS",
    "ecole": "",
    "regime": "sans_porc",
    "sante": "Allergie aux œufs",
    "allergie": "oui",
}


async def test_admin_adds_a_child_and_the_family_search_finds_it(client):
    await staff_client(client)
    family, _ = await indexed_family()
    school = await factories.make_school("École Jules-Ferry")
    page = await client.get(f"/agents/familles/{family.id}/enfants/nouveau")
    assert page.status_code == 200 and soup(page.text).select_one("#nom")["value"] == "Martin"
    response = await post_form(
        client,
        f"/agents/familles/{family.id}/enfants/nouveau",
        {**CHILD, "ecole": str(school.id)},
        from_page=f"/agents/familles/{family.id}/enfants/nouveau",
    )
    assert response.status_code == 303
    assert "L’enfant a été ajouté." in (await client.get(f"/agents/familles/{family.id}")).text
    child = await Child.select().where(Child.family == family.id).first()
    assert child["first_name"] == "Noé" and child["birth_date"] == dt.date(2020, 3, 14)
    assert child["school"] == school.id and child["has_allergy"] and child["diet"] == "sans_porc"
    log = await AuditLog.select().where(AuditLog.action == "child_created").first()
    assert log["family"] == family.id and "Allergie" not in str(log["details"])
    found = await client.get("/agents/familles", params={"q": "noe"})
    assert "F00001" in found.text


async def test_child_form_fragment_and_validation(client):
    await staff_client(client)
    family, _ = await indexed_family()
    path = f"/agents/familles/{family.id}/enfants/nouveau"
    fragment = await client.get(path, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="child-form"' in fragment.text
    response = await post_form(
        client,
        path,
        {**CHILD, "prenom": "", "naissance": "31/02/2020", "niveau": "6e", "ecole": "999"},
        from_page=path,
    )
    assert response.status_code == 422
    assert error_summary_links(response.text) == ["#prenom", "#naissance", "#niveau", "#ecole"]
    assert soup(response.text).select_one("#sante").get_text() == "Allergie aux œufs"
    assert await Child.count() == 0


async def test_editing_a_child_shows_and_journals_the_health_notes(client):
    await staff_client(client)
    family, _ = await indexed_family()
    child = await factories.make_child(family, "Léa", health_notes="Asthme : Ventoline")
    path = f"/agents/familles/{family.id}/enfants/{child.id}"
    page = await client.get(path)
    assert "Asthme : Ventoline" in page.text
    assert await AuditLog.count().where(AuditLog.action == "health_notes_read") == 1
    response = await post_form(
        client,
        path,
        {**CHILD, "prenom": "Léa", "niveau": "CE1", "actif": "oui", "sante": "Asthme"},
        from_page=path,
    )
    assert response.status_code == 303
    row = await Child.select().where(Child.id == child.id).first()
    assert row["health_notes"] == "Asthme" and row["level"] == "CE1" and row["active"]
    log = (
        await AuditLog.select()
        .where(AuditLog.action == "child_updated")
        .output(load_json=True)
        .first()
    )
    assert "health_notes" in log["details"]["fields"] and "Asthme" not in str(log["details"])


async def test_child_of_another_family_cannot_be_edited(client):
    await staff_client(client)
    family, _ = await indexed_family()
    other, _ = await indexed_family("F00002", "Diallo")
    child = await factories.make_child(other, "Awa")
    path = f"/agents/familles/{family.id}/enfants/{child.id}"
    assert (await client.get(path)).status_code == 404
    response = await post_form(client, path, {**CHILD, "prenom": "Pirate"}, from_page="/agents/")
    assert response.status_code == 404
    assert (await Child.select(Child.first_name).where(Child.id == child.id).first())[
        "first_name"
    ] == "Awa"


async def test_an_agent_cannot_create_or_change_accounts(client):
    await staff_client(client, "agent")
    family, _ = await indexed_family()
    assert (await client.get("/agents/familles/nouvelle")).status_code == 403
    assert (await client.get(f"/agents/familles/{family.id}/enfants/nouveau")).status_code == 403
    for action in ("desactiver", "lien-mot-de-passe", "nouvelle-lettre"):
        response = await post_form(
            client, f"/agents/familles/{family.id}/{action}", {}, from_page="/agents/"
        )
        assert response.status_code == 403, action
    assert (await Family.select(Family.active).where(Family.id == family.id).first())["active"]
    assert await OutboxEmail.count() == 0


async def test_disabling_ends_the_familys_sessions_and_blocks_login(client, other_client):
    await staff_client(client)
    family, _ = await indexed_family()
    await login_family(other_client)
    response = await post_form(
        client,
        f"/agents/familles/{family.id}/desactiver",
        {},
        from_page=f"/agents/familles/{family.id}",
    )
    assert response.status_code == 303
    assert (await other_client.get("/famille/", follow_redirects=False)).status_code == 303
    again = await post_form(
        other_client, "/connexion", {"code_famille": "F00001", "mot_de_passe": "demo-famille-1"}
    )
    assert again.status_code == 422
    page = await client.get(f"/agents/familles/{family.id}")
    assert "Ce compte est désactivé" in page.text
    await post_form(
        client,
        f"/agents/familles/{family.id}/reactiver",
        {},
        from_page=f"/agents/familles/{family.id}",
    )
    await login_family(other_client)
    actions = [r["action"] for r in await AuditLog.select(AuditLog.action).order_by(AuditLog.id)]
    assert "family_disabled" in actions and "family_enabled" in actions


async def test_disable_without_csrf_is_refused(client):
    await staff_client(client)
    family, _ = await indexed_family()
    response = await post_form(client, f"/agents/familles/{family.id}/desactiver", {}, csrf=False)
    assert response.status_code == 403
    assert (await Family.select(Family.active).where(Family.id == family.id).first())["active"]


async def test_staff_sends_a_reset_link_by_e_mail(client, settings):
    await staff_client(client)
    family, _ = await indexed_family()
    response = await post_form(
        client,
        f"/agents/familles/{family.id}/lien-mot-de-passe",
        {},
        from_page=f"/agents/familles/{family.id}",
    )
    assert response.status_code == 303
    mail = await OutboxEmail.select().first()
    assert mail["to_address"] == "martin@example.org" and mail["kind"] == "reset"
    # The staff member who sent it cannot read it: only the family's copy holds the link.
    assert "/mot-de-passe-oublie/nouveau/" not in mail["body_text"]
    assert "https://testserver.local/mot-de-passe-oublie/nouveau/" in delivered_text(mail, settings)
    assert await AuditLog.count().where(AuditLog.action == "reset_link_sent") == 1


async def test_reset_link_needs_an_e_mail_address(client):
    await staff_client(client)
    family = await factories.make_family("F00003", email="")
    response = await post_form(
        client,
        f"/agents/familles/{family.id}/lien-mot-de-passe",
        {},
        from_page=f"/agents/familles/{family.id}",
    )
    assert response.status_code == 303
    page = await client.get(f"/agents/familles/{family.id}")
    assert "pas d’adresse électronique" in page.text and await OutboxEmail.count() == 0


async def test_new_letter_replaces_the_password(client, other_client):
    await staff_client(client)
    family, _ = await indexed_family()
    # Behind a confirmation: the box must be ticked.
    path = f"/agents/familles/{family.id}/nouvelle-lettre"
    unconfirmed = await post_form(client, path, {}, from_page=path)
    assert unconfirmed.status_code == 422 and error_summary_links(unconfirmed.text) == [
        "#confirmer"
    ]
    response = await post_form(client, path, {"confirmer": "oui"}, from_page=path)
    assert response.status_code == 303
    letter = await client.get(response.headers["location"])
    password = soup(letter.text).select_one(".password").get_text()
    await login_family(other_client, "F00001", password)
