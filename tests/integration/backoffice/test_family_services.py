"""The back office's family services, called without HTTP: each action's rule, its refusal in
French and its line in the journal (C3, H4, B5)."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.auth.passwords import Passwords
from ecp.auth.sessions import open_session
from ecp.auth.tables import AuthSession
from ecp.backoffice import queries, services
from ecp.errors import Rejected
from ecp.families import search
from ecp.families.tables import Child, Family
from ecp.mail.tables import OutboxEmail
from tests import factories
from tests.staff_factories import indexed_family, staff_actor

PASSWORDS = Passwords("test", 1)
GUARDIAN = {
    "address_line1": "4 allée des Peupliers",
    "address_line2": "",
    "postcode": "78999",
    "city": "Villebelle-sur-Seine",
    "phone_mobile": "06 11 22 33 44",
    "phone_home": "",
    "phone_work": "",
    "email": "mei.nguyen@example.org",
    "civility": "Mme",
    "first_name": "Mei",
    "last_name": "Nguyen",
}


@pytest.fixture
async def admin():
    return staff_actor(await factories.make_staff("admin", role="administrateur"))


async def _journal(action: str) -> list[dict]:
    return await AuditLog.select().where(AuditLog.action == action).output(load_json=True)


async def test_create_family_takes_the_next_code_and_journals_it(admin):
    await factories.make_family("F00041", name="Existante")
    await factories.make_family("X00900", name="Hors série")  # not an F code: not counted
    letter = await services.create_family(
        admin, name="Nguyen", guardian=GUARDIAN, qf=640, out_of_town=True, passwords=PASSWORDS
    )
    assert letter.family["code"] == "F00042" and letter.guardian["first_name"] == "Mei"
    row = await Family.select().where(Family.code == "F00042").first()
    assert row["quotient_familial"] == 640 and row["out_of_town"]
    assert row["email"] == "mei.nguyen@example.org"
    assert letter.password not in row["password_hash"]
    assert await PASSWORDS.verify(row["password_hash"], letter.password)
    assert row["must_change_password"]  # the letter's password is provisional
    [line] = await _journal("family_created")
    assert line["family"] == row["id"] and line["target"] == "F00042"
    assert line["staff"] == admin.staff_id
    assert [f["code"] for f in await search.search("nguyen")] == ["F00042"]


async def test_first_code_of_an_empty_commune():
    staff = staff_actor(await factories.make_staff())
    letter = await services.create_family(
        staff, name="Nguyen", guardian=GUARDIAN, qf=None, out_of_town=False, passwords=PASSWORDS
    )
    assert letter.family["code"] == "F00001" and letter.family["quotient_familial"] is None


async def test_disabling_closes_the_sessions_and_enabling_journals(admin):
    family, _ = await indexed_family()
    await open_session(family_id=family.id)
    await services.set_active(admin, family.id, False)
    assert not (await queries.family(family.id))["active"]
    assert await AuthSession.count().where(AuthSession.family == family.id) == 0
    await services.set_active(admin, family.id, True)
    assert (await queries.family(family.id))["active"]
    actions = [r["action"] for r in await AuditLog.select(AuditLog.action).order_by(AuditLog.id)]
    assert actions == ["family_disabled", "family_enabled"]


async def test_an_unknown_family_is_not_found_and_nothing_is_journalled(admin, settings):
    for action in (
        services.set_active(admin, 999999, False),
        services.close_family_sessions(admin, settings, 999999),
        services.send_reset_link(admin, settings, 999999),
        services.new_letter(admin, 999999, PASSWORDS),
    ):
        with pytest.raises(services.NotFound):
            await action
    assert await AuditLog.count() == 0


async def test_closing_sessions_counts_the_live_ones_and_removes_every_row(admin, settings):
    family, _ = await indexed_family()
    now = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
    with clock.frozen(now - dt.timedelta(days=30)):
        await open_session(family_id=family.id)  # long expired, still a row
    with clock.frozen(now):
        await open_session(family_id=family.id)
        await open_session(family_id=family.id)
        assert await queries.open_session_count(family.id, settings) == 2
        assert await services.close_family_sessions(admin, settings, family.id) == 2
        assert await services.close_family_sessions(admin, settings, family.id) == 0
    assert await AuthSession.count() == 0
    assert (await queries.family(family.id))["active"]
    lines = await _journal("family_sessions_closed")
    assert [line["details"] for line in lines] == [{"sessions": 2}, {"sessions": 0}]


async def test_reset_link_refusals_are_in_french_and_send_nothing(admin, settings):
    no_mail = await factories.make_family("F00003", email="")
    with pytest.raises(Rejected, match="pas d’adresse électronique"):
        await services.send_reset_link(admin, settings, no_mail.id)
    disabled = await factories.make_family("F00004", active=False)
    with pytest.raises(Rejected, match="Le compte est désactivé"):
        await services.send_reset_link(admin, settings, disabled.id)
    assert await OutboxEmail.count() == 0 and await AuditLog.count() == 0


async def test_reset_links_are_limited_to_three_an_hour(admin, settings):
    family, _ = await indexed_family()
    for _ in range(3):
        await services.send_reset_link(admin, settings, family.id)
    with pytest.raises(Rejected, match="Trois liens ont déjà été envoyés"):
        await services.send_reset_link(admin, settings, family.id)
    assert len(await _journal("reset_link_sent")) == 3


async def test_new_letter_replaces_the_password_and_lifts_the_lock(admin):
    family, guardian = await indexed_family()
    await Family.update(
        {Family.failed_logins: 7, Family.locked_until: clock.now() + dt.timedelta(hours=1)}
    ).where(Family.id == family.id)
    await open_session(family_id=family.id)
    letter = await services.new_letter(admin, family.id, PASSWORDS)
    assert letter.family["code"] == "F00001" and letter.guardian["id"] == guardian.id
    row = await Family.select().where(Family.id == family.id).first()
    assert await PASSWORDS.verify(row["password_hash"], letter.password)
    assert row["failed_logins"] == 0 and row["locked_until"] is None
    assert row["must_change_password"]
    assert await AuthSession.count() == 0
    [line] = await _journal("family_updated")
    assert line["details"] == {"fields": ["password"]} and line["target"] == "nouveau mot de passe"


async def test_saving_a_child_journals_field_names_never_health_data(admin):
    family, _ = await indexed_family()
    values = {
        "first_name": "Noé",
        "last_name": "Martin",
        "birth_date": dt.date(2020, 3, 14),
        "level": "GS",
        "school": None,
        "diet": "standard",
        "health_notes": "Allergie aux œufs",
        "has_allergy": True,
        "needs_support": False,
        "active": True,
    }
    child_id = await services.save_child(admin, family.id, values)
    await services.save_child(admin, family.id, {**values, "level": "CP"}, child_id)
    created, updated = await _journal("child_created"), await _journal("child_updated")
    assert created[0]["details"]["fields"] == sorted(values)
    assert updated[0]["details"] == {"fields": ["level"]}
    assert updated[0]["target"] == f"enfant {child_id}"
    assert "œufs" not in str(created) + str(updated)
    assert [f["code"] for f in await search.search("noe")] == ["F00001"]


async def test_a_child_of_another_family_is_not_changed(admin):
    family, _ = await indexed_family()
    other, _ = await indexed_family("F00002", "Diallo")
    child = await factories.make_child(other, "Awa")
    with pytest.raises(services.NotFound):
        await services.save_child(admin, family.id, {"first_name": "Pirate"}, child.id)
    assert (await Child.select(Child.first_name).where(Child.id == child.id).first())[
        "first_name"
    ] == "Awa"
    assert await AuditLog.count() == 0


async def test_opening_a_record_is_journalled_and_counts_open_sessions(admin, settings):
    family, _ = await indexed_family()
    await open_session(family_id=family.id)
    data = await services.open_family_record(admin, settings, family.id)
    assert data["family"]["code"] == "F00001" and data["open_sessions"] == 1
    assert await services.open_family_record(admin, settings, 999999) is None
    [line] = await _journal("family_record_viewed")
    assert line["family"] == family.id


async def test_each_health_notes_read_is_journalled_with_its_page(admin):
    family, _ = await indexed_family()
    other, _ = await indexed_family("F00002", "Diallo")
    child = await factories.make_child(family, "Hugo", health_notes="Arachide : PAI")
    stranger = await factories.make_child(other, "Awa", health_notes="Asthme")
    _, shown = await services.read_health_notes(admin, family.id, child.id)
    assert shown["health_notes"] == "Arachide : PAI"
    page = await services.open_child_form(admin, family.id, child.id)
    assert page.child["id"] == child.id and page.family["id"] == family.id
    assert await services.read_health_notes(admin, family.id, stranger.id) is None
    assert await services.open_child_form(admin, family.id, stranger.id) is None
    lines = await _journal("health_notes_read")
    assert [(line["target"], line["details"]) for line in lines] == [
        (f"enfant {child.id}", {"page": "santé"}),
        (f"enfant {child.id}", {"page": "modification"}),
    ]
