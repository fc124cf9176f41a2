"""An agent changes their own password from « Mon compte »: the staff password policy, the
other sessions closed, this one rotated, the journal, and the same throttle as the login."""

from __future__ import annotations

import datetime as dt
import logging

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.auth.tables import AuthSession, StaffUser
from tests.conftest import make_client
from tests.support import csrf_from, error_summary_links, login_staff, post_form, soup
from tests.web.auth.mfa_support import PASSWORD, SESSION, enrolled_staff, password_step
from tests.web.auth.throttle_support import VerifySpy, login_events

PATH = "/agents/compte/mot-de-passe"
NEW = "la pendule du salon avance de dix minutes"
NOW = dt.datetime(2026, 11, 30, 9, 0, 10, tzinfo=clock.PARIS)


async def _change(client, current=PASSWORD, new=NEW, confirmation=None, **kw):
    return await post_form(
        client,
        PATH,
        {
            "mot_de_passe_actuel": current,
            "nouveau_mot_de_passe": new,
            "confirmation": new if confirmation is None else confirmation,
        },
        from_page="/agents/compte",
        **kw,
    )


async def _hash() -> str:
    return (await StaffUser.select(StaffUser.password_hash).first())["password_hash"]


async def test_the_account_page_has_the_form_and_its_url_answers_as_page_and_fragment(
    settings, client
):
    await enrolled_staff(settings)
    await login_staff(client)
    page = soup((await client.get("/agents/compte")).text)
    form = page.select_one("#mot-de-passe form#staff-password-form")
    assert form["action"] == PATH and form["hx-post"] == PATH and form.has_attr("novalidate")
    assert page.select_one("#mot_de_passe_actuel")["autocomplete"] == "current-password"
    assert page.select_one("#nouveau_mot_de_passe")["autocomplete"] == "new-password"
    assert page.select_one("#confirmation")["autocomplete"] == "new-password"
    assert "15 caractères au moins" in page.select_one("#nouveau_mot_de_passe-hint").get_text()
    assert "adressez-vous à un administrateur" in page.text  # for the name and the role only
    assert "de mot de passe, adressez-vous" not in page.text
    full = await client.get(PATH)
    assert full.status_code == 200 and soup(full.text).h1.get_text() == "Mon compte"
    fragment = await client.get(PATH, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert soup(fragment.text).select_one("form")["id"] == "staff-password-form"
    assert fragment.headers["vary"] == "HX-Request"


async def test_the_form_needs_a_staff_session(client):
    response = await client.get(PATH, follow_redirects=False)
    assert response.status_code == 303 and "/agents/connexion" in response.headers["location"]


async def test_a_change_closes_the_other_sessions_rotates_this_one_and_is_journalled(
    app, settings, client, other_client
):
    staff = await enrolled_staff(settings, display_name="Agent Martin")
    await login_staff(client)
    await login_staff(other_client)
    old_token = client.cookies.get(SESSION)
    response = await _change(client)
    assert response.status_code == 303 and response.headers["location"] == "/agents/compte"
    assert client.cookies.get(SESSION) not in (None, old_token)
    page = await client.get("/agents/compte")
    assert page.status_code == 200
    assert "Votre mot de passe a été changé. Vos autres connexions ont été fermées." in page.text
    assert await AuthSession.count() == 1
    assert (await other_client.get("/agents/", follow_redirects=False)).status_code == 303
    # The old token opens nothing any more.
    async with make_client(app) as replay:
        replay.cookies.set(SESSION, old_token)
        assert (await replay.get("/agents/", follow_redirects=False)).status_code == 303
    entry = await AuditLog.select().where(AuditLog.action == "staff_password_changed").first()
    assert entry["staff"] == staff.id and entry["actor"] == "Agent Martin"
    journal = await client.get("/agents/journal")
    assert "Mot de passe modifié" in journal.text
    # The new password logs in; the old one does not.
    assert (await password_step(other_client, password=PASSWORD)).status_code == 422
    assert (await password_step(other_client, password=NEW)).status_code == 303


async def test_htmx_success_navigates_and_errors_come_back_in_place(settings, client):
    await enrolled_staff(settings)
    await login_staff(client)
    bad = await _change(client, new="trop court", headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "<html" not in bad.text
    html = soup(bad.text)
    assert html.select_one("form")["id"] == "staff-password-form"
    assert html.title.get_text().startswith("Erreur : ")
    assert error_summary_links(bad.text) == ["#nouveau_mot_de_passe"]
    assert "15 caractères" in html.select_one("#nouveau_mot_de_passe-error").get_text()
    good = await _change(client, headers={"HX-Request": "true"})
    assert good.status_code == 200 and good.headers["hx-redirect"] == "/agents/compte"
    assert (await client.get("/agents/compte")).status_code == 200


async def test_bad_input_is_422_with_a_message_by_each_field_and_no_password_shown(
    settings, client
):
    await enrolled_staff(settings)
    await login_staff(client)
    before = await _hash()
    cases = [
        (dict(current=""), ["#mot_de_passe_actuel"]),
        (dict(current="pas-le-bon-mot-de-passe"), ["#mot_de_passe_actuel"]),
        (dict(new=""), ["#nouveau_mot_de_passe"]),
        (dict(new="agent-et-encore-des-mots"), ["#nouveau_mot_de_passe"]),  # the username
        (dict(confirmation="autre chose tout à fait"), ["#confirmation"]),
        (dict(current="", new="court"), ["#mot_de_passe_actuel", "#nouveau_mot_de_passe"]),
    ]
    for fields, links in cases:
        response = await _change(client, **fields)
        assert response.status_code == 422, fields
        assert error_summary_links(response.text) == links, fields
        assert soup(response.text).title.get_text().startswith("Erreur : ")
        assert soup(response.text).h1.get_text() == "Mon compte"  # the no-JS full page
        for secret in (PASSWORD, NEW, "pas-le-bon-mot-de-passe", "autre chose tout à fait"):
            assert secret not in response.text
        assert all(
            not i.has_attr("value") for i in soup(response.text).select("input[type=password]")
        )
    assert await _hash() == before


async def test_without_csrf_the_change_is_refused(settings, client):
    await enrolled_staff(settings)
    await login_staff(client)
    before = await _hash()
    response = await _change(client, csrf=False)
    assert response.status_code == 403
    assert await _hash() == before and await AuditLog.count() == 0


async def test_wrong_current_passwords_share_the_login_back_off_of_this_browser(
    app, settings, client, caplog
):
    caplog.set_level(logging.INFO, logger="ecp.auth")
    clock.set_now(NOW)
    staff = await enrolled_staff(settings)
    await login_staff(client)
    for i in range(5):
        response = await _change(client, current=f"faux-mot-de-passe-{i}")
        assert response.status_code == 422
        assert (
            "Le mot de passe actuel est incorrect."
            in soup(response.text).select_one("#mot_de_passe_actuel-error").get_text()
        )
    assert (await StaffUser.select(StaffUser.failed_logins).first())["failed_logins"] == 5
    spy = VerifySpy(app.state.passwords.hasher)
    app.state.passwords.hasher = spy
    waiting = await _change(client)
    assert waiting.status_code == 422 and spy.calls == 0
    assert (
        "Patientez 1 minute"
        in soup(waiting.text).select_one("#mot_de_passe_actuel-error").get_text()
    )
    # The login from this browser waits as well.
    token = csrf_from((await client.get("/agents/connexion")).text)
    login = await client.post(
        "/agents/connexion",
        data={"_csrf_token": token, "identifiant": "agent", "mot_de_passe": PASSWORD},
    )
    assert login.status_code == 422 and spy.calls == 0
    clock.set_now(NOW + dt.timedelta(minutes=1, seconds=1))
    await login_staff(client)
    assert (await _change(client)).status_code == 303
    outcomes = [e["outcome"] for e in login_events(caplog) if e["account_id"] == staff.id]
    assert outcomes.count("password_change_wrong_current") == 5
    assert "password_change_waiting" in outcomes and outcomes[-1] == "password_changed"
