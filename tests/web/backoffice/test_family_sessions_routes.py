"""Staff « Fermer les sessions ouvertes » on a family record (docs/security.md B5): every session of
the family ends, the account stays active, the action is journalled; administrators only."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.auth.tables import AuthSession
from ecp.families.tables import Family
from tests.conftest import make_client
from tests.staff_factories import indexed_family, staff_client
from tests.support import login_family, post_form, soup


def _url(family) -> str:
    return f"/agents/familles/{family.id}/fermer-sessions"


async def _family_sessions(family) -> int:
    return await AuthSession.count().where(AuthSession.family == family.id)


async def _is_anonymous(family_client) -> bool:
    response = await family_client.get("/famille/", follow_redirects=False)
    return response.status_code == 303 and "/connexion" in response.headers["location"]


async def test_admin_closes_every_session_and_the_family_must_log_in_again(
    client, other_client, app
):
    await staff_client(client)
    family, _ = await indexed_family()
    async with make_client(app, "127.0.0.3") as phone:
        await login_family(other_client)
        await login_family(phone)
        assert (await other_client.get("/famille/")).status_code == 200
        page = soup((await client.get(f"/agents/familles/{family.id}")).text)
        section = page.select_one("#sessions-title").parent
        assert "2 sessions ouvertes en ce moment." in section.text
        button = section.find("button", string="Fermer les sessions ouvertes")
        hint = page.select_one(f"#{button['aria-describedby']}").text
        assert "devra se reconnecter" in hint and "reste actif" in hint
        form = button.find_parent("form")
        assert form["method"] == "post" and form["action"] == _url(family)
        assert form.select_one('input[name="_csrf_token"]') is not None

        response = await post_form(
            client, _url(family), {}, from_page=f"/agents/familles/{family.id}"
        )
        assert response.status_code == 303
        assert response.headers["location"] == f"/agents/familles/{family.id}"
        assert await _is_anonymous(other_client) and await _is_anonymous(phone)
    assert await _family_sessions(family) == 0
    after = await client.get(f"/agents/familles/{family.id}")
    assert after.status_code == 200  # the agent's own session is untouched
    assert "2 sessions ouvertes ont été fermées : la famille devra se reconnecter." in after.text
    assert "Aucune session ouverte en ce moment." in after.text
    assert (await Family.select(Family.active).where(Family.id == family.id).first())["active"]
    await login_family(other_client)  # not disabled: the family logs in again at once
    log = (
        await AuditLog.select()
        .where(AuditLog.action == "family_sessions_closed")
        .output(load_json=True)
        .first()
    )
    assert log["family"] == family.id and log["details"] == {"sessions": 2}
    assert "Fermeture des sessions ouvertes d’une famille" in after.text  # the record's history


async def test_only_this_familys_sessions_are_closed(client, other_client, app):
    await staff_client(client)
    family, _ = await indexed_family()
    await indexed_family("F00002", "Diallo", email="diallo@example.org")
    async with make_client(app, "127.0.0.3") as neighbour:
        await login_family(other_client)
        await login_family(neighbour, "F00002")
        response = await post_form(
            client, _url(family), {}, from_page=f"/agents/familles/{family.id}"
        )
        assert response.status_code == 303
        assert await _is_anonymous(other_client)
        assert (await neighbour.get("/famille/")).status_code == 200


async def test_expired_sessions_are_removed_but_not_counted(client, other_client):
    await staff_client(client)
    family, _ = await indexed_family()
    await login_family(other_client)
    # A session left idle past the 30 minutes: it no longer opens anything.
    old = clock.now() - dt.timedelta(hours=2)
    await AuthSession(
        token_hash="0" * 64, kind="family", family=family.id, created_at=old, last_seen_at=old
    ).save()
    page = await client.get(f"/agents/familles/{family.id}")
    assert (
        "1 session ouverte en ce moment."
        in soup(page.text).select_one("#sessions-title").parent.text
    )
    await post_form(client, _url(family), {}, from_page=f"/agents/familles/{family.id}")
    assert await _family_sessions(family) == 0
    after = await client.get(f"/agents/familles/{family.id}")
    assert "1 session ouverte a été fermée" in after.text


async def test_nothing_to_close_is_said_and_still_journalled(client):
    await staff_client(client)
    family, _ = await indexed_family()
    page = soup((await client.get(f"/agents/familles/{family.id}")).text)
    assert "Aucune session ouverte en ce moment." in page.select_one("#sessions-title").parent.text
    assert page.find("button", string="Fermer les sessions ouvertes") is None
    response = await post_form(client, _url(family), {}, from_page=f"/agents/familles/{family.id}")
    assert response.status_code == 303
    after = await client.get(f"/agents/familles/{family.id}")
    assert "Aucune session n’était ouverte : rien n’a été fermé." in after.text
    assert await AuditLog.count().where(AuditLog.action == "family_sessions_closed") == 1


async def test_htmx_post_redirects_the_page_and_fragment_has_the_button(client, other_client):
    await staff_client(client)
    family, _ = await indexed_family()
    await login_family(other_client)
    fragment = await client.get(f"/agents/familles/{family.id}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert soup(fragment.text).find("button", string="Fermer les sessions ouvertes") is not None
    response = await post_form(
        client,
        _url(family),
        {},
        from_page=f"/agents/familles/{family.id}",
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response.headers["hx-redirect"] == f"/agents/familles/{family.id}"
    assert await _is_anonymous(other_client)


async def test_closing_sessions_without_csrf_is_refused(client, other_client):
    await staff_client(client)
    family, _ = await indexed_family()
    await login_family(other_client)
    response = await post_form(client, _url(family), {}, csrf=False)
    assert response.status_code == 403
    assert await _family_sessions(family) == 1
    assert (await other_client.get("/famille/")).status_code == 200
    assert await AuditLog.count().where(AuditLog.action == "family_sessions_closed") == 0


async def test_agent_and_regisseur_cannot_close_sessions(client, other_client, app):
    family, _ = await indexed_family()
    await login_family(other_client)
    for role in ("agent", "regisseur"):
        async with make_client(app, "127.0.0.4") as staff:
            await staff_client(staff, role)
            page = soup((await staff.get(f"/agents/familles/{family.id}")).text)
            assert page.find("button", string="Fermer les sessions ouvertes") is None
            response = await post_form(staff, _url(family), {}, from_page="/agents/")
            assert response.status_code == 403, role
    assert await _family_sessions(family) == 1
    assert (await other_client.get("/famille/")).status_code == 200


async def test_unknown_family_is_404_and_a_family_cannot_reach_it(client, other_client):
    await staff_client(client)
    family, _ = await indexed_family()
    response = await post_form(
        client, f"/agents/familles/{family.id + 999}/fermer-sessions", {}, from_page="/agents/"
    )
    assert response.status_code == 404
    await login_family(other_client)
    response = await post_form(other_client, _url(family), {}, from_page="/famille/")
    assert response.status_code == 404
    assert await _family_sessions(family) == 1
