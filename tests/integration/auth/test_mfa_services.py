"""ecp.auth.mfa without HTTP: the code step of a staff login and an authenticator added from
the account page, each counted in the account's back-off like a password (docs/security.md
A10)."""

from __future__ import annotations

import datetime as dt

import pytest
from litestar.stores.memory import MemoryStore

from ecp import clock
from ecp.auth import mfa, sessions, totp
from ecp.auth.services import WRONG_CURRENT, TooManyAttempts
from ecp.auth.tables import AuthSession, PendingLogin, StaffTotp, StaffUser
from ecp.errors import Rejected
from tests import factories
from tests.integration.auth.support import attempt, passwords
from tests.web.auth.mfa_support import PASSWORD, SECRET, code_now, enrolled_staff, wrong_code

NOW = dt.datetime(2026, 11, 30, 9, 0, 10, tzinfo=clock.PARIS)


async def _failed_logins(staff_id: int) -> int:
    row = await StaffUser.select(StaffUser.failed_logins).where(StaffUser.id == staff_id).first()
    return row["failed_logins"]


async def _pending(settings, staff_id: int, enrol: bool = False) -> mfa.Pending:
    box = mfa.box(settings)
    token = await mfa.start_pending(staff_id, "/agents/", box, enrol=enrol)
    return await mfa.load_pending(token, box)


async def _verify(settings, pending, code, store=None):
    return await mfa.verify_login_code(
        pending,
        code,
        await attempt(settings, "staff", pending.staff_id, store=store),
        mfa.box(settings),
    )


# ---------------------------------------------------------------- the code step of a login


async def test_the_right_code_is_accepted_once_and_spends_the_pending_step(settings):
    clock.set_now(NOW)
    staff = await enrolled_staff(settings)
    pending = await _pending(settings, staff.id)
    assert await _verify(settings, pending, code_now()) is True
    assert await PendingLogin.count() == 0
    with pytest.raises(mfa.CodeRefused) as replay:
        await _verify(settings, pending, code_now())
    assert replay.value.outcome == "code_failure" and replay.value.field == "code"


async def test_a_wrong_code_counts_as_a_failed_login_with_the_generic_message(settings):
    clock.set_now(NOW)
    staff = await enrolled_staff(settings)
    pending = await _pending(settings, staff.id)
    with pytest.raises(mfa.CodeRefused) as refused:
        await _verify(settings, pending, wrong_code())
    assert refused.value.message == mfa.GENERIC_CODE and refused.value.outcome == "code_failure"
    assert await _failed_logins(staff.id) == 1
    assert await PendingLogin.count() == 1  # still usable within its five minutes


async def test_no_code_at_all_is_no_failure_of_the_account(settings):
    clock.set_now(NOW)
    staff = await enrolled_staff(settings)
    pending = await _pending(settings, staff.id)
    assert await _verify(settings, pending, None) is False
    assert await _failed_logins(staff.id) == 0


async def test_a_lane_that_waits_gets_no_code_checked(settings):
    clock.set_now(NOW)
    staff = await enrolled_staff(settings)
    pending = await _pending(settings, staff.id)
    store = MemoryStore()
    for _ in range(settings.lockout_threshold):
        with pytest.raises(mfa.CodeRefused):
            await _verify(settings, pending, wrong_code(), store=store)
    with pytest.raises(mfa.CodeRefused) as refused:
        await _verify(settings, pending, code_now(), store=store)
    assert refused.value.outcome == "code_refused"
    assert await PendingLogin.count() == 1  # the right code was not even looked at


async def test_an_address_over_its_budget_is_refused_before_anything(settings):
    clock.set_now(NOW)
    settings = settings.with_(login_rate_per_minute=2)
    staff = await enrolled_staff(settings)
    pending = await _pending(settings, staff.id)
    store = MemoryStore()
    for _ in range(2):
        with pytest.raises(mfa.CodeRefused):
            await _verify(settings, pending, wrong_code(), store=store)
    with pytest.raises(TooManyAttempts):
        await _verify(settings, pending, code_now(), store=store)


async def test_enrolment_at_login_stores_the_secret_of_the_pending_step(settings):
    clock.set_now(NOW)
    staff = await factories.make_staff("agent")
    pending = await _pending(settings, staff.id, enrol=True)
    assert pending.enrol_secret
    assert await _verify(settings, pending, code_now(pending.enrol_secret)) is True
    row = await StaffTotp.select().first()
    assert mfa.box(settings).open(row["secret_encrypted"], "totp", staff.id) == (
        pending.enrol_secret
    )


# ---------------------------------------------------------------- from the account page


async def _add(settings, staff_id, session_id, secret, *, password=PASSWORD, code=None):
    return await mfa.add_authenticator(
        await attempt(settings, "staff", staff_id),
        passwords(settings),
        mfa.box(settings),
        staff_id=staff_id,
        keep_session_id=session_id,
        secret=secret,
        password=password,
        code=code,
    )


async def _session_ids() -> set[int]:
    return {row["id"] for row in await AuthSession.select(AuthSession.id)}


async def test_a_new_phone_replaces_the_authenticator_and_ends_the_other_sessions(settings):
    clock.set_now(NOW)
    staff = await enrolled_staff(settings)
    await sessions.open_session(staff_id=staff.id)
    await sessions.open_session(staff_id=staff.id)
    here = min(await _session_ids())
    secret, sealed = mfa.new_candidate(mfa.box(settings), staff.id)
    assert mfa.open_candidate(mfa.box(settings), sealed, staff.id) == secret
    assert await _add(settings, staff.id, here, secret, code=code_now(secret)) is True
    row = await StaffTotp.select().first()
    assert mfa.box(settings).open(row["secret_encrypted"], "totp", staff.id) == secret
    assert await _session_ids() == {here}


async def test_the_wrong_password_is_refused_even_when_the_code_is_missing(settings):
    clock.set_now(NOW)
    staff = await enrolled_staff(settings)
    secret, _ = mfa.new_candidate(mfa.box(settings), staff.id)
    with pytest.raises(Rejected) as refused:
        await _add(settings, staff.id, 0, secret, password="pas-le-bon-mot", code=None)
    assert (refused.value.field, refused.value.message) == ("mot_de_passe_actuel", WRONG_CURRENT)
    assert await _failed_logins(staff.id) == 1


async def test_nothing_is_written_without_a_code_or_a_password(settings):
    clock.set_now(NOW)
    staff = await enrolled_staff(settings)
    secret, _ = mfa.new_candidate(mfa.box(settings), staff.id)
    assert await _add(settings, staff.id, 0, secret, code=None) is False
    assert await _add(settings, staff.id, 0, secret, password="", code=code_now(secret)) is False
    row = await StaffTotp.select().first()
    assert mfa.box(settings).open(row["secret_encrypted"], "totp", staff.id) == SECRET


async def test_a_code_of_another_key_is_refused_and_counted(settings):
    clock.set_now(NOW)
    staff = await enrolled_staff(settings)
    secret, _ = mfa.new_candidate(mfa.box(settings), staff.id)
    with pytest.raises(Rejected) as refused:
        await _add(settings, staff.id, 0, secret, code=code_now(SECRET))
    assert (refused.value.field, refused.value.message) == ("code", mfa.WRONG_NEW_CODE)
    assert await _failed_logins(staff.id) == 1


def test_an_offered_key_expires(settings):
    clock.set_now(NOW)
    box = mfa.box(settings)
    secret, sealed = mfa.new_candidate(box, 7)
    assert mfa.open_candidate(box, sealed, 8) is None  # another account's key
    clock.set_now(NOW + mfa.CANDIDATE_LIFETIME + dt.timedelta(seconds=1))
    assert mfa.open_candidate(box, sealed, 7) is None
    assert totp.is_well_formed(code_now(secret))
