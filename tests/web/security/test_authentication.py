"""SECURITY.md A1, A4, A5, A6, A8, A9: login behaviour seen from outside."""

from __future__ import annotations

import datetime as dt
import re

from argon2 import PasswordHasher, extract_parameters
from argon2.profiles import CHEAPEST, PRE_21_2

from ecp import clock
from ecp.auth.admin import create_admin
from ecp.families.tables import Family
from ecp.staff.tables import StaffUser
from tests import factories
from tests.conftest import make_client
from tests.support import csrf_token, post_form, soup

LONG = "le chat de la voisine dort sur le toit chaque après-midi quand il pleut, é ü 😀 !"


async def _login(client, code, password):
    return await post_form(client, "/connexion", {"code_famille": code, "mot_de_passe": password})


async def test_only_the_exact_password_logs_in(app, client):
    await factories.make_family("F00001", password=LONG)
    assert len(LONG) > 72
    for i, variant in enumerate((LONG.upper(), LONG + " ", " " + LONG, LONG[:-1], LONG[:64])):
        # One address per variant keeps the back-off (tested below) out of this test.
        async with make_client(app, f"10.3.0.{i}") as c:
            response = await _login(c, "F00001", variant)
            assert response.status_code == 422, variant
    response = await _login(client, "F00001", LONG)
    assert response.status_code == 303


async def test_the_code_famille_is_case_insensitive_but_the_password_is_not(client):
    await factories.make_family("F00001", password="demo-famille-1")
    assert (await _login(client, "f00001", "demo-famille-1")).status_code == 303


async def test_login_form_allows_password_managers_and_pasting(client):
    page = soup((await client.get("/")).text)
    password = page.select_one("#mot_de_passe")
    assert password["type"] == "password"
    assert password.get("autocomplete") == "current-password"
    assert page.select_one("#code_famille").get("autocomplete") == "username"
    for field in page.select("input"):
        assert not field.get("onpaste")
        assert not field.get("maxlength") or int(field["maxlength"]) >= 64
    staff = soup((await client.get("/agents/connexion")).text)
    assert staff.select_one("#identifiant")["autocomplete"] == "username"
    assert staff.select_one("#mot_de_passe")["autocomplete"] == "current-password"


async def test_old_hash_parameters_are_upgraded_at_login(client):
    old = PasswordHasher.from_parameters(PRE_21_2).hash("demo-famille-1")
    family = await factories.make_family("F00001")
    await Family.update({Family.password_hash: old}).where(Family.id == family.id)
    assert (await _login(client, "F00001", "demo-famille-1")).status_code == 303
    stored = await Family.select(Family.password_hash).where(Family.id == family.id).first()
    assert stored["password_hash"] != old
    assert extract_parameters(stored["password_hash"]) == CHEAPEST  # the app's (test) profile


class VerifySpy:
    def __init__(self, real):
        self.real, self.calls = real, 0

    def verify(self, stored, password):
        self.calls += 1
        return self.real.verify(stored, password)

    def __getattr__(self, name):
        return getattr(self.real, name)


def _normalise(html: str) -> str:
    return re.sub(r'name="_csrf_token" value="[^"]+"', "", html)


async def test_unknown_wrong_locked_and_disabled_accounts_get_the_same_answer(app, client):
    await factories.make_family("F00001")
    await factories.make_family("F00003", active=False)
    locked = await factories.make_family("F00004")
    await Family.update({Family.locked_until: clock.now() + dt.timedelta(minutes=30)}).where(
        Family.id == locked.id)
    spy = VerifySpy(app.state.passwords.hasher)
    app.state.passwords.hasher = spy
    answers = []
    for code, password in [("F99999", "demo-famille-1"), ("F00001", "mauvais-mot-de-passe"),
                           ("F00004", "demo-famille-1"), ("F00003", "demo-famille-1")]:
        before = spy.calls
        response = await _login(client, code, password)
        assert spy.calls - before == 1, code  # one Argon2 verify on every path
        headers = {k: v for k, v in response.headers.items()
                   if k not in ("set-cookie", "content-length", "ratelimit-remaining", "ratelimit-reset")}
        answers.append((response.status_code, headers, _normalise(response.text).replace(code, "")))
    assert all(answer == answers[0] for answer in answers[1:])
    assert answers[0][0] == 422


async def test_repeated_failures_lock_the_account_whatever_the_address_then_the_lock_lifts(app):
    await factories.make_family("F00001")
    start = dt.datetime(2026, 11, 30, 10, 0, tzinfo=clock.PARIS)
    clock.set_now(start)
    for i in range(20):
        async with make_client(app, f"10.0.{i}.1") as c:
            response = await _login(c, "F00001", f"mauvais-essai-{i}")
            assert response.status_code == 422
            assert "Code famille ou mot de passe incorrect." in response.text
    async with make_client(app, "10.1.0.1") as c:
        response = await _login(c, "F00001", "demo-famille-1")
        assert response.status_code == 422  # the right password while locked is refused too
        assert "Code famille ou mot de passe incorrect." in response.text
    clock.set_now(start + dt.timedelta(minutes=61))
    async with make_client(app, "10.1.0.2") as c:
        assert (await _login(c, "F00001", "demo-famille-1")).status_code == 303
    row = await Family.select(Family.failed_logins, Family.locked_until).first()
    assert row["failed_logins"] == 0 and row["locked_until"] is None


async def test_a_fresh_database_has_no_account_until_an_admin_is_created(settings):
    assert await StaffUser.count() == 0 and await Family.count() == 0
    try:
        await create_admin(settings, "admin", "Admin", "court")
        raise AssertionError("a short password was accepted")
    except ValueError as exc:
        assert "15 caractères" in str(exc)
    await create_admin(settings, "admin", "Admin", "une longue phrase secrète du matin")
    row = await StaffUser.select().first()
    assert row["username"] == "admin" and row["role"] == "administrateur"


async def test_demo_passwords_do_not_work_without_the_demo(client):
    for code, password in [("F00001", "demo-famille-1"), ("F00002", "demo-famille-2")]:
        assert (await _login(client, code, password)).status_code == 422
    response = await post_form(client, "/agents/connexion",
                               {"identifiant": "agent", "mot_de_passe": "demo-agent-sej-2026"},
                               from_page="/agents/connexion")
    assert response.status_code == 422
    assert await csrf_token(client)
