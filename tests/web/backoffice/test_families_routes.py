"""Staff > Familles: search, record, creation and letter, children, account actions (C3, H4)."""

from __future__ import annotations

from ecp.audit.tables import AuditLog
from ecp.families import search
from ecp.families.tables import Family, Guardian
from tests import factories
from tests.staff_factories import indexed_family, staff_client
from tests.support import error_summary_links, login_family, post_form, soup

NEW_FAMILY = {
    "nom_famille": "Nguyen",
    "civilite": "Mme",
    "prenom": "Mei",
    "nom": "Nguyen",
    "address_line1": "4 allée des Peupliers",
    "address_line2": "",
    "postcode": "78999",
    "city": "Villebelle-sur-Seine",
    "phone_mobile": "06 11 22 33 44",
    "phone_home": "",
    "phone_work": "",
    "email": "mei.nguyen@example.org",
    "quotient_familial": "640",
}


async def test_search_finds_by_name_code_child_email_and_phone(client):
    await staff_client(client, "agent")
    family, _ = await indexed_family(
        "F00001",
        "Lefèvre",
        first_name="Émilie",
        phone_mobile="06 98 76 54 32",
        email="emilie@example.org",
    )
    await factories.make_child(family, "Noé")
    await search.reindex(family.id)
    await indexed_family("F00002", "Diallo", first_name="Fatou")
    for q in (
        "lefevre",
        "Lefè",
        "F00001",
        "f0000 lef",
        "noé",
        "emilie@exa",
        "0698765432",
        "06 98 76",
        "Émilie Lefèvre",
    ):
        page = await client.get("/agents/familles", params={"q": q})
        text = soup(page.text).select_one("#family-results").get_text(" ")
        assert "Lefèvre" in text and "Diallo" not in text, q
    page = await client.get("/agents/familles", params={"q": "zzz"})
    assert "Aucune famille ne correspond" in page.text


async def test_search_fragment_updates_results_and_the_count(client):
    await staff_client(client, "agent")
    await indexed_family()
    response = await client.get(
        "/agents/familles", params={"q": "mar"}, headers={"HX-Request": "true"}
    )
    assert "<html" not in response.text and 'id="family-results"' in response.text
    assert 'hx-swap-oob="innerHTML:#search-count"' in response.text
    assert "1 famille trouvée" in response.text
    assert response.headers["vary"] == "HX-Request"


async def test_search_uses_the_index_not_a_scan(client):
    # The query plan of the prefix query names the term index (SQLite and PostgreSQL).
    from ecp.families.tables import FamilySearchTerm

    engine = FamilySearchTerm._meta.db.engine_type
    sql = ("EXPLAIN QUERY PLAN " if engine == "sqlite" else "EXPLAIN ") + (
        "SELECT family FROM family_search_term WHERE term >= 'dup' AND term < 'duq'"
    )
    if engine == "postgres":
        # A handful of rows makes any scan cheap; the question is whether the index can serve.
        # SET LOCAL inside one transaction: the pool would run each statement on any of its
        # connections, and leave the setting on one of them for the next tests.
        async with FamilySearchTerm._meta.db.transaction():
            await FamilySearchTerm.raw("SET LOCAL enable_seqscan = off")
            plan = str(await FamilySearchTerm.raw(sql))
    else:
        plan = str(await FamilySearchTerm.raw(sql))
    assert "family_search_term_idx" in plan, plan


async def test_family_record_shows_everything_and_is_journalled(client):
    staff = await staff_client(client, "agent")
    family, guardian = await indexed_family()
    await factories.make_child(family, "Léa", has_allergy=True, health_notes="Arachide : PAI")
    page = await client.get(f"/agents/familles/{family.id}")
    assert page.status_code == 200
    text = soup(page.text).get_text(" ")
    for expected in (
        "Famille Martin",
        "Claire Martin",
        "06 12 34 56 78",
        "Léa Martin",
        "Inscriptions",
        "Réservations",
        "Factures",
        "Paiements",
        "Historique",
    ):
        assert expected in text, expected
    assert "Arachide" not in page.text  # health notes only on request
    rows = await AuditLog.select().where(AuditLog.action == "family_record_viewed")
    assert len(rows) == 1 and rows[0]["family"] == family.id and rows[0]["staff"] == staff.id


async def test_family_record_fragment(client):
    await staff_client(client, "agent")
    family, _ = await indexed_family()
    response = await client.get(f"/agents/familles/{family.id}", headers={"HX-Request": "true"})
    assert "<html" not in response.text and 'id="family-record"' in response.text


async def test_unknown_family_is_404(client):
    await staff_client(client, "agent")
    assert (await client.get("/agents/familles/999999")).status_code == 404


async def test_reading_health_notes_is_journalled_every_time(client):
    staff = await staff_client(client, "agent")
    family, _ = await indexed_family()
    child = await factories.make_child(
        family, "Hugo", has_allergy=True, health_notes="Arachide : PAI"
    )
    for _ in range(2):
        page = await client.get(f"/agents/familles/{family.id}/enfants/{child.id}/sante")
        assert page.status_code == 200 and "Arachide : PAI" in page.text
    rows = await AuditLog.select().where(AuditLog.action == "health_notes_read")
    assert len(rows) == 2 and {r["staff"] for r in rows} == {staff.id}
    assert rows[0]["target"] == f"enfant {child.id}" and rows[0]["family"] == family.id


async def test_health_page_of_a_child_of_another_family_is_404(client):
    await staff_client(client, "agent")
    family, _ = await indexed_family()
    other, _ = await indexed_family("F00002", "Diallo")
    child = await factories.make_child(other, "Awa", health_notes="Asthme")
    response = await client.get(f"/agents/familles/{family.id}/enfants/{child.id}/sante")
    assert response.status_code == 404 and "Asthme" not in response.text
    assert await AuditLog.count().where(AuditLog.action == "health_notes_read") == 0


async def test_create_family_generates_code_and_shows_the_password_once(client, other_client):
    await factories.make_family("F00041", name="Existante")
    await staff_client(client)
    response = await post_form(
        client, "/agents/familles/nouvelle", NEW_FAMILY, from_page="/agents/familles/nouvelle"
    )
    # Post/redirect/get: the letter is a page of its own, which shows the password once.
    assert response.status_code == 303
    family = await Family.select().where(Family.code == "F00042").first()
    assert response.headers["location"] == f"/agents/familles/{family['id']}/lettre"
    letter = await client.get(response.headers["location"])
    assert letter.status_code == 200 and letter.headers["cache-control"] == "no-store"
    page = soup(letter.text)
    password = page.select_one(".password").get_text()
    assert "F00042" in letter.text
    again = await client.get(response.headers["location"])
    assert password not in again.text and "déjà été affichée" in again.text
    assert family["name"] == "Nguyen" and family["quotient_familial"] == 640
    assert family["email"] == "mei.nguyen@example.org" and password not in family["password_hash"]
    guardian = await Guardian.select().where(Guardian.family == family["id"]).first()
    assert guardian["phone_mobile"] == "06 11 22 33 44" and guardian["first_name"] == "Mei"
    assert await AuditLog.count().where(AuditLog.action == "family_created") == 1
    await login_family(other_client, "F00042", password)
    # Found at once by the search.
    found = await client.get("/agents/familles", params={"q": "nguyen"})
    assert "F00042" in found.text


async def test_create_family_validation(client):
    await staff_client(client)
    bad = {
        **NEW_FAMILY,
        "nom_famille": "",
        "postcode": "12",
        "phone_mobile": "123",
        "email": "x@",
        "quotient_familial": "beaucoup",
    }
    response = await post_form(
        client, "/agents/familles/nouvelle", bad, from_page="/agents/familles/nouvelle"
    )
    assert response.status_code == 422
    assert set(error_summary_links(response.text)) == {
        "#nom_famille",
        "#postcode",
        "#phone_mobile",
        "#email",
        "#quotient_familial",
    }
    assert soup(response.text).select_one("#city")["value"] == "Villebelle-sur-Seine"
    assert await Family.count() == 0
