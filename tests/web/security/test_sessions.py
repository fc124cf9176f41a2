"""docs/security.md B1–B4, B6: session tokens, cookie attributes, logout, expiry, caching."""

from __future__ import annotations

import datetime as dt
from http.cookies import SimpleCookie

from ecp import clock
from ecp.auth.sessions import hash_token
from ecp.auth.tables import AuthSession
from tests import factories
from tests.support import login_family, post_form

COOKIE = "__Host-ecp_session"


def _set_cookies(response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


async def test_login_issues_a_fresh_token_and_ignores_an_attacker_chosen_one(client, other_client):
    await factories.make_family("F00001")
    planted = "attacker-chosen-session-value-0123456789"
    client.cookies.set(COOKIE, planted, domain="testserver.local")
    response = await login_family(client)
    token = SimpleCookie(_set_cookies(response)[COOKIE])[COOKIE].value
    assert token != planted and len(token) >= 43  # 32 random bytes, url-safe base64
    assert await AuthSession.count().where(AuthSession.token_hash == hash_token(planted)) == 0
    assert await AuthSession.count().where(AuthSession.token_hash == hash_token(token)) == 1
    other_client.cookies.set(COOKIE, planted, domain="testserver.local")
    response = await other_client.get("/famille/")
    assert response.status_code == 303 and response.headers["location"].startswith("/connexion")


async def test_logging_in_again_closes_the_previous_session(client):
    await factories.make_family("F00001")
    first = SimpleCookie(_set_cookies(await login_family(client))[COOKIE])[COOKIE].value
    await login_family(client)
    assert await AuthSession.count().where(AuthSession.token_hash == hash_token(first)) == 0
    assert await AuthSession.count() == 1


async def test_cookies_are_host_prefixed_secure_httponly_and_lax(client):
    await factories.make_family("F00001")
    home = await client.get("/")
    csrf = _set_cookies(home)["__Host-csrftoken"].lower()
    assert "secure" in csrf and "path=/" in csrf and "domain" not in csrf and "samesite=lax" in csrf
    session = _set_cookies(await login_family(client))[COOKIE].lower()
    for attribute in ("secure", "httponly", "path=/", "samesite=lax"):
        assert attribute in session
    assert "domain" not in session


async def test_logout_deletes_the_session_server_side(client, other_client):
    await factories.make_family("F00001")
    token = SimpleCookie(_set_cookies(await login_family(client))[COOKIE])[COOKIE].value
    response = await post_form(client, "/deconnexion", {}, from_page="/famille/")
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert response.headers["clear-site-data"] == '"cache", "storage"'
    assert await AuthSession.count() == 0
    other_client.cookies.set(COOKIE, token, domain="testserver.local")
    replay = await other_client.get("/famille/")
    assert replay.status_code == 303
    follow = await client.get("/")
    assert "Déconnexion effectuée" in follow.text


async def test_idle_session_expires_after_thirty_minutes(client):
    await factories.make_family("F00001")
    start = dt.datetime(2026, 11, 30, 8, 0, tzinfo=clock.PARIS)
    clock.set_now(start)
    await login_family(client)
    clock.set_now(start + dt.timedelta(minutes=29))
    assert (await client.get("/famille/")).status_code == 200
    clock.set_now(start + dt.timedelta(minutes=29 + 31))
    response = await client.get("/famille/")
    assert response.status_code == 303 and response.headers["location"].startswith(
        "/connexion?next=/famille"
    )
    assert await AuthSession.count() == 0


async def test_active_session_ends_twelve_hours_after_login(client):
    await factories.make_family("F00001")
    start = dt.datetime(2026, 11, 30, 7, 0, tzinfo=clock.PARIS)
    clock.set_now(start)
    await login_family(client)
    for minutes in range(20, 12 * 60, 20):  # active every 20 minutes
        clock.set_now(start + dt.timedelta(minutes=minutes))
        assert (await client.get("/famille/")).status_code == 200, minutes
    clock.set_now(start + dt.timedelta(hours=12, minutes=1))
    assert (await client.get("/famille/")).status_code == 303


async def test_disabling_a_family_ends_its_sessions(client):
    family = await factories.make_family("F00001")
    await login_family(client)
    from ecp.families.tables import Family

    await Family.update({Family.active: False}).where(Family.id == family.id)
    assert (await client.get("/famille/")).status_code == 303


async def test_private_pages_are_not_cached(client):
    await factories.make_family("F00001")
    await login_family(client)
    response = await client.get("/famille/")
    assert response.headers["cache-control"] == "no-store"
    assert (await client.get("/")).headers["cache-control"] == "no-store"
    assert "max-age" in (await client.get("/static/css/app.css")).headers["cache-control"]
