"""The family record, completed by an administrator: the family's details, a second
responsable, contacts and the quotient familial from a day; each route as a full page, an
htmx fragment, a no-JavaScript post (303 back to the record), bad input (422, values kept),
without CSRF (403), by an agent (403), and on another family's data (404)."""

from __future__ import annotations

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.families.tables import Family, FamilyContact, Guardian, QuotientHistory
from tests.staff_factories import indexed_family, staff_client
from tests.support import error_summary_links, post_form, soup

BAO = {
    "civilite": "M.",
    "prenom": "Bao",
    "nom": "Tran",
    "address_line1": "1 rue de la République",
    "postcode": "78999",
    "city": "Villebelle-sur-Seine",
    "phone_mobile": "06 22 33 44 55",
    "email": "bao@example.org",
    "courriels": "oui",
}
JEANNE = {
    "prenom": "Jeanne",
    "nom": "Martin",
    "lien": "grand-mère",
    "telephone": "06 55 44 33 22",
    "urgence": "oui",
    "recuperer": "oui",
}


def _base(family) -> str:
    return f"/agents/familles/{family.id}"


async def _contact(family) -> FamilyContact:
    row = FamilyContact(
        family=family.id,
        first_name="Jeanne",
        last_name="Martin",
        phone="06 55 44 33 22",
        created_at=clock.now(),
    )
    await row.save()
    return row


async def test_the_record_shows_everything_it_holds(client):
    await staff_client(client)
    family, _ = await indexed_family()
    await Family.update({Family.notes: "Garde alternée."}).where(Family.id == family.id)
    await _contact(family)
    await QuotientHistory(
        family=family.id,
        value=720,
        effective_from=clock.today(),
        source="caf",
        recorded_at=clock.now(),
    ).save()
    page = await client.get(_base(family))
    text = soup(page.text).get_text(" ")
    for expected in (
        "Garde alternée.",
        "paie les factures",
        "reçoit les courriels",
        "Jeanne Martin",
        "06 55 44 33 22",
        "attestation CAF",
        "en vigueur",
        "Ajouter un second responsable légal",
        "Nouveau quotient familial",
    ):
        assert expected in text, expected
    # Consultations are grouped: three visits, one line of the history.
    for _ in range(2):
        await client.get(_base(family))
    page = await client.get(_base(family))
    history = soup(page.text).select_one("#history-title").find_parent("section").get_text(" ")
    assert history.count("Consultation d’un dossier famille") == 1
    assert "3 consultations" in history


async def test_an_agent_reads_the_record_but_changes_nothing(client):
    await staff_client(client, "agent")
    family, guardian = await indexed_family()
    contact = await _contact(family)
    page = await client.get(_base(family))
    assert page.status_code == 200 and "Modifier la fiche" not in page.text
    for path in (
        "/modifier",
        "/responsables/nouveau",
        f"/responsables/{guardian.id}",
        "/contacts/nouveau",
        f"/contacts/{contact.id}",
        "/quotient",
    ):
        assert (await client.get(_base(family) + path)).status_code == 403, path
        response = await post_form(client, _base(family) + path, {}, from_page=_base(family))
        assert response.status_code == 403, path


async def test_details_are_changed_and_journalled(client):
    await staff_client(client)
    family, _ = await indexed_family()
    path = f"{_base(family)}/modifier"
    page = await client.get(path)
    assert soup(page.text).select_one("#nom_famille")["value"] == "Martin"
    fragment = await client.get(path, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="family-details-form"' in fragment.text
    bad = await post_form(client, path, {"nom_famille": "", "notes": "Gardée"}, from_page=path)
    assert bad.status_code == 422 and error_summary_links(bad.text) == ["#nom_famille"]
    assert soup(bad.text).select_one("#notes").get_text() == "Gardée"
    done = await post_form(
        client,
        path,
        {"nom_famille": "Martin-Durand", "hors_commune": "oui", "notes": "PAI à jour."},
        from_page=path,
    )
    assert done.status_code == 303 and done.headers["location"] == _base(family)
    record = await client.get(_base(family))
    assert "La fiche de la famille est à jour." in record.text and "PAI à jour." in record.text
    assert "hors commune" in record.text
    line = await AuditLog.select().where(AuditLog.action == "family_updated").first()
    assert line["staff"] is not None
    htmx = await post_form(
        client, path, {"nom_famille": "Martin"}, from_page=path, headers={"HX-Request": "true"}
    )
    assert htmx.status_code == 200 and htmx.headers["hx-redirect"] == _base(family)
    assert (await post_form(client, path, {"nom_famille": "X"}, csrf=False)).status_code == 403
    assert (await client.get("/agents/familles/999999/modifier")).status_code == 404
    missing = await post_form(
        client, "/agents/familles/999999/modifier", {"nom_famille": "X"}, from_page=path
    )
    assert missing.status_code == 404


async def test_a_second_responsable_is_added_changed_and_removed(client):
    await staff_client(client)
    family, claire = await indexed_family()
    new = f"{_base(family)}/responsables/nouveau"
    page = await client.get(new)
    # The first one's address is offered.
    assert soup(page.text).select_one("#address_line1")["value"] == "1 rue de la République"
    fragment = await client.get(new, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="guardian-form"' in fragment.text
    bad = await post_form(client, new, {**BAO, "prenom": "", "phone_mobile": "12"}, from_page=new)
    assert bad.status_code == 422
    assert error_summary_links(bad.text) == ["#prenom", "#phone_mobile"]
    assert soup(bad.text).select_one("#email")["value"] == "bao@example.org"
    done = await post_form(client, new, {**BAO, "payeur": "oui"}, from_page=new)
    assert done.status_code == 303
    record = await client.get(_base(family))
    assert "Le second responsable légal a été ajouté." in record.text
    assert "Ajouter un second responsable légal" not in record.text
    found = await client.get("/agents/familles", params={"q": "bao tran"})
    assert "F00001" in found.text
    bao = await Guardian.select().where(Guardian.first_name == "Bao").first()
    assert bao["is_payer"] and bao["rank"] == 2
    third = await post_form(client, new, {**BAO, "prenom": "Trois"}, from_page=new)
    assert third.status_code == 422 and "deux responsables légaux au plus" in third.text
    edit = f"{_base(family)}/responsables/{bao['id']}"
    page = await client.get(edit)
    assert soup(page.text).select_one("#payeur").has_attr("checked")
    changed = await post_form(
        client, edit, {**BAO, "phone_mobile": "07 81 22 33 44"}, from_page=edit
    )
    assert changed.status_code == 303, error_summary_links(changed.text)
    line = (
        await AuditLog.select()
        .where(AuditLog.action == "guardian_updated")
        .output(load_json=True)
        .first()
    )
    assert line["details"]["changes"]["phone_mobile"] == {
        "before": "06 22 33 44 55",
        "after": "07 81 22 33 44",
    }
    # Not ticked any more: the other responsable pays again.
    assert (await Guardian.select().where(Guardian.id == claire.id).first())["is_payer"]
    journal = await client.get("/agents/journal", params={"action": "guardian_updated"})
    assert "téléphone portable : 06 22 33 44 55 → 07 81 22 33 44" in journal.text
    remove = f"{edit}/retirer"
    gone = await post_form(client, remove, {}, from_page=edit)
    assert gone.status_code == 303
    assert "Bao Tran n’est plus responsable légal" in (await client.get(_base(family))).text
    last = await post_form(
        client, f"{_base(family)}/responsables/{claire.id}/retirer", {}, from_page=edit
    )
    assert last.status_code == 303
    assert "au moins un responsable" in (await client.get(_base(family))).text
    assert await Guardian.count().where(Guardian.family == family.id) == 1


async def test_another_familys_responsable_is_404(client):
    await staff_client(client)
    family, _ = await indexed_family()
    _, theirs = await indexed_family("F00002", "Diallo")
    path = f"{_base(family)}/responsables/{theirs.id}"
    assert (await client.get(path)).status_code == 404
    assert (await post_form(client, path, BAO, from_page=_base(family))).status_code == 404
    response = await post_form(client, f"{path}/retirer", {}, from_page=_base(family))
    assert response.status_code == 404
    assert (await Guardian.select().where(Guardian.id == theirs.id).first())["first_name"] == (
        "Claire"
    )


async def test_contacts_are_added_changed_and_removed(client):
    await staff_client(client)
    family, _ = await indexed_family()
    new = f"{_base(family)}/contacts/nouveau"
    assert (await client.get(new)).status_code == 200
    fragment = await client.get(new, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="contact-form"' in fragment.text
    bad = await post_form(client, new, {**JEANNE, "telephone": "", "recuperer": ""}, from_page=new)
    assert bad.status_code == 422 and error_summary_links(bad.text) == ["#telephone"]
    assert soup(bad.text).select_one("#lien")["value"] == "grand-mère"
    done = await post_form(client, new, JEANNE, from_page=new)
    assert done.status_code == 303
    row = await FamilyContact.select().first()
    assert row["may_collect"] and row["phone"] == "06 55 44 33 22"
    edit = f"{_base(family)}/contacts/{row['id']}"
    page = await client.get(edit)
    assert soup(page.text).select_one("#prenom")["value"] == "Jeanne"
    htmx = await post_form(
        client, edit, {**JEANNE, "recuperer": ""}, from_page=edit, headers={"HX-Request": "true"}
    )
    assert htmx.headers["hx-redirect"] == _base(family)
    assert not (await FamilyContact.select().first())["may_collect"]
    other, _ = await indexed_family("F00002", "Diallo")
    assert (await client.get(f"{_base(other)}/contacts/{row['id']}")).status_code == 404
    stolen = await post_form(
        client, f"{_base(other)}/contacts/{row['id']}/retirer", {}, from_page=edit
    )
    assert stolen.status_code == 404 and await FamilyContact.count() == 1
    assert (await post_form(client, f"{edit}/retirer", {}, csrf=False)).status_code == 403
    gone = await post_form(client, f"{edit}/retirer", {}, from_page=edit)
    assert gone.status_code == 303 and await FamilyContact.count() == 0
    actions = [r["action"] for r in await AuditLog.select(AuditLog.action).order_by(AuditLog.id)]
    assert [a for a in actions if a.startswith("family_contact")] == [
        "family_contact_added",
        "family_contact_updated",
        "family_contact_removed",
    ]


async def test_the_quotient_is_changed_from_a_date(client):
    await staff_client(client)
    family, _ = await indexed_family()
    path = f"{_base(family)}/quotient"
    page = await client.get(path)
    assert page.status_code == 200 and "En vigueur aujourd’hui" in page.text
    fragment = await client.get(path, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="quotient-form"' in fragment.text
    bad = await post_form(
        client, path, {"valeur": "beaucoup", "depuis": "01/01/2027", "source": ""}, from_page=path
    )
    assert bad.status_code == 422 and error_summary_links(bad.text) == ["#valeur", "#source"]
    assert soup(bad.text).select_one("#depuis")["value"] == "2027-01-01"
    done = await post_form(
        client, path, {"valeur": "845", "depuis": "01/01/2027", "source": "caf"}, from_page=path
    )
    assert done.status_code == 303
    record = await client.get(_base(family))
    assert "Quotient familial 845 enregistré à partir du 01/01/2027." in record.text
    row = await QuotientHistory.select().first()
    assert row["value"] == 845
    other, _ = await indexed_family("F00002", "Diallo")
    stolen = await post_form(
        client, f"{_base(other)}/quotient/{row['id']}/supprimer", {}, from_page=path
    )
    assert stolen.status_code == 404
    removed = await post_form(
        client, f"{_base(family)}/quotient/{row['id']}/supprimer", {}, from_page=path
    )
    assert removed.status_code == 303 and await QuotientHistory.count() == 0
    journal = await client.get("/agents/journal", params={"famille": "F00001"})
    text = soup(journal.text).select_one("#journal-entries").get_text(" ")
    assert "Enregistrement d’un quotient familial" in text
    assert "quotient familial : (vide) → 845" in text and "1er janvier 2027" in text
    assert (await post_form(client, path, {"valeur": "1"}, csrf=False)).status_code == 403
