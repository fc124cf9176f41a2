"""docs/security.md A1, A4, A5, A6, A8, A9: login behaviour seen from outside."""

from __future__ import annotations

import datetime as dt
import re

from argon2 import PasswordHasher, extract_parameters
from argon2.profiles import CHEAPEST, PRE_21_2

from ecp import clock
from ecp.auth.admin import create_admin
from ecp.auth.tables import StaffUser
from ecp.families.tables import Family
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
        Family.id == locked.id
    )
    spy = VerifySpy(app.state.passwords.hasher)
    app.state.passwords.hasher = spy
    answers = []
    for code, password in [
        ("F99999", "demo-famille-1"),
        ("F00001", "mauvais-mot-de-passe"),
        ("F00004", "demo-famille-1"),
        ("F00003", "demo-famille-1"),
    ]:
        before = spy.calls
        response = await _login(client, code, password)
        assert spy.calls - before == 1, code  # one Argon2 verify on every path
        headers = {
            k: v
            for k, v in response.headers.items()
            if k not in ("set-cookie", "content-length", "ratelimit-remaining", "ratelimit-reset")
        }
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
    response = await post_form(
        client,
        "/agents/connexion",
        {"identifiant": "agent", "mot_de_passe": "demo-agent-sej-2026"},
        from_page="/agents/connexion",
    )
    assert response.status_code == 422
    assert await csrf_token(client)


# ---------------------------------------------------------------- the back-off as a weapon
# The back-off belongs to (identifier, client): ecp.auth.throttle explains the rules.

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=clock.PARIS)


def _spy(app) -> VerifySpy:
    spy = VerifySpy(app.state.passwords.hasher)
    app.state.passwords.hasher = spy
    return spy


async def test_an_attacker_elsewhere_does_not_keep_the_parent_out_and_is_slowed_as_before(app):
    await factories.make_family("F00001")
    clock.set_now(NOW)
    spy = _spy(app)
    async with make_client(app, "198.51.100.7") as attacker:
        statuses = [
            (await _login(attacker, "F00001", f"mauvais-essai-{i}")).status_code for i in range(20)
        ]
        # As before: ten unsuccessful attempts a minute from one address, then 429...
        assert statuses == [422] * 10 + [429] * 10
        # ... and five checks before the attacker's lane waits: no hash for the rest.
        assert spy.calls == 5
    async with make_client(app, "198.51.100.7") as attacker:
        clock.set_now(NOW + dt.timedelta(seconds=59))
        # Even the right password is refused to the attacker's address while it waits.
        right = await _login(attacker, "F00001", "demo-famille-1")
        assert right.status_code == 429 and spy.calls == 5
    async with make_client(app, "203.0.113.20") as parent:
        assert (await _login(parent, "F00001", "demo-famille-1")).status_code == 303
    # As before: one more guess after a minute, then two minutes' wait, and so on.
    async with make_client(app, "198.51.100.7") as attacker:
        clock.set_now(NOW + dt.timedelta(minutes=1, seconds=1))
        assert (await _login(attacker, "F00001", "encore-un-essai")).status_code == 422
        assert spy.calls == 7  # the parent's login, then this guess
        clock.set_now(NOW + dt.timedelta(minutes=2, seconds=30))
        assert (await _login(attacker, "F00001", "demo-famille-1")).status_code == 422
        assert spy.calls == 7
        clock.set_now(NOW + dt.timedelta(minutes=3, seconds=2))
        assert (await _login(attacker, "F00001", "demo-famille-1")).status_code == 303


async def test_the_staff_login_is_keyed_the_same_way(app):
    await factories.make_staff("agent")
    clock.set_now(NOW)
    async with make_client(app, "198.51.100.7") as attacker:
        statuses = []
        for i in range(20):
            response = await post_form(
                attacker,
                "/agents/connexion",
                {"identifiant": "agent", "mot_de_passe": f"faux-{i}"},
                from_page="/agents/connexion",
            )
            statuses.append(response.status_code)
        assert statuses == [422] * 10 + [429] * 10
        assert (await StaffUser.select(StaffUser.failed_logins).first())["failed_logins"] == 5
    async with make_client(app, "203.0.113.20") as agent:
        response = await post_form(
            agent,
            "/agents/connexion",
            {"identifiant": "agent", "mot_de_passe": "demo-agent-sej-2026"},
            from_page="/agents/connexion",
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/agents/connexion/activation"


async def test_thirty_families_behind_one_nat_address_with_typos_all_get_in(app):
    clock.set_now(NOW)
    for n in range(1, 31):
        await factories.make_family(f"F{n:05d}", password=f"demo-famille-{n}")
    for n in range(1, 31):
        async with make_client(app, "100.64.0.1") as phone:  # a carrier NAT address
            if n % 6 == 0:  # a few typos on the way
                assert (await _login(phone, f"F{n:05d}", f"demo-familel-{n}")).status_code == 422
            assert (await _login(phone, f"F{n:05d}", f"demo-famille-{n}")).status_code == 303, n
    assert await Family.count().where(Family.last_login_at.is_null()) == 0


async def test_a_busy_nat_address_earns_room_for_its_parents_typos(app):
    """Opening morning: sixty parents behind one carrier address in one minute, twenty typos
    among them (twice the base budget of ten a minute): everyone gets in."""
    clock.set_now(NOW)
    for n in range(1, 61):
        await factories.make_family(f"F{n:05d}", password=f"demo-famille-{n}")
    for n in range(1, 61):
        clock.set_now(NOW + dt.timedelta(seconds=n))
        async with make_client(app, "100.64.0.9") as phone:
            if n % 3 == 0:
                assert (await _login(phone, f"F{n:05d}", f"demo-familel-{n}")).status_code == 422
            assert (await _login(phone, f"F{n:05d}", f"demo-famille-{n}")).status_code == 303, n
    assert await Family.count().where(Family.last_login_at.is_null()) == 0


async def test_a_guessing_script_earns_nothing_by_logging_in_to_its_own_account(app):
    """The credit counts distinct accounts: a script that owns one account and logs in to it
    again and again gains a single attempt, so spraying stays at the base rate."""
    clock.set_now(NOW)
    await factories.make_family("F00001", password="demo-famille-1")
    async with make_client(app, "198.51.100.7") as script:
        for _ in range(5):
            assert (await _login(script, "F00001", "demo-famille-1")).status_code == 303
            await post_form(script, "/deconnexion", {}, from_page="/famille/")
    async with make_client(app, "198.51.100.7") as script:  # a fresh browser each time
        statuses = [
            (await _login(script, f"F{n:05d}", "soleil-du-matin-2026")).status_code
            for n in range(100, 115)
        ]
    assert statuses == [422] * 11 + [429] * 4


def test_the_address_budgets_grow_with_the_credit_up_to_a_ceiling(settings):
    from ecp.auth.throttle import NAT_FACTOR, RATE_ATTEMPTS_FACTOR, Throttle

    throttle = Throttle(store=None, settings=settings)
    base = settings.login_rate_per_minute
    assert throttle.budgets(0) == (base, base * RATE_ATTEMPTS_FACTOR)  # as before
    assert throttle.budgets(25) == (base + 25, base * RATE_ATTEMPTS_FACTOR + 25)
    assert throttle.budgets(100_000) == (
        base * NAT_FACTOR,
        base * RATE_ATTEMPTS_FACTOR * NAT_FACTOR,
    )


async def test_a_guesser_behind_the_same_nat_does_not_hold_back_returning_browsers(app):
    clock.set_now(NOW)
    for n in range(1, 4):
        await factories.make_family(f"F{n:05d}", password=f"demo-famille-{n}")
    phones = [make_client(app, "100.64.0.1") for _ in range(3)]
    try:
        for n, phone in enumerate(phones, start=1):  # each parent logged in once before
            assert (await _login(phone, f"F{n:05d}", f"demo-famille-{n}")).status_code == 303
        async with make_client(app, "100.64.0.1") as guesser:  # same address, spraying codes
            # Ten a minute, and one more per account that logged in there lately (three).
            for n in range(100, 113):
                assert (
                    await _login(guesser, f"F{n:05d}", "soleil-du-matin-2026")
                ).status_code == 422
            # The address's budget for unsuccessful attempts is spent: a 429 for it...
            blocked = await _login(guesser, "F00113", "soleil-du-matin-2026")
            assert blocked.status_code == 429 and "Trop de tentatives" in blocked.text
            # ... and for a new browser there, whose password is then not even checked...
            async with make_client(app, "100.64.0.1") as new_phone:
                assert (await _login(new_phone, "F00002", "demo-famille-2")).status_code == 429
        # ... but the parents' own browsers (their device cookie) get in at once.
        for n, phone in enumerate(phones, start=1):
            assert (await _login(phone, f"F{n:05d}", f"demo-famille-{n}")).status_code == 303
    finally:
        for phone in phones:
            await phone.aclose()


async def test_guessing_from_many_addresses_is_bounded_by_the_account_ceiling(app, settings):
    await factories.make_family("F00001")
    clock.set_now(NOW)
    async with make_client(app, "203.0.113.20") as usual:  # the parent's usual browser
        assert (await _login(usual, "F00001", "demo-famille-1")).status_code == 303
        await post_form(usual, "/deconnexion", {}, from_page="/famille/")
        spy = _spy(app)
        # A botnet: 60 addresses, five guesses each (each one's lane up to its threshold).
        for i in range(60):
            async with make_client(app, f"10.20.{i}.1") as bot:
                for k in range(5):
                    assert (await _login(bot, "F00001", f"essai-{i}-{k}")).status_code == 422
        row = await Family.select(Family.failed_logins, Family.locked_until).first()
        # The ceiling (20) stops the count: the guesses after it could never have succeeded,
        # since every client without the account's device cookie is refused.
        assert row["failed_logins"] == settings.lockout_account_threshold == 20
        assert row["locked_until"] is not None
        async with make_client(app, "10.99.0.1") as fresh:
            assert (await _login(fresh, "F00001", "demo-famille-1")).status_code == 422
        assert spy.calls == 60 * 5 + 1  # one hash each, bounded per address by rule 1
        # The parent's usual browser is not locked out.
        assert (await _login(usual, "F00001", "demo-famille-1")).status_code == 303
    # Its login reset the ceiling; a new device can log in again.
    async with make_client(app, "10.99.0.2") as fresh:
        assert (await _login(fresh, "F00001", "demo-famille-1")).status_code == 303


async def test_one_address_alone_never_reaches_the_account_ceiling(app):
    await factories.make_family("F00001")
    clock.set_now(NOW)
    async with make_client(app, "198.51.100.7") as attacker:
        for hour in range(48):  # two days of guessing, once every lane wait has passed
            clock.set_now(NOW + dt.timedelta(hours=hour))
            await _login(attacker, "F00001", f"essai-{hour}")
    row = await Family.select(Family.failed_logins, Family.locked_until).first()
    assert row["failed_logins"] == 5 and row["locked_until"] is None
    async with make_client(app, "10.99.0.1") as parent:
        assert (await _login(parent, "F00001", "demo-famille-1")).status_code == 303


async def test_the_device_cookie_is_a_host_cookie_and_dies_with_the_password(app, client):
    family = await factories.make_family("F00001")
    response = await _login(client, "F00001", "demo-famille-1")
    header = next(
        h
        for h in response.headers.get_list("set-cookie")
        if h.startswith("__Host-ecp_device_family=")
    )
    attributes = {part.strip().lower() for part in header.split(";")[1:]}
    assert {"httponly", "secure", "path=/", "samesite=lax"} <= attributes
    assert not any(a.startswith("domain") for a in attributes)
    # A forged or altered cookie is just no cookie.
    from ecp.auth.throttle import DeviceCookies

    devices = DeviceCookies(app.state.settings)
    row = await Family.select(Family.password_hash).first()
    value = header.split(";")[0].split("=", 1)[1]
    assert devices.device(value, "family", family.id, row["password_hash"])
    assert (
        devices.device(
            value[:-1] + ("0" if value[-1] != "0" else "1"),
            "family",
            family.id,
            row["password_hash"],
        )
        is None
    )
    assert devices.device(value, "staff", family.id, row["password_hash"]) is None
    assert devices.device(value, "family", family.id, "$argon2id$autre") is None
