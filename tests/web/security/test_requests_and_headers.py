"""docs/security.md D1–D4, E4, F1, F4, G1: forgery, cross-origin, headers, errors, rate limits."""

from __future__ import annotations

import re

import pytest
from litestar import get
from litestar.routes import HTTPRoute

from ecp.piccolo_app import APP_CONFIG
from tests import factories
from tests.support import csrf_token, login_family, login_staff, post_form

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# The IPN is authenticated by Paybox's signature; the simulator's entry page stands in for the
# bank's own page (cross-site by nature) and checks the form's HMAC instead.
CSRF_EXEMPT = {"/paiement/paybox/ipn", "/simulateur-paybox/paiement"}
# Routes that answer 403 to a well-formed but unsigned form, as the real bank page does.
FORBIDS_UNSIGNED_FORMS = {"/simulateur-paybox/paiement/valider"}
# Paybox's server calls the IPN with GET and it records the notification: not a browser page.
NOT_BROWSER_GETS = {"/paiement/paybox/ipn"}
# Tables a GET may legitimately write: session last-seen, the journal of staff reads.
WRITABLE_ON_GET = {"auth_session", "audit_log", "job_lease"}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def unsafe_routes(app) -> list[tuple[str, str]]:
    out = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path in CSRF_EXEMPT:
            continue
        for method in sorted(set(route.methods) & UNSAFE):
            out.append((method, _concrete(route.path)))
    return out


def get_routes(app) -> list[str]:
    return sorted(
        {
            route.path
            for route in app.routes
            if isinstance(route, HTTPRoute)
            and "GET" in route.methods
            and "{" not in route.path
            and not route.path.startswith("/static")
            and route.path not in NOT_BROWSER_GETS
        }
    )


async def test_every_unsafe_route_refuses_a_missing_or_wrong_csrf_token(app, client):
    routes = unsafe_routes(app)
    assert ("POST", "/connexion") in routes and ("POST", "/deconnexion") in routes
    token = await csrf_token(client)
    for method, path in routes:
        missing = await client.request(method, path, data={"x": "1"})
        assert missing.status_code == 403, (method, path, missing.status_code)
        wrong = await client.request(method, path, data={"_csrf_token": "f" * 128, "x": "1"})
        assert wrong.status_code == 403, (method, path, wrong.status_code)
        good = await client.request(
            method, path, data={"x": "1"}, headers={"x-csrftoken": token}, follow_redirects=False
        )
        if path not in FORBIDS_UNSIGNED_FORMS:
            assert good.status_code != 403, (method, path)


async def test_a_valid_token_in_the_form_field_is_accepted(client):
    response = await post_form(client, "/connexion", {"code_famille": "X", "mot_de_passe": "y"})
    assert response.status_code == 422


async def test_cross_site_requests_are_refused_even_with_a_valid_token(client):
    await factories.make_family("F00001")
    token = await csrf_token(client)
    data = {"_csrf_token": token, "code_famille": "F00001", "mot_de_passe": "demo-famille-1"}
    cross = await client.post("/connexion", data=data, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    evil = await client.post("/connexion", data=data, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403
    same = await client.post(
        "/connexion",
        data=data,
        headers={"Sec-Fetch-Site": "same-origin", "Origin": "https://testserver.local"},
        follow_redirects=False,
    )
    assert same.status_code == 303


async def test_no_cors_and_foreign_hosts_are_rejected(client):
    response = await client.get("/", headers={"Origin": "https://evil.example"})
    assert not any(k.lower().startswith("access-control-allow") for k in response.headers)
    assert (await client.get("/", headers={"Host": "evil.example"})).status_code == 400


async def _snapshot() -> dict[str, list]:
    snapshot = {}
    for table in APP_CONFIG.table_classes:
        if table._meta.tablename in WRITABLE_ON_GET:
            continue
        snapshot[table._meta.tablename] = sorted(map(repr, await table.select()))
    return snapshot


async def test_get_requests_change_nothing(app, client, other_client):
    family = await factories.make_family("F00001")
    await factories.make_child(family)
    await factories.make_staff("agent")
    await login_family(client)
    await login_staff(other_client)
    before = await _snapshot()
    paths = get_routes(app)
    for path in paths:
        for c in (client, other_client):
            await c.get(path)
            await c.get(path, headers={"HX-Request": "true"})
    assert await _snapshot() == before, paths


async def test_every_response_declares_utf8(app, client):
    await factories.make_family("F00001")
    await login_family(client)
    for path in get_routes(app) + [
        "/static/css/app.css",
        "/static/js/app.js",
        "/static/vendor/htmx-2.0.11.min.js",
        "/nulle-part",
    ]:
        response = await client.get(path, follow_redirects=False)
        content_type = response.headers.get("content-type", "")
        assert "charset=utf-8" in content_type.lower(), (path, content_type)


HEADERS = {
    "content-security-policy": "default-src 'self'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "strict-transport-security": "max-age=63072000; includeSubDomains",
}


def _assert_security_headers(response):
    for name, expected in HEADERS.items():
        assert expected in response.headers.get(name, ""), (name, response.status_code)
    csp = response.headers["content-security-policy"]
    for directive in (
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "script-src 'self'",
        "style-src 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


@get("/test-boom", name="test_boom")
async def boom() -> None:
    raise RuntimeError("secret internal detail")


@pytest.mark.own_app
async def test_security_headers_on_every_kind_of_response(app, client):
    app.register(boom)
    token = await csrf_token(client)
    responses = [
        await client.get("/"),  # 200
        await client.get("/famille/", follow_redirects=False),  # 303 to login
        await client.post("/connexion", data={"code_famille": "x"}),  # 403 CSRF
        await client.get("/nulle-part"),  # 404
        await client.get("/test-boom"),  # 500
        await client.post("/connexion", data={"_csrf_token": token}),  # 422
    ]
    assert [r.status_code for r in responses] == [200, 303, 403, 404, 500, 422]
    for response in responses:
        _assert_security_headers(response)


@pytest.mark.own_app
async def test_errors_are_french_pages_without_internals(app, client):
    app.register(boom)
    response = await client.get("/test-boom")
    assert response.status_code == 500
    assert "Erreur technique" in response.text and '<html lang="fr"' in response.text
    assert "secret internal detail" not in response.text and "Traceback" not in response.text
    missing = await client.get("/nulle-part")
    assert "Page introuvable" in missing.text
    for path in ("/schema", "/schema/openapi.json", "/schema/swagger", "/.git/HEAD", "/docs"):
        assert (await client.get(path)).status_code == 404, path


async def test_htmx_errors_replace_main_instead_of_failing_silently(client):
    response = await client.get("/nulle-part", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert response.headers["hx-retarget"] == "#main"
    assert "<html" not in response.text and 'id="main"' in response.text


async def test_login_is_rate_limited_with_a_french_page_and_other_pages_still_work(client):
    token = await csrf_token(client)
    statuses = []
    for _ in range(11):
        response = await client.post(
            "/connexion",
            data={"_csrf_token": token, "code_famille": "F00001", "mot_de_passe": "nope-nope-nope"},
        )
        statuses.append(response.status_code)
    assert statuses[:10] == [422] * 10 and statuses[10] == 429
    assert response.headers["ratelimit-limit"] == "10"
    assert int(response.headers["retry-after"]) > 0
    assert "Trop de tentatives" in response.text and "Vous pourrez réessayer dans" in response.text
    assert (await client.get("/")).status_code == 200
    assert (await client.get("/agents/connexion")).status_code == 200


@get("/test-db-down", name="test_db_down")
async def database_down() -> None:
    try:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
    except ConnectionRefusedError as exc:
        raise RuntimeError("query failed") from exc


@pytest.mark.own_app
async def test_an_unreachable_database_gives_a_503_page_that_says_to_retry(app, client):
    app.register(database_down)
    response = await client.get("/test-db-down")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "momentanément indisponible" in response.text
    _assert_security_headers(response)
