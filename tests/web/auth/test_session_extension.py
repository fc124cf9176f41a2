"""The session's end, told in time (WCAG 2.2.1, RGAA 13.1): every page knows how long the
session has left, « Rester connecté » (POST /session/prolonger) extends it, and after an
expiry the login leads back to the page, saying what a lost form post did not save."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.auth import login
from ecp.auth.tables import AuthSession
from tests import factories
from tests.support import csrf_token, login_family, login_staff, post_form, soup

START = dt.datetime(2026, 12, 1, 8, 0, tzinfo=clock.PARIS)
EXTEND = "/session/prolonger"


async def _logged_in(client):
    clock.set_now(START)
    await factories.make_family("F00001")
    await login_family(client)


def at(minutes: float) -> None:
    clock.set_now(START + dt.timedelta(minutes=minutes))


async def _last_seen() -> dt.datetime:
    row = await AuthSession.select(AuthSession.last_seen_at).first()
    value = row["last_seen_at"]
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def test_every_page_says_how_long_the_session_has_left(client):
    await _logged_in(client)
    at(0.5)  # under a minute: the session is not touched, 29 min 30 s are left
    response = await client.get("/famille/coordonnees")
    body = soup(response.text).body
    assert body["data-session-remaining"] == "1770" and body["data-session-warn"] == "120"
    assert not body.has_attr("data-session-final")
    assert response.headers["ecp-session-remaining"] == "1770"
    warning = soup(response.text).select_one("#session-warning")
    # Hidden until the script opens it: without JavaScript the page is as it was.
    assert warning.has_attr("hidden") and warning["role"] == "alertdialog"
    assert warning["aria-labelledby"] == "session-warning-title"
    assert warning["aria-describedby"] == "session-warning-text"
    form = warning.select_one("form#session-extend-form")
    assert form["action"] == EXTEND and form["method"] == "post" and form["hx-post"] == EXTEND
    assert form.select_one("input[name=_csrf_token]") is not None
    assert form.select_one("input[name=next]")["value"] == "/famille/coordonnees"
    assert form.select_one("button#session-extend").get_text(strip=True) == "Rester connecté"
    relogin = warning.select_one("#session-login")["href"]
    assert relogin == "/connexion?next=/famille/coordonnees"


async def test_the_page_of_a_visitor_has_no_session_time(client):
    response = await client.get("/")
    assert not soup(response.text).body.has_attr("data-session-remaining")
    assert soup(response.text).select_one("#session-warning") is None
    assert "ecp-session-remaining" not in response.headers


async def test_a_session_near_its_absolute_end_is_told_it_cannot_be_extended(client):
    await _logged_in(client)
    for minutes in range(20, 12 * 60 - 10, 20):  # active all day
        at(minutes)
        assert (await client.get("/famille/")).status_code == 200
    at(12 * 60 - 10)  # the 12-hour limit now comes before the idle one
    response = await client.get("/famille/coordonnees")
    body = soup(response.text).body
    assert body["data-session-remaining"] == "600" and body["data-session-final"] == "true"


async def test_htmx_extension_answers_204_with_the_new_time_left(client):
    await _logged_in(client)
    at(0.5)
    token = await csrf_token(client, "/famille/coordonnees")
    at(28)  # the warning is up: two minutes left
    response = await client.post(
        EXTEND,
        data={"_csrf_token": token, "next": "/famille/coordonnees"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204 and response.content == b""
    assert response.headers["ecp-session-remaining"] == "1800"
    assert await _last_seen() == START + dt.timedelta(minutes=28)
    # The idle limit starts again: 28 + 29 minutes after login, the family is still in.
    at(28 + 29)
    assert (await client.get("/famille/")).status_code == 200


async def test_no_js_extension_comes_back_to_the_page_with_a_message(client):
    await _logged_in(client)
    at(20)
    response = await post_form(
        client,
        EXTEND,
        {"next": "/famille/reservations?semaine=2026-W50"},
        from_page="/famille/coordonnees",
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/famille/reservations?semaine=2026-W50"
    assert response.headers["ecp-session-remaining"] == "1800"
    assert await _last_seen() == START + dt.timedelta(minutes=20)
    page = await client.get("/famille/coordonnees")
    assert "Vous restez connecté : la session se fermera après 30 minutes" in page.text


async def test_the_extension_comes_back_only_to_a_page_of_its_own_side(client):
    await _logged_in(client)
    for sent, back in (
        ("//evil.example/", "/famille/"),
        ("https://evil.example/famille/", "/famille/"),
        ("/\t/evil.example", "/famille/"),
        ("/agents/familles", "/famille/"),
        ("/famillex", "/famille/"),
        ("", "/famille/"),
    ):
        response = await post_form(client, EXTEND, {"next": sent}, from_page="/famille/")
        assert response.headers["location"] == back, sent


async def test_staff_extend_their_session_too(client):
    await factories.make_staff("agent", password="demo-agent-sej-2026")
    await login_staff(client)
    response = await post_form(
        client,
        EXTEND,
        {"next": "/agents/familles"},
        from_page="/agents/",
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204


async def test_the_extension_without_its_csrf_token_is_refused(client):
    await _logged_in(client)
    at(0.5)  # under a minute: a request alone does not touch the session
    response = await post_form(
        client, EXTEND, {"next": "/famille/"}, from_page="/famille/", csrf=False
    )
    assert response.status_code == 403
    assert await _last_seen() == START  # not extended


async def test_an_expired_session_is_not_revived_but_sent_to_the_login(client):
    await _logged_in(client)
    token = await csrf_token(client, "/famille/coordonnees")
    at(31)
    response = await client.post(
        EXTEND,
        data={"_csrf_token": token, "next": "/famille/reservations?semaine=2026-W50"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == (
        "/connexion?next=/famille/reservations%3Fsemaine%3D2026-W50"
    )
    assert await AuthSession.count() == 0
    htmx = await client.post(
        EXTEND,
        data={"_csrf_token": token, "next": "/famille/coordonnees"},
        headers={"HX-Request": "true"},
    )
    assert htmx.headers["hx-redirect"] == "/connexion?next=/famille/coordonnees"
    # Without any session at all (never logged in), the same.
    staff_side = await client.post(
        EXTEND,
        data={"_csrf_token": token, "next": "/agents/familles"},
        follow_redirects=False,
    )
    assert staff_side.headers["location"] == "/agents/connexion?next=/agents/familles"


async def test_after_an_expiry_the_login_leads_back_to_the_page_and_its_query(client):
    await _logged_in(client)
    at(31)
    response = await client.get("/famille/reservations?semaine=2026-W50")
    assert response.status_code == 303
    target = response.headers["location"]
    assert target == "/connexion?next=/famille/reservations%3Fsemaine%3D2026-W50"
    page = await client.get(target)
    text = soup(page.text).get_text(" ", strip=True)
    assert "Votre session s’est fermée : sans activité pendant 30 minutes" in text
    assert soup(page.text).select_one("input[name=next]")["value"] == (
        "/famille/reservations?semaine=2026-W50"
    )
    response = await post_form(
        client,
        "/connexion",
        {
            "code_famille": "F00001",
            "mot_de_passe": "demo-famille-1",
            "next": "/famille/reservations?semaine=2026-W50",
        },
        from_page=target,
    )
    assert response.headers["location"] == "/famille/reservations?semaine=2026-W50"


async def test_a_form_post_lost_to_an_expiry_is_named_and_never_replayed(client):
    await _logged_in(client)
    token = await csrf_token(client, "/famille/reservations/semaine-type")
    at(31)
    response = await client.post(
        "/famille/reservations/semaine-type",
        data={"_csrf_token": token, "etape": "confirmer", "du": "07/12/2026"},
        headers={"Referer": "https://testserver.local/famille/reservations/semaine-type"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    target = response.headers["location"]
    assert target == (
        "/connexion?next=/famille/reservations/semaine-type&perdu=booking_pattern_apply"
    )
    page = soup((await client.get(target)).text)
    lost = page.select_one("#lost-action").get_text(" ", strip=True)
    assert lost == (
        "Votre dernière action n’a pas été enregistrée : la semaine type. Connectez-vous, "
        "puis refaites-la : vous reviendrez sur la page où vous étiez."
    )
    assert page.select_one("input[name=perdu]")["value"] == "booking_pattern_apply"
    response = await post_form(
        client,
        "/connexion",
        {
            "code_famille": "F00001",
            "mot_de_passe": "demo-famille-1",
            "next": "/famille/reservations/semaine-type",
            "perdu": "booking_pattern_apply",
        },
        from_page=target,
    )
    # Back to the form's page, GET: nothing was sent again.
    assert response.headers["location"] == "/famille/reservations/semaine-type"
    follow = await client.get("/famille/reservations/semaine-type")
    assert (
        "Votre dernière action n’a pas été enregistrée : la semaine type. Vous pouvez la "
        "refaire maintenant."
    ) in follow.text


async def test_an_htmx_post_lost_to_an_expiry_returns_to_the_current_page(client):
    await _logged_in(client)
    token = await csrf_token(client, "/famille/coordonnees")
    at(31)
    response = await client.post(
        "/famille/reservations",
        data={"_csrf_token": token, "case": "1:1:2026-12-07:reserver"},
        headers={
            "HX-Request": "true",
            "HX-Current-URL": "https://testserver.local/famille/reservations?semaine=2026-W50",
        },
    )
    assert response.headers["hx-redirect"] == (
        "/connexion?next=/famille/reservations%3Fsemaine%3D2026-W50&perdu=booking_change"
    )
    # A page of another site is never where the login leads.
    response = await client.post(
        "/famille/reservations",
        data={"_csrf_token": token, "case": "1:1:2026-12-07:reserver"},
        headers={"Referer": "https://evil.example/famille/coordonnees"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/connexion?next=/famille&perdu=booking_change"


def test_lost_actions_are_words_never_what_was_sent():
    assert login.lost_action("booking_change").startswith("la réservation")
    assert login.lost_action("staff_credit_note") == login.LOST_DEFAULT
    assert login.lost_action("") == "" and login.lost_action(None) == ""
    assert login.lost_action("<script>") == ""
    assert login.lost_route("booking_change") == "booking_change"
    assert login.lost_route('x" onload="y') == ""


def test_safe_next_refuses_addresses_that_leave_the_site():
    for value in ("//evil.example", "https://evil.example", "/\t/evil.example", "/\\evil", ""):
        assert login.safe_next(value, "/famille/") == "/famille/", value
    assert (
        login.safe_next("/famille/factures?mois=2026-11", "/") == "/famille/factures?mois=2026-11"
    )
