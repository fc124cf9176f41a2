"""ecp.auth.services.change_password without HTTP: one's own password, for a family and for an
agent (journalled), with the throttle of the login (docs/security.md A1, A6, A8)."""

from __future__ import annotations

import pytest
from litestar.stores.memory import MemoryStore

from ecp.audit.tables import AuditLog
from ecp.auth import services, sessions
from ecp.auth.principal import Principal
from ecp.auth.tables import AuthSession, StaffUser
from ecp.families.tables import Family
from tests import factories
from tests.integration.auth.support import attempt, passwords

NEW = "le chat dort sur le piano"
FAMILY_PASSWORD = "demo-famille-1"
STAFF_PASSWORD = "demo-agent-sej-2026"


async def _hash(table, account_id: int) -> str:
    return (await table.select(table.password_hash).where(table.id == account_id).first())[
        "password_hash"
    ]


async def _change(settings, kind, account_id, *, store=None, actor=None, **fields):
    values = {"current": FAMILY_PASSWORD, "new": NEW, "confirmation": NEW, **fields}
    return await services.change_password(
        await attempt(settings, kind, account_id, store=store),
        passwords(settings),
        actor=actor,
        **values,
    )


async def test_a_family_changes_its_password_and_every_session_ends(settings):
    family = await factories.make_family("F00001")
    await sessions.open_session(family_id=family.id)
    await sessions.open_session(family_id=family.id)
    await Family.update({Family.failed_logins: 3}).where(Family.id == family.id)
    result = await _change(settings, "family", family.id)
    assert result.done and result.errors == {}
    assert await passwords(settings).verify(await _hash(Family, family.id), NEW)
    assert await AuthSession.count() == 0
    row = await Family.select(Family.failed_logins).where(Family.id == family.id).first()
    assert row["failed_logins"] == 0
    assert await AuditLog.count() == 0  # a family's own change is not a staff action


async def test_a_wrong_current_password_changes_nothing_and_counts_as_a_failed_login(settings):
    family = await factories.make_family("F00001")
    before = await _hash(Family, family.id)
    result = await _change(settings, "family", family.id, current="pas-le-bon-mot")
    assert not result.done and result.outcome == "wrong_current"
    assert result.errors == {"mot_de_passe_actuel": services.WRONG_CURRENT}
    assert await _hash(Family, family.id) == before
    row = await Family.select(Family.failed_logins).where(Family.id == family.id).first()
    assert row["failed_logins"] == 1


async def test_every_field_is_judged_in_the_order_of_the_page(settings):
    family = await factories.make_family("F00001")
    result = await _change(settings, "family", family.id, current="", new="court")
    assert list(result.errors) == ["mot_de_passe_actuel", "nouveau_mot_de_passe"]
    assert result.outcome is None  # nothing was checked: no login event to write
    result = await _change(settings, "family", family.id, confirmation="autre chose encore")
    assert result.errors == {"confirmation": "Les deux mots de passe saisis sont différents."}
    # The new password may not contain the account's identifier (here the code famille).
    result = await _change(
        settings, "family", family.id, new="F00001 et une phrase", confirmation="F00001 et une"
    )
    assert list(result.errors) == ["nouveau_mot_de_passe"]


async def test_a_lane_that_waits_checks_nothing_else(settings):
    family = await factories.make_family("F00001")
    store = MemoryStore()
    for _ in range(settings.lockout_threshold):
        await _change(settings, "family", family.id, store=store, current="pas-le-bon-mot")
    before = await _hash(Family, family.id)
    # Even the right password waits, and the empty new password is not reported.
    result = await _change(settings, "family", family.id, store=store, new="")
    assert result.outcome == "waiting" and list(result.errors) == ["mot_de_passe_actuel"]
    assert "Patientez" in result.errors["mot_de_passe_actuel"]
    assert await _hash(Family, family.id) == before


async def test_an_address_over_its_budget_is_refused_unchecked(settings):
    settings = settings.with_(login_rate_per_minute=2)
    family = await factories.make_family("F00001")
    store = MemoryStore()
    for _ in range(2):
        await _change(settings, "family", family.id, store=store, current="pas-le-bon-mot")
    with pytest.raises(services.TooManyAttempts) as refused:
        await _change(settings, "family", family.id, store=store)
    assert refused.value.refusal.reason == "rate"


async def test_an_agent_changes_their_password_and_the_journal_says_so(settings):
    staff = await factories.make_staff("agent", display_name="Agent Martin")
    await sessions.open_session(staff_id=staff.id)
    actor = Principal(kind="staff", session_id=1, name="Agent Martin", staff_id=staff.id)
    result = await _change(
        settings, "staff", staff.id, actor=actor, current=STAFF_PASSWORD, new=NEW + " encore"
    )
    assert result.errors == {"confirmation": "Les deux mots de passe saisis sont différents."}
    assert await AuditLog.count() == 0
    new = "une phrase assez longue pour le service"
    result = await _change(
        settings, "staff", staff.id, actor=actor, current=STAFF_PASSWORD, new=new, confirmation=new
    )
    assert result.done
    assert await passwords(settings).verify(await _hash(StaffUser, staff.id), new)
    assert await AuthSession.count() == 0
    line = await AuditLog.select().first()
    assert line["action"] == "staff_password_changed" and line["target"] == "agent agent"
    assert line["staff"] == staff.id and line["actor"] == "Agent Martin"


async def test_an_agent_password_needs_the_staff_minimum(settings):
    staff = await factories.make_staff("agent")
    short = "douze caract"  # long enough for a family, not for an agent
    result = await _change(
        settings, "staff", staff.id, current=STAFF_PASSWORD, new=short, confirmation=short
    )
    assert "15 caractères" in result.errors["nouveau_mot_de_passe"]
