"""Password change (A1–A3, B5) and 'mes données' (K5)."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from ecp import clock
from ecp.auth.common import _words
from ecp.families.tables import Family
from tests import factories
from tests.accounts_factories import family_with_guardian
from tests.conftest import make_client
from tests.support import error_summary_links, login_family, post_form, soup
from tests.web.auth.throttle_support import VerifySpy, login_events

NEW = "le chat dort sur le piano"


async def _change(client, current="demo-famille-1", new=NEW, confirmation=None, **kw):
    return await post_form(
        client,
        "/famille/mot-de-passe",
        {
            "mot_de_passe_actuel": current,
            "nouveau_mot_de_passe": new,
            "confirmation": new if confirmation is None else confirmation,
        },
        from_page="/famille/mot-de-passe",
        **kw,
    )


async def _hash(family_id):
    return (await Family.select(Family.password_hash).where(Family.id == family_id).first())[
        "password_hash"
    ]


async def test_password_page_and_fragment(client):
    await family_with_guardian()
    await login_family(client)
    page = await client.get("/famille/mot-de-passe")
    assert page.status_code == 200
    s = soup(page.text)
    assert s.select_one("#mot_de_passe_actuel")["autocomplete"] == "current-password"
    assert s.select_one("#nouveau_mot_de_passe")["autocomplete"] == "new-password"
    assert not s.select_one("#nouveau_mot_de_passe").has_attr("maxlength")
    fragment = await client.get("/famille/mot-de-passe", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="password-form"' in fragment.text


async def test_change_ends_the_other_sessions_but_keeps_this_one(client, other_client):
    family, _ = await family_with_guardian()
    await login_family(client)
    await login_family(other_client)
    before = client.cookies.get("__Host-ecp_session")
    response = await _change(client)
    assert response.status_code == 303
    # This browser keeps a session, under a new token (the old one is gone).
    assert client.cookies.get("__Host-ecp_session") != before
    page = await client.get("/famille/coordonnees")
    assert page.status_code == 200
    assert "Votre mot de passe a été changé" in page.text
    assert (await other_client.get("/famille/", follow_redirects=False)).status_code == 303
    await post_form(
        other_client, "/connexion", {"code_famille": "F00001", "mot_de_passe": "demo-famille-1"}
    )
    await login_family(other_client, "F00001", NEW)


@pytest.mark.parametrize("current", ["", "pas-le-bon-mot-de-passe"])
async def test_change_needs_the_current_password(client, current):
    family, _ = await family_with_guardian()
    await login_family(client)
    before = await _hash(family.id)
    response = await _change(client, current=current)
    assert response.status_code == 422
    assert error_summary_links(response.text) == ["#mot_de_passe_actuel"]
    assert await _hash(family.id) == before


@pytest.mark.parametrize(
    "new,ok",
    [
        ("a" * 7, False),
        ("abcdefghijk", False),
        ("zébulon 😀 dort", True),
        (("ma grand-mère fait du vélo le dimanche matin " * 2)[:64], True),
        (("un trombone sur la lune et deux girafes " * 4)[:128], True),
    ],
)
async def test_length_rules_without_composition_rules(client, new, ok):
    family, _ = await family_with_guardian()
    await login_family(client)
    response = await _change(client, new=new)
    assert (response.status_code == 303) is ok, response.text[:300]
    if ok:
        await login_family(client, "F00001", new)


async def test_only_the_exact_new_password_logs_in(client, other_client):
    await family_with_guardian()
    await login_family(client)
    await _change(client, new="Zébulon dort bien ")
    for variant in ("ZÉBULON DORT BIEN ", "Zébulon dort bien", "zébulon dort bien "):
        response = await post_form(
            other_client, "/connexion", {"code_famille": "F00001", "mot_de_passe": variant}
        )
        assert response.status_code == 422, variant
    await login_family(other_client, "F00001", "Zébulon dort bien ")


async def test_common_passwords_and_the_code_are_refused(client):
    family, _ = await family_with_guardian()
    await login_family(client)
    before = await _hash(family.id)
    common = sorted(w for w in _words() if len(w) >= 12)[:25]
    for word in [*common, "F00001-mon-mot-de-passe"]:
        response = await _change(client, new=word)
        assert response.status_code == 422, word
        assert error_summary_links(response.text) == ["#nouveau_mot_de_passe"]
    assert await _hash(family.id) == before


async def test_confirmation_must_match(client):
    await family_with_guardian()
    await login_family(client)
    response = await _change(client, confirmation="autre chose encore")
    assert response.status_code == 422 and error_summary_links(response.text) == ["#confirmation"]


async def test_password_change_without_csrf_is_refused(client):
    family, _ = await family_with_guardian()
    await login_family(client)
    before = await _hash(family.id)
    assert (await _change(client, csrf=False)).status_code == 403
    assert await _hash(family.id) == before


async def test_my_data_has_every_field_about_the_family_and_nothing_about_others(client):
    family, guardian = await family_with_guardian()
    child = await factories.make_child(family, "Léa", health_notes="Allergie aux kiwis")
    other, other_guardian = await family_with_guardian("F00002", name="Diallo")
    await factories.make_child(other, "Awa", health_notes="Asthme")
    await login_family(client)
    response = await client.get("/famille/mes-donnees.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    data = json.loads(response.text)
    assert data["famille"]["code"] == "F00001" and "password_hash" not in data["famille"]
    assert data["responsables"][0]["phone_mobile"] == guardian.phone_mobile
    assert data["enfants"][0]["first_name"] == "Léa"
    assert data["enfants"][0]["health_notes"] == "Allergie aux kiwis"
    fam_columns = {c._meta.name for c in Family._meta.columns} - {"password_hash", "ics_token_hash"}
    assert fam_columns <= set(data["famille"])
    assert (
        "Diallo" not in response.text
        and "Awa" not in response.text
        and "Asthme" not in response.text
    )
    page = await client.get("/famille/mes-donnees")
    assert page.status_code == 200 and "Allergie aux kiwis" in page.text and "Awa" not in page.text
    download = await client.get("/famille/mes-donnees.html")
    assert "attachment" in download.headers["content-disposition"]
    assert "Allergie aux kiwis" in download.text and "Awa" not in download.text
    assert "<script" not in download.text
    fragment = await client.get("/famille/mes-donnees", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="my-data"' in fragment.text
    assert child.id


# ---------------------------------------------------------------- guessing the current password

NOW = dt.datetime(2026, 11, 30, 18, 0, tzinfo=clock.PARIS)


async def _login(client, password="demo-famille-1"):
    return await post_form(
        client, "/connexion", {"code_famille": "F00001", "mot_de_passe": password}
    )


async def test_wrong_current_passwords_put_this_browser_in_back_off_like_failed_logins(
    app, client, caplog
):
    caplog.set_level(logging.INFO, logger="ecp.auth")
    clock.set_now(NOW)
    family, _ = await family_with_guardian()
    await login_family(client)
    before = await _hash(family.id)
    for i in range(5):
        response = await _change(client, current=f"ce-n-est-pas-lui-{i}")
        assert response.status_code == 422
        field = soup(response.text).select_one("#mot_de_passe_actuel-error")
        assert "Le mot de passe actuel est incorrect." in field.get_text()
    # Counted for the account, as failed logins are.
    assert (await Family.select(Family.failed_logins).first())["failed_logins"] == 5
    spy = VerifySpy(app.state.passwords.hasher)
    app.state.passwords.hasher = spy
    # In back-off: even the right current password is not checked (no hash) and the form
    # says how long to wait.
    waiting = await _change(client)
    assert waiting.status_code == 422 and spy.calls == 0
    message = soup(waiting.text).select_one("#mot_de_passe_actuel-error").get_text()
    assert "Patientez 1 minute avant de réessayer." in message
    assert error_summary_links(waiting.text) == ["#mot_de_passe_actuel"]
    assert await _hash(family.id) == before
    # The counter is shared with the login from this browser: it waits too.
    assert (await _login(client)).status_code == 422 and spy.calls == 0
    # Not from the parent's other phone (another address, ecp.auth.throttle rule 1).
    async with make_client(app, "203.0.113.9") as phone:
        assert (await _login(phone)).status_code == 303
    clock.set_now(NOW + dt.timedelta(minutes=1, seconds=1))
    assert (await _change(client)).status_code == 303
    assert await _hash(family.id) != before
    events = login_events(caplog)
    outcomes = [e["outcome"] for e in events if e["kind"] == "family"]
    assert outcomes.count("password_change_wrong_current") == 5
    assert outcomes.count("password_change_waiting") == 1 and "refused" in outcomes
    assert outcomes[-1] == "password_changed"
    assert all(
        e["account_id"] == family.id for e in events if e["outcome"].startswith("password_change")
    )


async def test_the_change_password_form_has_the_login_rate_limit(client):
    await family_with_guardian()
    await login_family(client)
    statuses = [(await _change(client, current=f"faux-{i}")).status_code for i in range(11)]
    assert statuses == [422] * 10 + [429]
    assert "Trop de tentatives" in (await _change(client)).text


async def test_the_wait_grows_with_each_wrong_current_password_after_the_first(app, client):
    """Guessing through a stolen session stays as slow as guessing at the login: 1, 2, 4…"""
    clock.set_now(NOW)
    await family_with_guardian()
    await login_family(client)
    for i in range(5):
        assert (await _change(client, current=f"faux-{i}")).status_code == 422
    moment = NOW
    for minutes in (1, 2, 4, 8):
        waiting = await _change(client)
        text = soup(waiting.text).select_one("#mot_de_passe_actuel-error").get_text()
        expected = "1 minute" if minutes == 1 else f"{minutes} minutes"
        assert f"Patientez {expected} avant de réessayer." in text, (minutes, text)
        moment += dt.timedelta(minutes=minutes, seconds=1)
        clock.set_now(moment)
        assert (await _change(client, current="encore-faux")).status_code == 422
