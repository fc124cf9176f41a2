"""docs/security.md A10: no staff session without a TOTP code (ECP_STAFF_MFA=obligatoire, the
default): the pending step, enrolment at login, the code step, replay, expiry, back-off,
rotation, htmx and no-JS, CSRF, and the generic answers of A6."""

from __future__ import annotations

import datetime as dt
import re

from ecp import clock
from ecp.app import create_app
from ecp.auth import mfa, totp
from ecp.auth.admin import create_admin
from ecp.auth.sessions import hash_token
from ecp.auth.tables import AuthSession, PendingLogin, StaffTotp, StaffUser
from tests import factories
from tests.conftest import make_client
from tests.support import error_summary_links, login_staff, post_form, soup
from tests.web.auth.mfa_support import (
    PENDING,
    SESSION,
    code_now,
    cookie_value,
    enrolled_staff,
    key_on,
    password_step,
    post_code,
    set_cookies,
    wrong_code,
)

NOW = dt.datetime(2026, 11, 30, 9, 0, 10, tzinfo=clock.PARIS)


def _staff_get_paths(app) -> list[str]:
    public = {"/agents/connexion", "/agents/connexion/code", "/agents/connexion/activation"}
    paths = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if (
                route.path.startswith("/agents")
                and route.path not in public
                and "GET" in (handler.http_methods or ())
            ):
                paths.add(re.sub(r"\{[^}]+\}", "1", route.path).rstrip("/") + "/")
    return sorted(paths)


async def test_a_password_alone_opens_no_session_anywhere_under_agents(app, client):
    await factories.make_staff("agent")
    response = await password_step(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/agents/connexion/activation"
    assert SESSION not in set_cookies(response)
    assert await AuthSession.count() == 0
    paths = _staff_get_paths(app)
    assert len(paths) > 20 and "/agents/" in paths and "/agents/compte/" in paths
    for path in paths:
        page = await client.get(path, follow_redirects=False)
        assert page.status_code == 303, path
        assert page.headers["location"].startswith("/agents/connexion?next="), path


async def test_an_enrolled_agent_is_asked_the_code_and_has_no_session_before_it(settings, client):
    await enrolled_staff(settings)
    response = await password_step(client)
    assert response.headers["location"] == "/agents/connexion/code"
    assert await AuthSession.count() == 0
    assert (await client.get("/agents/", follow_redirects=False)).status_code == 303


async def test_the_pending_step_is_a_hashed_token_in_a_host_only_httponly_cookie(settings, client):
    clock.set_now(NOW)
    staff = await enrolled_staff(settings)
    response = await password_step(client)
    header = set_cookies(response)[PENDING].lower()
    for attribute in ("secure", "httponly", "path=/", "samesite=lax", "max-age=300"):
        assert attribute in header
    assert "domain" not in header
    token = cookie_value(response, PENDING)
    assert len(token) >= 43
    row = await PendingLogin.select().first()
    assert row["token_hash"] == hash_token(token) and token not in str(row)
    assert row["staff"] == staff.id and row["enrol_secret"] == ""
    assert row["expires_at"] - row["created_at"] == dt.timedelta(minutes=5)


async def test_code_page_asks_six_digits_for_a_password_manager_or_a_phone(settings, client):
    await enrolled_staff(settings)
    await password_step(client)
    response = await client.get("/agents/connexion/code")
    assert response.status_code == 200
    page = soup(response.text)
    assert page.h1.get_text() == "Code de vérification"
    assert page.title.get_text().startswith("Code de vérification")
    field = page.select_one("input#code")
    assert field["autocomplete"] == "one-time-code" and field["inputmode"] == "numeric"
    assert page.select_one("label[for=code]").get_text() == "Code de vérification"
    form = page.select_one("form#code-form")
    assert form["action"] == "/agents/connexion/code" and form["method"] == "post"
    assert form["hx-post"] == "/agents/connexion/code"
    assert page.select_one("input[name=_csrf_token]")


async def test_the_right_code_opens_a_rotated_session_and_clears_the_pending_step(settings, client):
    clock.set_now(NOW)
    await enrolled_staff(settings)
    planted = "attacker-chosen-session-value-0123456789"
    client.cookies.set(SESSION, planted, domain="testserver.local")
    await password_step(client)
    response = await post_code(client, code_now())
    assert response.status_code == 303 and response.headers["location"] == "/agents/"
    token = cookie_value(response, SESSION)
    assert token and token != planted
    assert await AuthSession.count().where(AuthSession.token_hash == hash_token(token)) == 1
    assert "max-age=0" in set_cookies(response)[PENDING].lower()
    assert await PendingLogin.count() == 0
    home = await client.get("/agents/")
    assert home.status_code == 200 and "Tableau de bord" in home.text
    row = await StaffUser.select(StaffUser.failed_logins, StaffUser.last_login_at).first()
    assert row["failed_logins"] == 0 and row["last_login_at"] is not None


async def test_logging_in_again_closes_the_previous_session(settings, client):
    clock.set_now(NOW)
    await enrolled_staff(settings)
    first = cookie_value(await login_staff(client), SESSION)
    second = cookie_value(await login_staff(client), SESSION)
    assert first != second
    assert await AuthSession.count().where(AuthSession.token_hash == hash_token(first)) == 0
    assert await AuthSession.count() == 1


async def test_the_next_parameter_survives_the_code_step(settings, client):
    await enrolled_staff(settings)
    response = await post_form(
        client,
        "/agents/connexion",
        {"identifiant": "agent", "mot_de_passe": "demo-agent-sej-2026", "next": "/agents/familles"},
        from_page="/agents/connexion?next=/agents/familles",
    )
    assert response.headers["location"] == "/agents/connexion/code"
    done = await post_code(client, code_now())
    assert done.headers["location"] == "/agents/familles"


async def test_a_wrong_code_is_422_with_a_generic_french_message_and_counts(settings, client):
    await enrolled_staff(settings)
    await password_step(client)
    response = await post_code(client, wrong_code())
    assert response.status_code == 422
    page = soup(response.text)
    assert page.title.get_text().startswith("Erreur : ")
    assert error_summary_links(response.text) == ["#code"]
    assert "Code incorrect ou expiré" in page.select_one("#code-error").get_text()
    assert page.select_one("#code")["aria-describedby"] == "code-hint code-error"
    assert "Après plusieurs codes erronés" in response.text
    assert await AuthSession.count() == 0
    assert (await StaffUser.select(StaffUser.failed_logins).first())["failed_logins"] == 1
    # The pending step survives a typo: the right code still works.
    assert (await post_code(client, code_now())).status_code == 303


async def test_empty_or_malformed_codes_are_explained_and_not_counted(settings, client):
    await enrolled_staff(settings)
    await password_step(client)
    empty = await post_code(client, "")
    assert empty.status_code == 422 and "Saisissez le code à 6 chiffres" in empty.text
    letters = await post_code(client, "12ab56")
    assert letters.status_code == 422 and "Le code comporte 6 chiffres" in letters.text
    assert soup(letters.text).select_one("#code")["value"] == "12ab56"
    assert (await StaffUser.select(StaffUser.failed_logins).first())["failed_logins"] == 0
    spaced = await post_code(client, " " + code_now()[:3] + " " + code_now()[3:] + " ")
    assert spaced.status_code == 303


async def test_a_code_already_used_is_refused(settings, client, other_client):
    clock.set_now(NOW)
    await enrolled_staff(settings)
    code = code_now()
    await password_step(client)
    assert (await post_code(client, code)).status_code == 303
    await password_step(other_client)
    replay = await post_code(other_client, code)
    assert replay.status_code == 422 and "Code incorrect ou expiré" in replay.text
    assert await AuthSession.count() == 1
    # Nor is an older code of the window once a later one was accepted.
    assert (await post_code(other_client, code_now(offset=-1))).status_code == 422
    assert (await post_code(other_client, code_now(offset=1))).status_code == 303


async def test_codes_one_step_either_side_are_accepted_not_two(settings, app):
    clock.set_now(NOW)
    await enrolled_staff(settings)
    for offset, expected in ((-2, 422), (2, 422), (-1, 303)):
        async with make_client(app) as c:
            await password_step(c)
            assert (await post_code(c, code_now(offset=offset))).status_code == expected, offset


async def test_an_expired_pending_step_is_refused(settings, client):
    clock.set_now(NOW)
    await enrolled_staff(settings)
    await password_step(client)
    clock.set_now(NOW + dt.timedelta(minutes=5, seconds=1))
    response = await post_code(client, code_now())
    assert response.status_code == 303 and response.headers["location"] == "/agents/connexion"
    assert await AuthSession.count() == 0
    page = await client.get("/agents/connexion")
    assert "La vérification a expiré" in page.text
    again = await client.get("/agents/connexion/code", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/agents/connexion"


async def test_the_pending_step_is_used_once(settings, client, other_client):
    clock.set_now(NOW)
    await enrolled_staff(settings)
    pending = cookie_value(await password_step(client), PENDING)
    assert (await post_code(client, code_now())).status_code == 303
    other_client.cookies.set(PENDING, pending, domain="testserver.local")
    reuse = await post_code(other_client, code_now(offset=1))
    assert reuse.status_code == 303 and reuse.headers["location"] == "/agents/connexion"
    assert await AuthSession.count() == 1


async def test_an_unknown_pending_cookie_leads_back_to_the_password(client):
    client.cookies.set(PENDING, "forged-pending-token-0123456789abcdef", domain="testserver.local")
    for path in ("/agents/connexion/code", "/agents/connexion/activation"):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/agents/connexion"
    assert (await post_code(client, "123456")).headers["location"] == "/agents/connexion"


async def test_repeated_wrong_codes_lock_the_account_then_the_lock_lifts(settings):
    app = create_app(settings.with_(login_rate_per_minute=1000))
    clock.set_now(NOW)
    await enrolled_staff(settings)
    async with make_client(app) as c:
        await password_step(c)
        for _ in range(4):
            assert (await post_code(c, wrong_code())).status_code == 422
        # A right password does not wipe the count while a code is still owed.
        assert (await password_step(c)).headers["location"] == "/agents/connexion/code"
        assert (await StaffUser.select(StaffUser.failed_logins).first())["failed_logins"] == 4
        assert (await post_code(c, wrong_code())).status_code == 422
        row = await StaffUser.select(StaffUser.failed_logins, StaffUser.locked_until).first()
        # Counted for the account, but the wait is this browser's (its address): the
        # account-wide ceiling (ecp.auth.throttle) is far off.
        assert row["failed_logins"] == 5 and row["locked_until"] is None
        locked = await post_code(c, code_now())  # the right code while locked
        assert locked.status_code == 422 and "Code incorrect ou expiré" in locked.text
        password = await password_step(c)
        assert password.status_code == 422 and "Identifiant ou mot de passe incorrect" in (
            password.text
        )
    clock.set_now(NOW + dt.timedelta(minutes=2))
    async with make_client(app) as c:
        assert (await password_step(c)).status_code == 303
        assert (await post_code(c, code_now())).status_code == 303
    row = await StaffUser.select(StaffUser.failed_logins, StaffUser.locked_until).first()
    assert row["failed_logins"] == 0 and row["locked_until"] is None


async def test_the_login_rate_limit_counts_code_posts_too(settings, client):
    await enrolled_staff(settings)
    await password_step(client)  # a right password is not an unsuccessful attempt
    statuses = [(await post_code(client, "12")).status_code for _ in range(11)]
    assert statuses[:10] == [422] * 10 and statuses[10] == 429
    assert "Trop de tentatives" in (await post_code(client, "12")).text


async def test_a_disabled_account_cannot_finish_its_login(settings, client):
    staff = await enrolled_staff(settings)
    await password_step(client)
    await StaffUser.update({StaffUser.active: False}).where(StaffUser.id == staff.id)
    response = await post_code(client, code_now())
    assert response.headers["location"] == "/agents/connexion"
    assert await AuthSession.count() == 0


# ---------------------------------------------------------------- enrolment at login


async def test_enrolment_page_shows_the_key_in_groups_a_qr_code_and_the_uri(settings, client):
    await factories.make_staff("agent")
    await password_step(client)
    response = await client.get("/agents/connexion/activation")
    assert response.status_code == 200
    page = soup(response.text)
    assert page.h1.get_text() == "Activer la double authentification"
    key = page.select_one("#totp-key").get_text()
    assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", key)
    secret = key.replace(" ", "")
    svg = page.select_one(".totp-qr svg")
    assert svg is not None and svg["role"] == "img" and svg.title.get_text()
    # Inline SVG only: nothing the CSP (no inline script or style) would block.
    assert not page.select(".totp-qr script, .totp-qr [style], .totp-qr style")
    assert not page.select(".totp-qr img")
    uri = page.select_one(".ics-url").get_text()
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    assert "issuer=Portail%20Famille%20Villebelle-sur-Seine" in uri
    field = page.select_one("input#code")
    assert field["autocomplete"] == "one-time-code" and field["inputmode"] == "numeric"
    assert page.select_one("form#activation-form")["action"] == "/agents/connexion/code"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # The candidate secret is stored encrypted, never in clear.
    row = await PendingLogin.select(PendingLogin.enrol_secret).first()
    assert row["enrol_secret"] and secret not in row["enrol_secret"]
    # The code page sends an enrolling agent back to the enrolment page, and vice versa.
    code_page = await client.get("/agents/connexion/code", follow_redirects=False)
    assert code_page.headers["location"] == "/agents/connexion/activation"


async def test_enrolment_with_the_first_code_opens_the_session(settings, app, client):
    clock.set_now(NOW)
    staff = await factories.make_staff("agent")
    await password_step(client)
    secret = key_on((await client.get("/agents/connexion/activation")).text)
    wrong = await post_code(client, wrong_code(secret))
    assert wrong.status_code == 422
    assert soup(wrong.text).h1.get_text() == "Activer la double authentification"
    assert key_on(wrong.text) == secret  # the same key, already in the app
    assert await StaffTotp.count() == 0
    response = await post_code(client, code_now(secret))
    assert response.status_code == 303 and response.headers["location"] == "/agents/"
    assert cookie_value(response, SESSION)
    row = await StaffTotp.select().first()
    assert row["staff"] == staff.id and row["last_step"] == totp.step_at(NOW)
    assert secret not in row["secret_encrypted"]
    assert mfa.box(settings).open(row["secret_encrypted"], "totp", staff.id) == secret
    # Bound to its account: the same ciphertext on another account does not decrypt.
    assert mfa.box(settings).open(row["secret_encrypted"], "totp", staff.id + 1) is None
    assert (await client.get("/agents/")).status_code == 200
    # The enrolment code cannot be replayed at the next login.
    async with make_client(app) as again:
        assert (await password_step(again)).headers["location"] == "/agents/connexion/code"
        assert (await post_code(again, code_now(secret))).status_code == 422


async def test_create_admin_makes_no_bypass_the_admin_enrols_at_first_login(settings, client):
    await create_admin(settings, "admin", "Admin", "une longue phrase secrète du matin")
    response = await password_step(client, "admin", "une longue phrase secrète du matin")
    assert response.headers["location"] == "/agents/connexion/activation"
    assert await AuthSession.count() == 0 and await StaffTotp.count() == 0


# ---------------------------------------------------------------- htmx and no JavaScript


async def test_code_page_fragment_and_htmx_posts(settings, client):
    clock.set_now(NOW)
    await enrolled_staff(settings)
    await password_step(client)
    fragment = await client.get("/agents/connexion/code", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.headers["vary"] == "HX-Request"
    assert soup(fragment.text).select_one("form#code-form")
    hx = {"HX-Request": "true"}
    wrong = await post_code(client, wrong_code(), headers=hx)
    assert wrong.status_code == 422 and "<html" not in wrong.text
    assert soup(wrong.text).title.get_text().startswith("Erreur : ")
    assert soup(wrong.text).select_one(".error-summary[autofocus]")
    right = await post_code(client, code_now(), headers=hx)
    assert right.status_code == 200 and right.headers["hx-redirect"] == "/agents/"
    assert cookie_value(right, SESSION)
    assert (await client.get("/agents/")).status_code == 200


async def test_activation_fragment_and_expired_step_under_htmx(client):
    clock.set_now(NOW)
    await factories.make_staff("agent")
    await password_step(client)
    fragment = await client.get("/agents/connexion/activation", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and soup(fragment.text).select_one("form#activation-form")
    clock.set_now(NOW + dt.timedelta(minutes=6))
    expired = await post_code(client, "123456", headers={"HX-Request": "true"})
    assert expired.headers["hx-redirect"] == "/agents/connexion"


async def test_code_form_refuses_a_missing_csrf_token(settings, client):
    await enrolled_staff(settings)
    await password_step(client)
    response = await post_code(client, code_now(), csrf=False)
    assert response.status_code == 403
    assert await AuthSession.count() == 0 and await PendingLogin.count() == 1


# ---------------------------------------------------------------- A6 still holds


def _normalise(html: str) -> str:
    return re.sub(r'name="_csrf_token" value="[^"]+"', "", html)


def _shape(response, drop: str = "") -> tuple:
    headers = {
        k: v
        for k, v in response.headers.items()
        if k not in ("set-cookie", "content-length", "ratelimit-remaining", "ratelimit-reset")
    }
    return response.status_code, headers, _normalise(response.text).replace(drop, "")


async def test_the_password_step_answers_the_same_for_unknown_wrong_locked_disabled(app, settings):
    await enrolled_staff(settings, "zz-agent")
    await factories.make_staff("zz-absent", active=False)
    await factories.make_staff("zz-bloque", locked_until=clock.now() + dt.timedelta(minutes=30))
    answers = []
    for i, (username, password) in enumerate(
        [
            ("zz-inconnu", "demo-agent-sej-2026"),
            ("zz-agent", "mauvais-mot-de-passe"),
            ("zz-bloque", "demo-agent-sej-2026"),
            ("zz-absent", "demo-agent-sej-2026"),
        ]
    ):
        async with make_client(app, f"10.9.0.{i}") as c:
            answers.append(_shape(await password_step(c, username, password), username))
    assert answers[0][0] == 422
    assert all(answer == answers[0] for answer in answers[1:])
    assert await PendingLogin.count() == 0


async def test_wrong_replayed_and_locked_codes_get_the_same_answer(settings, app):
    clock.set_now(NOW)
    staff = await enrolled_staff(settings)
    answers = []
    async with make_client(app, "10.8.0.1") as c:
        await password_step(c)
        answers.append(_shape(await post_code(c, wrong_code())))
        await post_code(c, code_now())
    async with make_client(app, "10.8.0.2") as c:
        await password_step(c)
        answers.append(_shape(await post_code(c, code_now())))  # replayed
        await StaffUser.update(
            {StaffUser.locked_until: clock.now() + dt.timedelta(minutes=9)}
        ).where(StaffUser.id == staff.id)
        answers.append(_shape(await post_code(c, code_now(offset=1))))  # right, but locked
    assert answers[0][0] == 422
    assert all(answer == answers[0] for answer in answers[1:])
