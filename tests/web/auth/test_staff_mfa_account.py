"""Staff two-factor authentication beyond the login: the facultative mode (the demo), the
staff's own account page (enrol, change of phone), an administrator's audited reset, and the
ECP_STAFF_MFA setting."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ecp import clock
from ecp.app import create_app
from ecp.audit.tables import AuditLog
from ecp.auth import mfa
from ecp.auth.tables import AuthSession, StaffTotp, StaffUser
from ecp.settings import Settings
from tests import factories
from tests.conftest import make_client
from tests.support import csrf_from, error_summary_links, login_staff, post_form, soup
from tests.web.auth.mfa_support import (
    SECRET,
    code_now,
    enrolled_staff,
    key_on,
    password_step,
    post_code,
    wrong_code,
)

NOW = dt.datetime(2026, 11, 30, 9, 0, 10, tzinfo=clock.PARIS)
SETUP = "/agents/compte/double-authentification"


@pytest.fixture
def facultative(settings):
    return create_app(settings.with_(staff_mfa="facultative"))


# ---------------------------------------------------------------- the setting


def test_the_setting_defaults_to_obligatoire_and_refuses_typos():
    assert Settings().staff_mfa == "obligatoire" and Settings().staff_mfa_required
    assert Settings.from_env({}).staff_mfa == "obligatoire"
    assert Settings.from_env({"ECP_STAFF_MFA": "Facultative "}).staff_mfa == "facultative"
    assert not Settings.from_env({"ECP_STAFF_MFA": "facultative"}).staff_mfa_required
    with pytest.raises(ValueError, match="ECP_STAFF_MFA"):
        Settings.from_env({"ECP_STAFF_MFA": "facultatif"})


def test_production_refuses_the_facultative_mode():
    good = dict(
        environment="production",
        secret_key="x" * 48,
        base_url="https://portail.example.fr",
        payment_simulator=True,
    )
    problems = " ".join(Settings(**good, staff_mfa="facultative").production_problems())
    assert "ECP_STAFF_MFA=obligatoire" in problems
    assert "ECP_STAFF_MFA" not in " ".join(Settings(**good).production_problems())


# ---------------------------------------------------------------- facultative (the demo)


async def test_facultative_lets_a_password_in_and_offers_enrolment(facultative):
    await factories.make_staff("agent")
    async with make_client(facultative) as c:
        response = await password_step(c)
        assert response.status_code == 303 and response.headers["location"] == "/agents/"
        home = await c.get("/agents/")
        assert "activez la double authentification" in home.text
        account = await c.get("/agents/compte")
        assert "Non activée." in soup(account.text).select_one("#mfa").get_text()


async def test_facultative_still_asks_the_code_of_an_enrolled_agent(settings, facultative):
    clock.set_now(NOW)
    await enrolled_staff(settings)
    async with make_client(facultative) as c:
        response = await password_step(c)
        assert response.headers["location"] == "/agents/connexion/code"
        assert await AuthSession.count() == 0
        assert (await post_code(c, wrong_code())).status_code == 422
        assert (await post_code(c, code_now())).status_code == 303


# ---------------------------------------------------------------- the account page


async def test_account_page_page_and_fragment_and_nav_link(settings, client):
    await enrolled_staff(settings, display_name="Agent Martin", role="agent")
    await login_staff(client)
    page = await client.get("/agents/compte")
    assert page.status_code == 200
    html = soup(page.text)
    assert html.h1.get_text() == "Mon compte"
    assert html.select_one('nav a[href="/agents/compte"][aria-current=page]').get_text() == (
        "Mon compte"
    )
    assert "Agent Martin" in page.text
    section = html.select_one("#mfa").get_text()
    assert "Double authentification" in section and "Activée" in section
    assert html.select_one(f'#mfa a[href="{SETUP}"]')
    fragment = await client.get("/agents/compte", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="staff-account"' in fragment.text
    assert fragment.headers["vary"] == "HX-Request"


async def test_account_pages_need_a_staff_session(client):
    for path in ("/agents/compte", SETUP):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 303 and "/agents/connexion" in response.headers["location"]


async def _setup_page(client):
    page = await client.get(SETUP)
    assert page.status_code == 200
    html = soup(page.text)
    return html.select_one("input[name=cle]")["value"], key_on(page.text), csrf_from(page.text)


async def test_an_agent_enrols_from_the_account_page_in_facultative_mode(facultative):
    clock.set_now(NOW)
    staff = await factories.make_staff("agent")
    async with make_client(facultative) as c:
        await password_step(c)
        page = await c.get(SETUP)
        assert soup(page.text).h1.get_text() == "Activer la double authentification"
        candidate, secret, token = await _setup_page(c)
        assert secret not in candidate
        assert await StaffTotp.count() == 0  # showing a key writes nothing
        response = await c.post(
            SETUP,
            data={
                "_csrf_token": token,
                "cle": candidate,
                "mot_de_passe_actuel": "demo-agent-sej-2026",
                "code": code_now(secret),
            },
            follow_redirects=False,
        )
        assert response.status_code == 303 and response.headers["location"] == "/agents/compte"
        follow = await c.get("/agents/compte")
        assert "La double authentification est activée" in follow.text
        assert "Activée" in soup(follow.text).select_one("#mfa").get_text()
        row = await StaffTotp.select().first()
        assert (
            mfa.box(facultative.state.settings).open(row["secret_encrypted"], "totp", staff.id)
            == secret
        )
    # From now on the code is asked at every login, in the facultative mode too.
    async with make_client(facultative) as c:
        assert (await password_step(c)).headers["location"] == "/agents/connexion/code"
        assert (await post_code(c, code_now(secret))).status_code == 422  # used at enrolment
        assert (await post_code(c, code_now(secret, offset=1))).status_code == 303


async def test_changing_phone_needs_the_password_and_a_code_of_the_new_key(
    settings, client, other_client
):
    clock.set_now(NOW)
    staff = await enrolled_staff(settings)
    await login_staff(client)
    await login_staff(other_client)
    page = await client.get(SETUP)
    assert soup(page.text).h1.get_text() == "Changer d’application d’authentification"
    candidate, secret, token = await _setup_page(client)
    assert secret != SECRET
    base = {"_csrf_token": token, "cle": candidate}
    empty = await client.post(SETUP, data=base)
    assert empty.status_code == 422
    assert error_summary_links(empty.text) == ["#mot_de_passe_actuel", "#code"]
    assert soup(empty.text).title.get_text().startswith("Erreur : ")
    assert key_on(empty.text) == secret  # same key: it may already be in the app
    wrong_password = await client.post(
        SETUP, data={**base, "code": code_now(secret), "mot_de_passe_actuel": "pas-le-bon-mot"}
    )
    assert wrong_password.status_code == 422
    assert "Le mot de passe actuel est incorrect." in wrong_password.text
    old_key = await client.post(
        SETUP,
        data={
            **base,
            "code": code_now(SECRET, offset=1),
            "mot_de_passe_actuel": "demo-agent-sej-2026",
        },
    )
    assert old_key.status_code == 422 and "Code incorrect" in old_key.text
    row = await StaffUser.select(StaffUser.failed_logins).first()
    assert row["failed_logins"] == 2  # guesses here cost the back-off too
    assert (
        mfa.box(settings).open(
            (await StaffTotp.select().first())["secret_encrypted"], "totp", staff.id
        )
        == SECRET
    )
    done = await client.post(
        SETUP,
        data={**base, "code": code_now(secret), "mot_de_passe_actuel": "demo-agent-sej-2026"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert (
        mfa.box(settings).open(
            (await StaffTotp.select().first())["secret_encrypted"], "totp", staff.id
        )
        == secret
    )
    assert (await StaffUser.select(StaffUser.failed_logins).first())["failed_logins"] == 0
    assert (await client.get("/agents/")).status_code == 200
    assert (await other_client.get("/agents/", follow_redirects=False)).status_code == 303


async def test_an_expired_or_forged_key_is_replaced_by_a_new_one(settings, client):
    clock.set_now(NOW)
    await enrolled_staff(settings)
    await login_staff(client)
    candidate, secret, token = await _setup_page(client)
    clock.set_now(NOW + dt.timedelta(minutes=16))
    data = {
        "_csrf_token": token,
        "cle": candidate,
        "code": code_now(secret),
        "mot_de_passe_actuel": "demo-agent-sej-2026",
    }
    expired = await client.post(SETUP, data=data)
    assert expired.status_code == 422 and "La clé proposée a expiré" in expired.text
    assert key_on(expired.text) != secret
    forged = await client.post(SETUP, data={**data, "cle": candidate[:-4] + "AAAA"})
    assert forged.status_code == 422 and "La clé proposée a expiré" in forged.text
    assert (
        mfa.box(settings).open(
            (await StaffTotp.select().first())["secret_encrypted"],
            "totp",
            (await StaffUser.select().first())["id"],
        )
        == SECRET
    )


async def test_another_agents_key_cannot_be_used(settings, app, client):
    clock.set_now(NOW)
    await enrolled_staff(settings, "agent")
    await enrolled_staff(settings, "autre", secret="KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU")
    await login_staff(client)
    candidate, secret, token = await _setup_page(client)
    async with make_client(app, "127.0.0.9") as other:
        await login_staff(other, "autre")
        page = await other.get(SETUP)
        response = await other.post(
            SETUP,
            data={
                "_csrf_token": csrf_from(page.text),
                "cle": candidate,
                "code": code_now(secret),
                "mot_de_passe_actuel": "demo-agent-sej-2026",
            },
        )
        assert response.status_code == 422 and "La clé proposée a expiré" in response.text


async def test_setup_page_fragment_htmx_post_and_csrf(settings, client):
    clock.set_now(NOW)
    await enrolled_staff(settings)
    await login_staff(client)
    fragment = await client.get(SETUP, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and soup(fragment.text).select_one("form#mfa-setup-form")
    candidate, secret, token = await _setup_page(client)
    data = {
        "cle": candidate,
        "code": code_now(secret),
        "mot_de_passe_actuel": "demo-agent-sej-2026",
    }
    assert (await client.post(SETUP, data=data)).status_code == 403
    bad = await client.post(
        SETUP, data={**data, "_csrf_token": token, "code": "12"}, headers={"HX-Request": "true"}
    )
    assert bad.status_code == 422 and "<html" not in bad.text
    assert "Le code comporte 6 chiffres" in bad.text
    good = await client.post(
        SETUP, data={**data, "_csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert good.status_code == 200 and good.headers["hx-redirect"] == "/agents/compte"


# ---------------------------------------------------------------- an administrator's reset


async def _admin_and_member(settings, admin_client, member_client):
    clock.set_now(NOW)
    await enrolled_staff(
        settings,
        "admin",
        secret="GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        role="administrateur",
        display_name="Admin Test",
    )
    member = await enrolled_staff(settings, "membre", role="agent", display_name="Léo Membre")
    await login_staff(admin_client, "admin")
    await login_staff(member_client, "membre")
    return member


async def test_an_administrator_resets_a_members_authenticator_audited(
    settings, client, other_client, app
):
    member = await _admin_and_member(settings, client, other_client)
    page = await client.get(f"/agents/parametres/agents/{member.id}")
    section = soup(page.text).select_one("#staff-mfa")
    assert "Activée" in section.get_text()
    form = section.select_one("form")
    assert form["action"] == f"/agents/parametres/agents/{member.id}/double-authentification"
    response = await post_form(
        client, form["action"], {}, from_page=f"/agents/parametres/agents/{member.id}"
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/agents/parametres/agents/{member.id}"
    follow = await client.get(response.headers["location"])
    assert "est réinitialisée" in follow.text
    assert "Non activée" in soup(follow.text).select_one("#staff-mfa").get_text()
    assert await StaffTotp.count().where(StaffTotp.staff == member.id) == 0
    assert await AuthSession.count().where(AuthSession.staff == member.id) == 0
    assert (await other_client.get("/agents/", follow_redirects=False)).status_code == 303
    entry = await AuditLog.select().where(AuditLog.action == "staff_account_changed").first()
    assert entry["target"] == "agent membre" and entry["actor"] == "Admin Test"
    details = entry["details"]
    details = details if isinstance(details, dict) else json.loads(details)
    assert details == {"double_authentification": "réinitialisée"}
    # The member enrols again at the next login.
    async with make_client(app, "127.0.0.7") as c:
        assert (await password_step(c, "membre")).headers["location"] == (
            "/agents/connexion/activation"
        )


async def test_reset_under_htmx_self_unknown_and_non_admin(settings, client, other_client):
    member = await _admin_and_member(settings, client, other_client)
    admin = await StaffUser.select(StaffUser.id).where(StaffUser.username == "admin").first()
    reset = "/agents/parametres/agents/{}/double-authentification"
    own = await post_form(client, reset.format(admin["id"]), {}, from_page="/agents/")
    assert own.status_code == 303
    assert "Pour votre propre compte" in (await client.get(own.headers["location"])).text
    assert await StaffTotp.count() == 2
    page = soup((await client.get(f"/agents/parametres/agents/{admin['id']}")).text)
    assert not page.select("#staff-mfa form")
    missing = await post_form(
        client, "/agents/parametres/agents/9999/double-authentification", {}, from_page="/agents/"
    )
    assert missing.status_code == 404
    refused = await post_form(other_client, reset.format(admin["id"]), {}, from_page="/agents/")
    assert refused.status_code == 403
    no_token = await client.post(reset.format(member.id))
    assert no_token.status_code == 403
    hx = await post_form(
        client, reset.format(member.id), {}, from_page="/agents/", headers={"HX-Request": "true"}
    )
    assert hx.status_code == 200
    assert hx.headers["hx-redirect"] == f"/agents/parametres/agents/{member.id}"
    again = await post_form(client, reset.format(member.id), {}, from_page="/agents/")
    assert (
        "n’a pas de double authentification" in (await client.get(again.headers["location"])).text
    )
    assert await AuditLog.count().where(AuditLog.action == "staff_account_changed") == 1
