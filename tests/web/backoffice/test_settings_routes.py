"""Staff > Paramètres: administrators only (C3); rules, years, schools, activities with places
per school, closures, staff accounts (passwords of 15 characters at least)."""

from __future__ import annotations

import datetime as dt

from ecp.audit.tables import AuditLog
from ecp.auth.tables import AuthSession, StaffUser
from ecp.commune.tables import (
    Activity,
    ActivityCapacity,
    Closure,
    CommuneSettings,
    School,
    SchoolYear,
)
from tests import factories
from tests.staff_factories import staff_client
from tests.support import error_summary_links, login_staff, post_form, soup

BASE = "/agents/parametres"


async def test_settings_page_and_fragment(client):
    await staff_client(client)
    page = await client.get(BASE)
    assert page.status_code == 200 and "Règles du service" in page.text
    fragment = await client.get(BASE, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="settings-overview"' in fragment.text


async def test_agent_and_regisseur_cannot_reach_the_settings(client, other_client):
    await staff_client(client, "agent")
    await staff_client(other_client, "regisseur")
    for c in (client, other_client):
        assert (await c.get(BASE)).status_code == 403
        assert (await c.get(f"{BASE}/agents/nouveau")).status_code == 403
        response = await post_form(
            c, f"{BASE}/regles", {"conservation_ans": "1"}, from_page="/agents/"
        )
        assert response.status_code == 403
    assert await CommuneSettings.count() == 0


async def test_rules_are_saved_and_validated(client):
    await staff_client(client)
    data = {
        "delai_jours": "3",
        "delai_heure": "20:00",
        "maladie_heure": "08h30",
        "echeance_jours": "45",
        "conservation_ans": "5",
    }
    response = await post_form(client, f"{BASE}/regles", data, from_page=BASE)
    assert response.status_code == 303
    row = await CommuneSettings.select().first()
    assert row["booking_deadline_working_days"] == 3 and row["retention_years"] == 5
    assert row["illness_cutoff_time"] == dt.time(8, 30)
    bad = await post_form(
        client,
        f"{BASE}/regles",
        {**data, "conservation_ans": "0", "delai_heure": "25:00"},
        from_page=BASE,
    )
    assert bad.status_code == 422
    assert set(error_summary_links(bad.text)) == {"#conservation_ans", "#delai_heure"}
    assert (await CommuneSettings.select().first())["retention_years"] == 5


async def test_school_year_becomes_current(client):
    await staff_client(client)
    await factories.make_school_year(dt.date(2026, 11, 1))
    response = await post_form(
        client,
        f"{BASE}/annees",
        {"libelle": "2027-2028", "debut": "2027-09-01", "fin": "2028-07-04", "courante": "oui"},
        from_page=BASE,
    )
    assert response.status_code == 303
    current = await SchoolYear.select().where(SchoolYear.is_current == True)  # noqa: E712
    assert [y["label"] for y in current] == ["2027-2028"]
    bad = await post_form(
        client, f"{BASE}/annees", {"libelle": "2027", "debut": "x", "fin": ""}, from_page=BASE
    )
    assert bad.status_code == 422 and error_summary_links(bad.text) == [
        "#libelle",
        "#debut",
        "#fin",
    ]


async def test_school_create_and_edit(client):
    await staff_client(client)
    new = f"{BASE}/ecoles/nouvelle"
    assert (await client.get(new)).status_code == 200
    response = await post_form(
        client,
        new,
        {"nom": "École des Lilas", "type": "maternelle", "adresse": "2 rue des Lilas"},
        from_page=new,
    )
    assert response.status_code == 303
    school = await School.select().first()
    edit = f"{BASE}/ecoles/{school['id']}"
    fragment = await client.get(edit, headers={"HX-Request": "true"})
    assert 'id="school-form"' in fragment.text and "<html" not in fragment.text
    await post_form(
        client, edit, {"nom": "École des Lilas", "type": "primaire", "adresse": ""}, from_page=edit
    )
    row = await School.select().first()
    assert row["kind"] == "primaire" and row["active"] is False
    dup = await post_form(
        client, new, {"nom": "École des Lilas", "type": "primaire"}, from_page=new
    )
    assert dup.status_code == 422 and await School.count() == 1
    assert (await client.get(f"{BASE}/ecoles/9999")).status_code == 404


async def test_activity_places_per_school(client):
    await staff_client(client)
    a = await factories.make_school("École A")
    b = await factories.make_school("École B")
    activity = await factories.make_activity(capacity=30, school=a)
    path = f"{BASE}/activites/{activity.id}"
    page = soup((await client.get(path)).text)
    assert page.select_one(f"#capacite-{b.id}")["value"] == "30"
    data = {
        "libelle": "Restauration scolaire",
        "libelle_court": "Cantine",
        "jours": ["1", "2", "4", "5"],
        "niveaux": ["CP", "CE1"],
        "debut": "11:30",
        "fin": "13:30",
        "capacite": "30",
        f"capacite-{a.id}": "120",
        f"capacite-{b.id}": "80",
        "active": "oui",
    }
    response = await post_form(client, path, data, from_page=path)
    assert response.status_code == 303
    caps = {r["school"]: r["capacity"] for r in await ActivityCapacity.select()}
    assert caps == {a.id: 120, b.id: 80}
    row = await Activity.select().first()
    assert row["short_label"] == "Cantine" and row["eligible_levels"] == "CP,CE1"
    bad = await post_form(
        client,
        path,
        {**data, f"capacite-{a.id}": "-1", "jours": [], "fin": "10:00"},
        from_page=path,
    )
    assert bad.status_code == 422
    assert set(error_summary_links(bad.text)) == {"#jours-1", "#fin", f"#capacite-{a.id}"}


async def test_closures_are_added_and_deleted(client):
    await staff_client(client)
    response = await post_form(
        client,
        f"{BASE}/fermetures",
        {"fermeture_du": "24/12/2026", "fermeture_au": "", "motif": "Fermeture de fin d’année"},
        from_page=BASE,
    )
    assert response.status_code == 303
    closure = await Closure.select().first()
    assert closure["starts_on"] == closure["ends_on"] == dt.date(2026, 12, 24)
    bad = await post_form(
        client, f"{BASE}/fermetures", {"fermeture_du": "", "motif": ""}, from_page=BASE
    )
    assert bad.status_code == 422
    await post_form(client, f"{BASE}/fermetures/{closure['id']}/supprimer", {}, from_page=BASE)
    assert await Closure.count() == 0
    assert await AuditLog.count().where(AuditLog.action == "settings_changed") == 2


async def test_staff_accounts_need_15_characters_and_role_changes_end_sessions(
    client, other_client
):
    await staff_client(client)
    new = f"{BASE}/agents/nouveau"
    short = await post_form(
        client,
        new,
        {
            "identifiant": "m.dupont",
            "nom_affiche": "M. Dupont",
            "role": "agent",
            "mot_de_passe": "quatorze-carac",
        },
        from_page=new,
    )
    assert short.status_code == 422 and error_summary_links(short.text) == ["#mot_de_passe"]
    response = await post_form(
        client,
        new,
        {
            "identifiant": "m.dupont",
            "nom_affiche": "M. Dupont",
            "role": "agent",
            "mot_de_passe": "quinze-caracteres-ok",
        },
        from_page=new,
    )
    assert response.status_code == 303
    await login_staff(other_client, "m.dupont", "quinze-caracteres-ok")
    row = await StaffUser.select().where(StaffUser.username == "m.dupont").first()
    edit = f"{BASE}/agents/{row['id']}"
    await post_form(
        client,
        edit,
        {"nom_affiche": "M. Dupont", "role": "regisseur", "actif": "oui"},
        from_page=edit,
    )
    assert (await StaffUser.select(StaffUser.role).where(StaffUser.id == row["id"]).first())[
        "role"
    ] == "regisseur"
    assert await AuthSession.count().where(AuthSession.staff == row["id"]) == 0


async def test_an_administrator_cannot_demote_themself(client):
    admin = await staff_client(client)
    edit = f"{BASE}/agents/{admin.id}"
    response = await post_form(
        client, edit, {"nom_affiche": "Moi", "role": "agent", "actif": "oui"}, from_page=edit
    )
    assert response.status_code == 422
    assert (await StaffUser.select(StaffUser.role).where(StaffUser.id == admin.id).first())[
        "role"
    ] == "administrateur"


async def test_settings_posts_without_csrf_are_refused(client):
    await staff_client(client)
    response = await post_form(client, f"{BASE}/regles", {"conservation_ans": "2"}, csrf=False)
    assert response.status_code == 403
