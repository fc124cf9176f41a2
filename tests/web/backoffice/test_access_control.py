"""The route table (C1), families kept out of /agents (C3), roles, and IDOR on the family side
(C2) for every address of the accounts and staff features."""

from __future__ import annotations

import re

from ecp import clock
from ecp.auth.guards import requires_family, requires_staff
from ecp.families.tables import ContactChangeRequest, FamilyContact, Guardian
from tests import factories
from tests.accounts_factories import family_with_guardian
from tests.staff_factories import staff_client
from tests.support import login_family, post_form

STAFF_PUBLIC = {"/agents/connexion", "/agents/connexion/code", "/agents/connexion/activation"}


def _handlers(app):
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if handler.name is None:  # Litestar's automatic OPTIONS handler
                continue
            yield route.path, handler


def _guards(handler) -> list:
    return [getattr(g, "func", g) for g in handler.resolve_guards()]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


async def test_every_staff_route_has_the_staff_guard_and_every_family_route_the_family_guard(app):
    checked = 0
    for path, handler in _handlers(app):
        guards = _guards(handler)
        if path.startswith("/agents") and path not in STAFF_PUBLIC:
            assert requires_staff in guards, f"{path} ({handler.name}) has no staff guard"
            checked += 1
        if path.startswith("/famille"):
            assert requires_family in guards, f"{path} ({handler.name}) has no family guard"
            checked += 1
    assert checked > 30


async def test_settings_journal_and_account_changes_need_an_administrator(app):
    admin_only = re.compile(
        r"^/agents/(parametres|journal)|^/agents/familles/(nouvelle|"
        r"\{[^}]+\}/(enfants/\{[^}]+\}$|enfants/nouveau|desactiver|reactiver|"
        r"lien-mot-de-passe|nouvelle-lettre|lettre|modifier|responsables|contacts|quotient))"
    )
    found = 0
    for path, handler in _handlers(app):
        if admin_only.search(path):
            names = [getattr(g, "__name__", "") for g in _guards(handler)]
            assert "requires_administrateur" in names, path
            found += 1
    assert found >= 40


async def test_anonymous_visitors_are_sent_to_login_everywhere(app, client):
    for path, handler in _handlers(app):
        if not (path.startswith(("/agents/", "/famille/"))):
            continue
        if path in STAFF_PUBLIC or "GET" not in handler.http_methods:
            continue
        response = await client.get(_concrete(path), follow_redirects=False)
        assert response.status_code == 303, path
        assert "/connexion" in response.headers["location"], path


async def test_a_family_gets_404_on_every_staff_address(app, client):
    await family_with_guardian()
    await login_family(client)
    for path, handler in _handlers(app):
        if not path.startswith("/agents/") or path in STAFF_PUBLIC:
            continue
        if "GET" in handler.http_methods:
            assert (await client.get(_concrete(path))).status_code == 404, path
        if "POST" in handler.http_methods:
            response = await post_form(client, _concrete(path), {}, from_page="/famille/")
            assert response.status_code == 404, path


async def test_a_family_gets_404_on_another_familys_guardian(client):
    await family_with_guardian()
    other, theirs = await family_with_guardian("F00002", name="Diallo")
    await login_family(client)
    path = f"/famille/coordonnees/{theirs.id}/modifier"
    assert (await client.get(path)).status_code == 404
    response = await post_form(
        client,
        path,
        {
            "address_line1": "Ailleurs",
            "postcode": "75001",
            "city": "Paris",
            "phone_mobile": "0612345678",
            "email": "x@example.org",
        },
        from_page="/famille/coordonnees",
    )
    assert response.status_code == 404
    assert await ContactChangeRequest.count() == 0
    g = await Guardian.select(Guardian.address_line1).where(Guardian.id == theirs.id).first()
    assert g["address_line1"] == "1 rue de la République"
    data = await client.get("/famille/mes-donnees.json")
    assert "Diallo" not in data.text


async def test_an_agent_reads_families_but_cannot_reach_the_settings(client):
    await staff_client(client, "agent")
    family, _ = await family_with_guardian()
    assert (await client.get("/agents/familles")).status_code == 200
    assert (await client.get(f"/agents/familles/{family.id}")).status_code == 200
    assert (await client.get("/agents/demandes")).status_code == 200
    assert (await client.get("/agents/parametres")).status_code == 403
    assert (await client.get("/agents/journal")).status_code == 403
    await factories.make_school("École A")


MINE = re.compile(
    r"^/agents/(familles|demandes|parametres|journal)(?!.*/(reservations|tarifs))|"
    r"^/famille/(coordonnees|mot-de-passe|mes-donnees)|^/mot-de-passe-oublie"
)


async def test_every_post_of_these_features_refuses_a_missing_csrf_token(app, client, other_client):
    await staff_client(client)
    await family_with_guardian()
    await login_family(other_client)
    posts = [path for path, h in _handlers(app) if MINE.search(path) and "POST" in h.http_methods]
    assert len(posts) >= 20
    for path in posts:
        who = other_client if path.startswith("/famille") else client
        response = await post_form(who, _concrete(path), {"x": "1"}, csrf=False)
        assert response.status_code == 403, path


async def test_every_page_of_these_features_has_an_htmx_fragment(app, client):
    from ecp.audit.services import record
    from ecp.auth.principal import Principal

    staff = await staff_client(client)
    family, guardian = await family_with_guardian()
    child = await factories.make_child(family, "Léa")
    school = await factories.make_school("École A")
    activity = await factories.make_activity(school=school)
    contact = FamilyContact(
        family=family.id, first_name="Jeanne", last_name="Martin", created_at=clock.now()
    )
    await contact.save()
    await record(
        Principal(kind="staff", session_id=0, name="A", staff_id=staff.id, role="administrateur"),
        "settings_changed",
    )
    ids = {
        "family_id": family.id,
        "child_id": child.id,
        "school_id": school.id,
        "activity_id": activity.id,
        "staff_id": staff.id,
        "guardian_id": guardian.id,
        "contact_id": contact.id,
    }
    for path, handler in _handlers(app):
        if (
            not MINE.search(path)
            or "GET" not in handler.http_methods
            or path.startswith(("/famille", "/mot-de-passe-oublie/"))
            or path.endswith((".json", ".pdf"))
        ):
            continue
        concrete = re.sub(r"\{(\w+):\w+\}", lambda m: str(ids[m.group(1)]), path)
        response = await client.get(concrete, headers={"HX-Request": "true"})
        assert response.status_code == 200, concrete
        assert "<html" not in response.text and response.headers["vary"] == "HX-Request", concrete
        full = await client.get(concrete)
        assert "<html" in full.text and full.text.count("<h1") == 1, concrete
