"""The login queue (« file d'attente »): saturated password checks answer a light page that
keeps the family's place and reloads itself, without JavaScript, until its turn."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

from ecp import clock
from ecp.auth import queue
from ecp.auth.passwords import Passwords, Saturated
from ecp.families.tables import Family
from tests import factories
from tests.conftest import make_client
from tests.support import post_form, soup

NOW = dt.datetime(2026, 12, 7, 8, 30, tzinfo=clock.PARIS)
PASSWORD = "demo-famille-1"


def _saturate(monkeypatch, app, wait: float = 12.0) -> None:
    """The process's password checks are queued `wait` seconds deep; a new ticket is due then."""
    monkeypatch.setattr(app.state.passwords, "estimated_wait", lambda: wait)
    monkeypatch.setattr(app.state.passwords, "queue_wait", lambda: wait)


def _refresh(response) -> tuple[int, str]:
    """The Refresh header a browser follows: seconds and where to."""
    seconds, _, url = response.headers["refresh"].partition("; url=")
    assert url == soup(response.text).find("a", string="Actualiser maintenant")["href"]
    return int(seconds), url


async def _login(client, ticket: str | None = None):
    data = {"code_famille": "F00001", "mot_de_passe": PASSWORD}
    if ticket:
        data["ticket"] = ticket
    return await post_form(client, "/connexion", data)


async def test_a_saturated_login_gets_the_queue_page_without_any_hash(app, client, monkeypatch):
    await factories.make_family("F00001", password=PASSWORD)
    clock.set_now(NOW)
    _saturate(monkeypatch, app)
    calls = []
    monkeypatch.setattr(app.state.passwords, "_verify", lambda *a: calls.append(a) or True)

    response = await _login(client)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = soup(response.text)
    assert page.h1.get_text() == "File d’attente"
    assert page.title.get_text().startswith("File d’attente – ")
    status = page.find(id="queue-status")
    assert status["role"] == "status" and "12 secondes environ" in status.get_text()
    seconds, url = _refresh(response)
    assert seconds == 12 and url.startswith("/connexion/attente?ticket=")
    assert page.find("a", string="Actualiser maintenant")["href"] == url
    # No script, no inline style: the strict CSP stays, and the Refresh header is not its
    # business; no <meta http-equiv="refresh"> either (a time limit for axe).
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert not page.find("script", src=False)
    assert not page.find("meta", attrs={"http-equiv": "refresh"})
    assert calls == [] and "ecp_session" not in response.headers.get("set-cookie", "")
    assert await Family.count().where(Family.last_login_at.is_null()) == 1


async def test_the_page_reloads_itself_until_its_turn_then_the_ticket_logs_in_first(
    app, client, monkeypatch
):
    await factories.make_family("F00001", password=PASSWORD)
    clock.set_now(NOW)
    _saturate(monkeypatch, app)
    _seconds, url = _refresh(await _login(client))

    clock.set_now(NOW + dt.timedelta(seconds=5))
    waiting = await client.get(url)
    assert waiting.status_code == 200 and "7 secondes environ" in waiting.text
    assert waiting.headers["content-type"] == "text/html; charset=utf-8"
    assert _refresh(waiting) == (7, url)  # the same ticket: the place is kept

    # Posting again before the turn (the back button, a second tab) keeps the same place.
    again = await _login(client, parse_qs(urlsplit(url).query)["ticket"][0])
    assert _refresh(again)[1] == url

    clock.set_now(NOW + dt.timedelta(seconds=12))
    turn = await client.get(url)
    assert turn.status_code == 200
    page = soup(turn.text)
    assert "C’est votre tour" in page.find(id="queue-turn").get_text()
    assert page.find(id="queue-turn")["role"] == "status"
    ticket = page.find("input", attrs={"name": "ticket"})["value"]
    assert ticket == parse_qs(urlsplit(url).query)["ticket"][0]
    assert "refresh" not in turn.headers

    # Still saturated: the ticket's login is checked all the same, ahead of new arrivals.
    response = await _login(client, ticket)
    assert response.status_code == 303 and response.headers["location"] == "/famille/"
    assert await Family.count().where(Family.last_login_at.is_null()) == 0
    async with make_client(app, "203.0.113.5") as newcomer:
        assert _refresh(await _login(newcomer))[0] == 12


async def test_a_wrong_password_with_a_due_ticket_is_refused_as_usual(app, client, monkeypatch):
    await factories.make_family("F00001", password=PASSWORD)
    clock.set_now(NOW)
    ticket = queue.issue(app.state.settings.secret_key, "family", 0)
    _saturate(monkeypatch, app)
    response = await post_form(
        client,
        "/connexion",
        {"code_famille": "F00001", "mot_de_passe": "mauvais-mot-de-passe", "ticket": ticket.value},
    )
    assert response.status_code == 422 and "Code famille ou mot de passe incorrect" in response.text


async def test_forged_expired_and_other_side_tickets_lead_to_the_plain_login(
    app, client, monkeypatch
):
    clock.set_now(NOW)
    key = app.state.settings.secret_key
    good = queue.issue(key, "family", 0).value
    forged = good[:-1] + ("0" if good[-1] != "0" else "1")
    for value in (forged, "family.1.x.y", "", "a" * 500):
        response = await client.get(f"/connexion/attente?ticket={value}")
        assert response.status_code == 303 and response.headers["location"] == "/connexion"
    clock.set_now(NOW + queue.VALID_AFTER_TURN + dt.timedelta(seconds=1))
    response = await client.get(f"/connexion/attente?ticket={good}")
    assert response.status_code == 303
    # A staff ticket gives no priority to a family login.
    clock.set_now(NOW)
    await factories.make_family("F00001", password=PASSWORD)
    _saturate(monkeypatch, app)
    staff_ticket = queue.issue(key, "staff", 0).value
    response = await _login(client, staff_ticket)
    assert response.status_code == 200 and "File d’attente" in response.text


async def test_the_staff_login_queues_the_same_way(app, client, monkeypatch):
    await factories.make_staff("agent")
    clock.set_now(NOW)
    _saturate(monkeypatch, app, wait=4.2)
    response = await post_form(
        client,
        "/agents/connexion",
        {"identifiant": "agent", "mot_de_passe": "demo-agent-sej-2026"},
        from_page="/agents/connexion",
    )
    seconds, url = _refresh(response)
    assert seconds == 5 and "next=%2Fagents%2F" in url
    clock.set_now(NOW + dt.timedelta(seconds=5))
    turn = await client.get(url)
    assert soup(turn.text).h1.get_text() == "Espace agents : connexion"
    assert soup(turn.text).find("input", attrs={"name": "ticket"})


# --------------------------------------------------------------------------- units


def test_tickets_are_signed_and_bounded_in_time():
    clock.set_now(NOW)
    ticket = queue.issue("secret", "family", 30)
    assert ticket.seconds_left() == 30 and not ticket.is_due()
    assert queue.read("secret", ticket.value) == ticket
    assert queue.read("another secret", ticket.value) is None
    assert queue.read("secret", ticket.value.replace("family", "staff", 1)) is None
    assert queue.read("secret", queue.issue("secret", "family", 2 * 3600).value) is None
    assert queue.issue("secret", "family", 0.2).refresh_seconds() == queue.REFRESH_MIN
    assert queue.issue("secret", "family", 300).refresh_seconds() == queue.REFRESH_MAX
    clock.set_now(NOW + dt.timedelta(seconds=30))
    assert queue.read("secret", ticket.value).is_due()
    assert re.fullmatch(r"family\.\d+\.[\w-]+\.[0-9a-f]{32}", ticket.value)


def test_admission_follows_the_queue_depth_and_lets_a_due_ticket_through():
    passwords = Passwords("test", concurrency=2, max_wait=3.0)
    passwords.hash_seconds = 0.5
    assert passwords.estimated_wait() == 0.5
    passwords._pending = 11  # twelve with the new one: six rounds of two
    assert passwords.estimated_wait() == 3.0
    passwords.admit()
    passwords._pending = 12
    try:
        passwords.admit()
    except Saturated as exc:
        assert exc.wait == 3.5
    else:
        raise AssertionError("a login over the bound was admitted")
    passwords.admit(priority=True)  # a due ticket: up to four times the bound
    passwords._pending = 47  # 24 rounds of 0.5 s: 12 s
    passwords.admit(priority=True)
    passwords._pending = 48
    try:
        passwords.admit(priority=True)
    except Saturated:
        pass
    else:
        raise AssertionError("the hashing queue grew without bound")
    Passwords("test", max_wait=None).admit()  # no bound: never the queue


async def test_an_admitted_login_counts_in_the_queue_before_it_reaches_the_hash():
    """A burst of logins all still reading their accounts must not all see an empty queue."""
    passwords = Passwords("test", concurrency=1, max_wait=1.0)
    passwords.hash_seconds = 0.4
    with passwords.admission():
        with passwords.admission():  # two ahead: a third would wait 1.2 s
            try:
                with passwords.admission():
                    raise AssertionError("admitted over the bound")
            except Saturated as exc:
                assert round(exc.wait, 1) == 1.2
            with passwords.admission(priority=True):
                assert passwords._pending == 3
                # The admitted login's own check is not counted twice.
                assert await passwords.verify(passwords.dummy_hash, "x") is False
                assert passwords._pending == 3
    assert passwords._pending == 0
    assert await passwords.verify(None, "x") is False and passwords._pending == 0


def test_queue_tickets_fall_due_one_hashing_slot_after_the_other():
    """Families queued one after the other come back in that order, spaced by what the
    hashing can take, instead of all at the same moment."""
    passwords = Passwords("test", concurrency=2, max_wait=1.0)
    passwords.hash_seconds = 0.5
    passwords._pending = 7  # a new check would be done in 2 s
    waits = [passwords.queue_wait() for _ in range(4)]
    assert abs(waits[0] - 2.25) < 0.01  # the queue, then its own slot (0.5 s over two)
    steps = [b - a for a, b in zip(waits, waits[1:])]
    assert all(abs(step - 0.25) < 0.01 for step in steps), steps
