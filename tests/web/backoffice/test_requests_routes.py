"""Staff > Demandes: before/after, apply all or some, refuse with a reason, e-mail, journal."""

from __future__ import annotations

from ecp.audit.tables import AuditLog
from ecp.families.tables import ContactChangeRequest, Family, Guardian
from ecp.mail.tables import OutboxEmail
from tests.staff_factories import indexed_family, staff_client
from tests.support import error_summary_links, login_family, post_form, soup

CHANGE = {
    "address_line1": "8 rue des Écoles",
    "address_line2": "",
    "postcode": "78999",
    "city": "Villebelle-sur-Seine",
    "phone_mobile": "07 81 02 03 04",
    "phone_home": "",
    "phone_work": "",
    "email": "nouvelle@example.org",
}


async def _request(other_client):
    family, guardian = await indexed_family()
    await login_family(other_client)
    path = f"/famille/coordonnees/{guardian.id}/modifier"
    response = await post_form(other_client, path, CHANGE, from_page=path)
    assert response.status_code == 303
    req = await ContactChangeRequest.select().first()
    return family, guardian, req


async def test_queue_shows_before_and_after(client, other_client):
    await staff_client(client, "agent")
    family, _, req = await _request(other_client)
    page = await client.get("/agents/demandes")
    assert page.status_code == 200
    text = soup(page.text).get_text(" ")
    assert "Famille Martin (F00001)" in text
    assert "1 rue de la République" in text and "8 rue des Écoles" in text
    assert "nouvelle@example.org" in text and "07 81 02 03 04" in text
    fragment = await client.get("/agents/demandes", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="request-queue"' in fragment.text


async def test_applying_all_fields_updates_the_guardian_the_account_and_tells_the_family(
    client, other_client
):
    staff = await staff_client(client, "agent")
    family, guardian, req = await _request(other_client)
    response = await post_form(
        client,
        f"/agents/demandes/{req['id']}",
        {"decision": "appliquer", "champ": ["address_line1", "phone_mobile", "email"]},
        from_page="/agents/demandes",
    )
    assert response.status_code == 303
    g = await Guardian.select().where(Guardian.id == guardian.id).first()
    assert g["address_line1"] == "8 rue des Écoles" and g["phone_mobile"] == "07 81 02 03 04"
    assert g["email"] == "nouvelle@example.org"
    fam = await Family.select(Family.email).where(Family.id == family.id).first()
    assert fam["email"] == "nouvelle@example.org"
    row = await ContactChangeRequest.select().output(load_json=True).first()
    assert row["status"] == "appliquee" and row["decided_by"] == staff.id
    mails = await OutboxEmail.select().where(OutboxEmail.kind == "demande")
    assert {m["to_address"] for m in mails} == {"nouvelle@example.org", "martin@example.org"}
    log = (
        await AuditLog.select()
        .where(AuditLog.action == "contact_change_applied")
        .output(load_json=True)
        .first()
    )
    assert log["family"] == family.id and sorted(log["details"]["applied"]) == [
        "address_line1",
        "email",
        "phone_mobile",
    ]
    assert "Demande appliquée" in (await client.get("/agents/demandes")).text
    family_page = await other_client.get("/famille/coordonnees")
    assert "appliquée" in family_page.text


async def test_applying_some_fields_only(client, other_client):
    await staff_client(client, "agent")
    family, guardian, req = await _request(other_client)
    await post_form(
        client,
        f"/agents/demandes/{req['id']}",
        {"decision": "appliquer", "champ": "phone_mobile"},
        from_page="/agents/demandes",
    )
    g = await Guardian.select().where(Guardian.id == guardian.id).first()
    assert g["phone_mobile"] == "07 81 02 03 04" and g["address_line1"] == "1 rue de la République"
    row = await ContactChangeRequest.select().output(load_json=True).first()
    assert row["status"] == "partielle" and row["applied_fields"] == ["phone_mobile"]


async def test_refusing_needs_a_reason_which_is_sent(client, other_client):
    await staff_client(client, "agent")
    family, guardian, req = await _request(other_client)
    response = await post_form(
        client,
        f"/agents/demandes/{req['id']}",
        {"decision": "refuser", "motif": ""},
        from_page="/agents/demandes",
    )
    assert response.status_code == 422
    assert error_summary_links(response.text) == [f"#motif-{req['id']}"]
    assert soup(response.text).title.string.startswith("Erreur : ")
    assert (await ContactChangeRequest.select().first())["status"] == "en_attente"
    await post_form(
        client,
        f"/agents/demandes/{req['id']}",
        {"decision": "refuser", "motif": "Justificatif de domicile nécessaire."},
        from_page="/agents/demandes",
    )
    row = await ContactChangeRequest.select().first()
    assert row["status"] == "refusee" and row["reason"] == "Justificatif de domicile nécessaire."
    g = await Guardian.select().where(Guardian.id == guardian.id).first()
    assert g["address_line1"] == "1 rue de la République"
    mail = await OutboxEmail.select().where(OutboxEmail.kind == "demande").first()
    assert "Justificatif de domicile" in mail["body_text"]
    assert await AuditLog.count().where(AuditLog.action == "contact_change_refused") == 1


async def test_apply_with_no_field_ticked_is_an_error(client, other_client):
    await staff_client(client, "agent")
    _, _, req = await _request(other_client)
    response = await post_form(
        client,
        f"/agents/demandes/{req['id']}",
        {"decision": "appliquer"},
        from_page="/agents/demandes",
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422 and 'id="request-queue"' in response.text
    assert "<html" not in response.text


async def test_a_request_is_decided_once(client, other_client):
    await staff_client(client, "agent")
    _, _, req = await _request(other_client)
    statuses = []
    for _ in range(2):
        response = await post_form(
            client,
            f"/agents/demandes/{req['id']}",
            {"decision": "appliquer", "champ": "email"},
            from_page="/agents/demandes",
        )
        statuses.append(response.status_code)
    assert await AuditLog.count().where(AuditLog.action == "contact_change_applied") == 1
    # The second answer says it in place (409), rather than on the next page.
    assert statuses == [303, 409] and "déjà été traitée" in response.text


async def test_decision_without_csrf_is_refused(client, other_client):
    await staff_client(client, "agent")
    _, _, req = await _request(other_client)
    response = await post_form(
        client,
        f"/agents/demandes/{req['id']}",
        {"decision": "appliquer", "champ": "email"},
        csrf=False,
    )
    assert response.status_code == 403
    assert (await ContactChangeRequest.select().first())["status"] == "en_attente"


async def test_a_family_cannot_reach_the_queue(client, other_client):
    _, _, req = await _request(other_client)
    assert (await other_client.get("/agents/demandes")).status_code == 404
    response = await post_form(
        other_client,
        f"/agents/demandes/{req['id']}",
        {"decision": "appliquer", "champ": "email"},
        from_page="/famille/coordonnees",
    )
    assert response.status_code == 404
    assert (await ContactChangeRequest.select().first())["status"] == "en_attente"
