"""Structured logs: a request id on every line, auth events, and no personal data or secret."""

from __future__ import annotations

import json
import re

from tests.factories import make_family, make_staff
from tests.support import csrf_token, login_family, login_staff, post_form

PASSWORD = "demo-famille-1"
STAFF_PASSWORD = "demo-agent-sej-2026"


async def test_logs_over_many_requests_hold_no_password_token_code_or_email(
    client, other_client, captured_logs
):
    family = await make_family(code="F00001", password=PASSWORD, email="claire.martin@example.org")
    await make_staff(username="jdupont", password=STAFF_PASSWORD)
    secrets_seen = {
        PASSWORD,
        STAFF_PASSWORD,
        "F00001",
        family.email,
        "jdupont",
        "mauvais-mot-de-passe-123",
    }

    response = await login_family(client)
    secrets_seen.update(v for v in response.cookies.values())
    secrets_seen.add(await csrf_token(client, "/famille/"))
    await client.get("/famille/")
    await post_form(client, "/deconnexion", {}, from_page="/famille/")
    await post_form(
        client, "/connexion", {"code_famille": "F00001", "mot_de_passe": "mauvais-mot-de-passe-123"}
    )
    await post_form(
        client,
        "/connexion",
        {"code_famille": "claire.martin@example.org", "mot_de_passe": PASSWORD},
    )
    await post_form(
        client, "/connexion", {"code_famille": 'F00001\r\n{"event":"forged"}', "mot_de_passe": "x"}
    )
    response = await login_staff(other_client, username="jdupont")
    secrets_seen.update(v for v in response.cookies.values())
    await post_form(
        other_client,
        "/agents/connexion",
        {"identifiant": "jdupont", "mot_de_passe": "mauvais-mot-de-passe-123"},
        from_page="/agents/connexion",
    )
    # CSRF: a POST without its token.
    csrf = await client.post(
        "/connexion", data={"code_famille": "F00001", "mot_de_passe": PASSWORD}
    )
    assert csrf.status_code == 403
    # Rate limit: the login budget (10 a minute) runs out.
    statuses = []
    for _ in range(12):
        r = await post_form(
            client,
            "/connexion",
            {"code_famille": "F00001", "mot_de_passe": "mauvais-mot-de-passe-123"},
        )
        statuses.append(r.status_code)
    assert 429 in statuses
    await client.get("/page-qui-nexiste-pas?email=claire.martin@example.org&token=abc")

    assert len(captured_logs) > 20
    events = [json.loads(line) for line in captured_logs]  # every line is one JSON object
    text = "\n".join(captured_logs)
    for secret in secrets_seen:
        assert secret not in text, f"{secret!r} leaked into the logs"
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.-]+", text)
    assert "forged" not in [e.get("event") for e in events]

    logins = [e for e in events if e["event"] == "login"]
    outcomes = {(e["kind"], e["outcome"]) for e in logins}
    assert {
        ("family", "success"),
        ("family", "failure"),
        ("staff", "success"),
        ("staff", "failure"),
    } <= outcomes
    success = next(e for e in logins if e["outcome"] == "success" and e["kind"] == "family")
    assert success["account_id"] == family.id and success["ip"] == "127.0.0.1"
    assert all(e["timestamp"].endswith("Z") for e in logins)
    assert any(e["event"] == "forbidden" and e["route"] == "/connexion" for e in events)
    assert any(e["event"] == "rate limit reached" for e in events)

    requests = [e for e in events if e["event"] == "request"]
    assert requests and all(re.fullmatch(r"[0-9a-f]{16}", e["request_id"]) for e in requests)
    # The login event carries the id of the request that produced it.
    assert success["request_id"] in {e["request_id"] for e in requests}
    assert {"route": "non_routee", "status": 404} == {
        k: v for k, v in requests[-1].items() if k in ("route", "status")
    }


async def test_the_proxys_request_id_is_logged_and_echoed(client, captured_logs):
    plain = await client.get("/")
    assert "x-request-id" not in plain.headers  # our own id stays in the logs
    mine = await client.get("/", headers={"X-Request-ID": "proxy-abc-12345"})
    assert mine.headers["x-request-id"] == "proxy-abc-12345"
    forged = await client.get("/", headers={"X-Request-ID": "bad id\r\nwith spaces"})
    assert "x-request-id" not in forged.headers
    ids = [
        json.loads(line)["request_id"]
        for line in captured_logs
        if json.loads(line)["event"] == "request"
    ]
    assert ids[1] == "proxy-abc-12345"
    assert re.fullmatch(r"[0-9a-f]{16}", ids[0]) and re.fullmatch(r"[0-9a-f]{16}", ids[2])


def test_redaction_masks_sensitive_keys_and_addresses():
    from ecp.web.logs import redact

    out = redact(
        None,
        "info",
        {
            "event": "x",
            "password": "p",
            "to": "a@b.fr",
            "note": "write to a.b@example.org\nnow",
            "details": {"email": "x@y.fr", "n": 2},
        },
    )
    assert out["password"] == "[masqué]" and out["to"] == "[masqué]"
    assert out["note"] == "write to [email]\\x0anow"
    assert out["details"] == {"email": "[masqué]", "n": 2}
