"""The family record's services on the database (both engines): a family created once with
its two responsables and its quotient familial, likely duplicates, responsables, contacts and
the quotient familial history (ecp.families.queries.quotient_on), each change journalled with
its before and after values; and the anonymisation of what they hold."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp import clock
from ecp.accounts import retention
from ecp.audit.tables import AuditLog
from ecp.auth.passwords import Passwords
from ecp.backoffice import queries, services
from ecp.errors import Rejected
from ecp.families import queries as family_queries
from ecp.families import search
from ecp.families.tables import (
    ContactChangeRequest,
    Family,
    FamilyContact,
    Guardian,
    QuotientHistory,
)
from tests import factories
from tests.staff_factories import indexed_family, staff_actor

PASSWORDS = Passwords("test", 1)
MEI = {
    "civility": "Mme",
    "first_name": "Mei",
    "last_name": "Nguyen",
    "address_line1": "4 allée des Peupliers",
    "address_line2": "",
    "postcode": "78999",
    "city": "Villebelle-sur-Seine",
    "phone_mobile": "06 11 22 33 44",
    "phone_home": "",
    "phone_work": "",
    "email": "mei@example.org",
}
BAO = {
    **MEI,
    "civility": "M.",
    "first_name": "Bao",
    "last_name": "Tran",
    "phone_mobile": "06 22 33 44 55",
    "email": "bao@example.org",
}
TODAY = dt.date(2026, 12, 1)


@pytest.fixture
async def admin():
    return staff_actor(await factories.make_staff("admin", role="administrateur"))


@pytest.fixture(autouse=True)
def december():
    with clock.frozen(dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)):
        yield


async def _journal(action: str) -> list[dict]:
    return await AuditLog.select().where(AuditLog.action == action).output(load_json=True)


async def _create(admin, **extra):
    values = {
        "name": "Nguyen",
        "guardian": MEI,
        "qf": 640,
        "out_of_town": False,
        "passwords": PASSWORDS,
        **extra,
    }
    return await services.create_family(admin, **values)


async def test_two_responsables_the_payer_and_the_mail(admin):
    letter = await _create(
        admin,
        second=BAO,
        payer=2,
        emails="les_deux",
        qf_from=dt.date(2026, 9, 1),
        qf_source="caf",
        notes="Garde alternée.",
        creation_key="cle-1",
    )
    assert letter.created and letter.password and letter.family["notes"] == "Garde alternée."
    family_id = letter.family["id"]
    guardians = await Guardian.select().where(Guardian.family == family_id).order_by(Guardian.rank)
    assert [
        (g["first_name"], g["rank"], g["is_payer"], g["receives_email"]) for g in guardians
    ] == [
        ("Mei", 1, False, True),
        ("Bao", 2, True, True),
    ]
    assert (await family_queries.payer(family_id))["first_name"] == "Bao"
    assert await family_queries.mail_recipients(family_id) == ["mei@example.org", "bao@example.org"]
    row = await Family.select().where(Family.id == family_id).first()
    assert row["email"] == "mei@example.org" and row["quotient_familial"] == 640
    assert await family_queries.quotient_on(family_id, dt.date(2026, 9, 1)) == 640
    assert await family_queries.quotient_on(family_id, dt.date(2026, 8, 31)) is None
    [line] = await _journal("family_created")
    assert line["details"]["responsables"] == ["Mei Nguyen", "Bao Tran"]
    assert line["details"]["value"] == 640 and line["details"]["effective_from"] == "2026-09-01"
    # Both responsables are found by the staff search.
    assert [f["code"] for f in await search.search("bao tran")] == [letter.family["code"]]
    assert [f["code"] for f in await search.search("0622334455")] == [letter.family["code"]]


async def test_the_same_form_posted_twice_creates_one_family(admin):
    first = await _create(admin, creation_key="cle-unique")
    again = await _create(admin, creation_key="cle-unique")
    assert not again.created and again.password is None
    assert again.family["id"] == first.family["id"]
    assert await Family.count() == 1 and len(await _journal("family_created")) == 1
    # The password stays the one of the first post.
    row = await Family.select(Family.password_hash).first()
    assert await PASSWORDS.verify(row["password_hash"], first.password)


async def test_likely_duplicates_are_shown_before_saving(admin):
    await _create(admin, creation_key="a")
    same_phone = {**BAO, "phone_mobile": MEI["phone_mobile"], "email": "autre@example.org"}
    with pytest.raises(services.LikelyDuplicates) as found:
        await _create(admin, name="Tran", guardian=same_phone, creation_key="b")
    [dup] = found.value.families
    assert dup["name"] == "Nguyen" and dup["reasons"] == ["même téléphone"]
    same_mail = {**BAO, "email": "MEI@example.org".lower()}
    with pytest.raises(services.LikelyDuplicates) as found:
        await _create(admin, name="Tran", guardian=same_mail, creation_key="c")
    assert found.value.families[0]["reasons"] == ["même adresse électronique"]
    same_place = {
        **BAO,
        "phone_mobile": "06 99 99 99 99",
        "email": "",
        "address_line1": "4 Allée des peupliers",
    }
    with pytest.raises(services.LikelyDuplicates) as found:
        await _create(admin, name="NGUYEN", guardian=same_place, creation_key="d")
    assert found.value.families[0]["reasons"] == ["même nom à la même adresse"]
    # Another family at the same address (a block of flats), under another name: not a duplicate.
    neighbour = await _create(admin, name="Diallo", guardian=same_place, creation_key="e")
    assert neighbour.created
    # Confirmed by the agent: created all the same.
    confirmed = await _create(admin, guardian=same_phone, creation_key="f", check_duplicates=False)
    assert confirmed.created and await Family.count() == 3


async def test_adding_changing_and_removing_the_second_responsable(admin):
    family, claire = await indexed_family()
    second = {**BAO, "is_payer": True, "receives_email": True}
    bao_id = await services.save_guardian(admin, family.id, second)
    rows = await Guardian.select().where(Guardian.family == family.id).order_by(Guardian.rank)
    assert [(g["first_name"], g["rank"], g["is_payer"]) for g in rows] == [
        ("Claire", 1, False),
        ("Bao", 2, True),
    ]
    assert [f["code"] for f in await search.search("bao")] == ["F00001"]
    with pytest.raises(Rejected, match="deux responsables légaux au plus"):
        await services.save_guardian(admin, family.id, {**BAO, "first_name": "Trois"})
    changed = {**second, "phone_mobile": "07 22 33 44 55", "is_payer": False}
    await services.save_guardian(admin, family.id, changed, bao_id)
    payer = await family_queries.payer(family.id)
    assert payer["id"] == claire.id  # no longer Bao: the other one pays
    [line] = await _journal("guardian_updated")
    assert line["details"]["changes"] == {
        "phone_mobile": {"before": "06 22 33 44 55", "after": "07 22 33 44 55"},
        "is_payer": {"before": True, "after": False},
    }
    assert [f["code"] for f in await search.search("0722334455")] == ["F00001"]
    assert await search.search("0622334455") == []
    name = await services.remove_guardian(admin, family.id, bao_id)
    assert name == "Bao Tran"
    [kept] = await Guardian.select().where(Guardian.family == family.id)
    assert kept["id"] == claire.id and kept["rank"] == 1 and kept["is_payer"]
    [removed] = await _journal("guardian_removed")
    assert removed["details"]["first_name"] == "Bao" and "changes" not in removed["details"]
    assert await search.search("bao") == []
    with pytest.raises(Rejected, match="au moins un responsable"):
        await services.remove_guardian(admin, family.id, claire.id)


async def test_a_responsable_with_a_waiting_request_is_not_removed(admin):
    family, _ = await indexed_family()
    bao_id = await services.save_guardian(admin, family.id, {**BAO, "is_payer": False})
    await ContactChangeRequest(
        family=family.id,
        guardian=bao_id,
        changes={"city": {"before": "A", "after": "B"}},
        submitted_at=clock.now(),
    ).save()
    with pytest.raises(Rejected, match="attend une décision"):
        await services.remove_guardian(admin, family.id, bao_id)
    assert await Guardian.count().where(Guardian.family == family.id) == 2


async def test_another_familys_responsable_is_not_found(admin):
    family, _ = await indexed_family()
    other, theirs = await indexed_family("F00002", "Diallo")
    with pytest.raises(services.NotFound):
        await services.save_guardian(admin, family.id, {**BAO, "is_payer": False}, theirs.id)
    with pytest.raises(services.NotFound):
        await services.remove_guardian(admin, family.id, theirs.id)
    assert (await Guardian.select(Guardian.first_name).where(Guardian.id == theirs.id).first())[
        "first_name"
    ] == "Claire"
    assert await AuditLog.count() == 0


async def test_the_account_address_follows_who_gets_the_mail(admin):
    family, claire = await indexed_family()
    values = {k: getattr(claire, k) for k in ("civility", "first_name", "last_name", *MEI_FIELDS)}
    await services.save_guardian(
        admin, family.id, {**values, "receives_email": False, "is_payer": True}, claire.id
    )
    assert (await queries.family(family.id))["email"] == ""
    await services.save_guardian(admin, family.id, {**BAO, "is_payer": False})
    assert (await queries.family(family.id))["email"] == "bao@example.org"
    assert await family_queries.mail_recipients(family.id) == ["bao@example.org"]


MEI_FIELDS = tuple(k for k in MEI if k not in ("civility", "first_name", "last_name"))


async def test_contacts_are_added_changed_and_removed_with_their_journal(admin):
    family, _ = await indexed_family()
    jeanne = {
        "first_name": "Jeanne",
        "last_name": "Martin",
        "relationship": "grand-mère",
        "phone": "06 55 44 33 22",
        "emergency": True,
        "may_collect": True,
    }
    contact_id = await services.save_contact(admin, family.id, jeanne)
    await services.save_contact(admin, family.id, {**jeanne, "may_collect": False}, contact_id)
    # Nothing changed: nothing journalled.
    await services.save_contact(admin, family.id, {**jeanne, "may_collect": False}, contact_id)
    [row] = await queries.family_contacts(family.id)
    assert row["relationship"] == "grand-mère" and not row["may_collect"]
    [added], [updated] = (
        await _journal("family_contact_added"),
        await _journal("family_contact_updated"),
    )
    assert added["details"]["phone"] == "06 55 44 33 22" and added["details"]["may_collect"]
    assert updated["details"]["changes"] == {"may_collect": {"before": True, "after": False}}
    other, _ = await indexed_family("F00002", "Diallo")
    with pytest.raises(services.NotFound):
        await services.remove_contact(admin, other.id, contact_id)
    assert await services.remove_contact(admin, family.id, contact_id) == "Jeanne Martin"
    assert await FamilyContact.count() == 0
    assert len(await _journal("family_contact_removed")) == 1


async def test_quotient_history_and_the_quotient_of_a_day(admin):
    with clock.frozen(dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)):
        family, _ = await indexed_family()
    await Family.update({Family.quotient_familial: 500}).where(Family.id == family.id)
    created = family.created_at.astimezone(clock.PARIS).date()
    # Recorded before the history existed: the row's value holds every day.
    assert await family_queries.quotient_on(family.id, dt.date(2026, 1, 5)) == 500
    assert created == dt.date(2026, 6, 1)
    await services.record_quotient(
        admin, family.id, value=720, effective_from=dt.date(2027, 1, 1), source="caf"
    )
    # The old value became the first line of the history, from the family's creation.
    history = await queries.quotient_history(family.id)
    assert [(q["value"], q["effective_from"], q["source"]) for q in history] == [
        (720, dt.date(2027, 1, 1), "caf"),
        (500, created, "fiche"),
    ]
    assert await family_queries.quotient_on(family.id, dt.date(2026, 12, 31)) == 500
    assert await family_queries.quotient_on(family.id, dt.date(2027, 1, 1)) == 720
    # Today's is still 500 on the family row (the new one starts next month).
    assert (await queries.family(family.id))["quotient_familial"] == 500
    [line] = await _journal("quotient_recorded")
    assert line["details"]["changes"] == {"value": {"before": 500, "after": 720}}
    assert line["details"]["effective_from"] == "2027-01-01"
    # A correction of the same day replaces it.
    await services.record_quotient(
        admin, family.id, value=745, effective_from=dt.date(2027, 1, 1), source="avis_imposition"
    )
    assert await QuotientHistory.count().where(QuotientHistory.family == family.id) == 2
    assert await family_queries.quotient_on(family.id, dt.date(2027, 3, 1)) == 745
    # One from a past day changes today's too.
    await services.record_quotient(
        admin, family.id, value=610, effective_from=dt.date(2026, 11, 1), source="caf"
    )
    assert (await queries.family(family.id))["quotient_familial"] == 610
    wrong = next(q for q in await queries.quotient_history(family.id) if q["value"] == 610)
    await services.remove_quotient(admin, family.id, wrong["id"])
    assert (await queries.family(family.id))["quotient_familial"] == 500
    assert await family_queries.quotient_on(family.id, dt.date(2026, 11, 15)) == 500
    other, _ = await indexed_family("F00002", "Diallo")
    with pytest.raises(services.NotFound):
        await services.remove_quotient(admin, other.id, history[0]["id"])


async def test_a_new_family_with_no_quotient_has_none_on_any_day(admin):
    letter = await _create(admin, qf=None)
    assert await family_queries.quotient_on(letter.family["id"], TODAY) is None
    assert await QuotientHistory.count() == 0


async def test_changing_the_family_details_journals_before_and_after(admin):
    family, _ = await indexed_family()
    changes = await services.update_family(
        admin, family.id, {"name": "Martin-Durand", "out_of_town": True, "notes": "PAI."}
    )
    assert set(changes) == {"name", "out_of_town", "notes"}
    assert (
        await services.update_family(
            admin, family.id, {"name": "Martin-Durand", "out_of_town": True, "notes": "PAI."}
        )
        == {}
    )
    [line] = await _journal("family_updated")
    assert line["details"]["changes"]["name"] == {"before": "Martin", "after": "Martin-Durand"}
    assert [f["code"] for f in await search.search("durand")] == ["F00001"]
    with pytest.raises(services.NotFound):
        await services.update_family(admin, 999999, {"name": "X"})


async def test_anonymisation_erases_contacts_quotients_and_notes(admin, settings):
    with clock.frozen(dt.datetime(2020, 1, 6, 10, 0, tzinfo=dt.UTC)):
        letter = await _create(admin, second=BAO, notes="Garde alternée.")
        await services.save_contact(
            admin,
            letter.family["id"],
            {
                "first_name": "Jeanne",
                "last_name": "N",
                "relationship": "",
                "phone": "06 55 44 33 22",
                "emergency": True,
                "may_collect": False,
            },
        )
    await retention.anonymise_inactive(settings, clock.now())
    family_id = letter.family["id"]
    row = await Family.select().where(Family.id == family_id).first()
    assert row["anonymised_at"] is not None and row["notes"] == "" and row["creation_key"] is None
    assert await FamilyContact.count().where(FamilyContact.family == family_id) == 0
    assert await QuotientHistory.count().where(QuotientHistory.family == family_id) == 0
    assert await Guardian.count().where(Guardian.family == family_id) == 0
