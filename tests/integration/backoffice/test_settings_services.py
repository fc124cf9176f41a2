"""The settings' rules, called on the service directly (no HTTP): an administrator keeps their
own rights, staff passwords of 15 characters, a role change ends the sessions, closure dates,
school-year bounds, activity codes; each write journalled as the pages always did."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.auth import sessions
from ecp.auth.passwords import Passwords
from ecp.auth.principal import Principal
from ecp.auth.tables import AuthSession, PendingLogin, StaffTotp, StaffUser
from ecp.backoffice import settings_services as services
from ecp.commune.tables import (
    Activity,
    ActivityCapacity,
    Closure,
    CommuneSettings,
    School,
    SchoolYear,
)
from ecp.errors import Rejected
from tests import factories

PASSWORDS = Passwords("test")
GOOD_PASSWORD = "une-phrase-de-passe-longue"


def principal(staff: StaffUser) -> Principal:
    return Principal(
        kind="staff", session_id=1, name=staff.display_name, staff_id=staff.id, role=staff.role
    )


async def admin() -> Principal:
    return principal(await factories.make_staff("admin", display_name="Admin Test"))


async def journal(action: str = "settings_changed") -> list[dict]:
    return (
        await AuditLog.select(AuditLog.actor, AuditLog.target, AuditLog.details)
        .where(AuditLog.action == action)
        .order_by(AuditLog.id)
        .output(load_json=True)
    )


async def role_of(staff_id: int) -> dict:
    return (
        await StaffUser.select(
            StaffUser.role,
            StaffUser.active,
            StaffUser.password_hash,
            StaffUser.must_change_password,
        )
        .where(StaffUser.id == staff_id)
        .first()
    )


# ---------------------------------------------------------------- staff accounts


async def test_an_administrator_cannot_remove_their_own_rights():
    me = await admin()
    for role, active in (("agent", True), ("regisseur", True), ("administrateur", False)):
        with pytest.raises(Rejected) as refused:
            await services.save_staff(
                me, PASSWORDS, me.staff_id, display_name="Moi", role=role, active=active
            )
        assert refused.value.field == "role"
        assert "propres droits d’administrateur" in refused.value.message
    row = await role_of(me.staff_id)
    assert row["role"] == "administrateur" and row["active"] is True
    assert await journal("staff_account_changed") == []
    # Keeping them is allowed, and another administrator may take them away.
    await services.save_staff(
        me, PASSWORDS, me.staff_id, display_name="Moi", role="administrateur", active=True
    )
    other = principal(await factories.make_staff("autre", role="administrateur"))
    await services.save_staff(other, PASSWORDS, me.staff_id, display_name="Moi", role="agent")
    assert (await role_of(me.staff_id))["role"] == "agent"


def test_the_own_rights_rule_concerns_only_ones_own_account():
    services.check_own_rights(1, 2, "agent", False)  # someone else
    services.check_own_rights(1, None, "agent", True)  # a new account
    services.check_own_rights(1, 1, "administrateur", True)
    with pytest.raises(Rejected):
        services.check_own_rights(1, 1, "administrateur", False)


async def test_a_staff_password_has_15_characters_at_least():
    me = await admin()
    for password, expected in (
        ("", "au moins 15 caractères"),
        ("quatorze-carac", "au moins 15 caractères"),
        ("m.dupont-et-sa-phrase", "ne doit pas contenir votre identifiant"),
    ):
        with pytest.raises(Rejected) as refused:
            await services.save_staff(
                me,
                PASSWORDS,
                None,
                username="m.dupont",
                display_name="M. Dupont",
                role="agent",
                password=password,
            )
        assert refused.value.field == "mot_de_passe" and expected in refused.value.message
    assert not await StaffUser.exists().where(StaffUser.username == "m.dupont")
    username = await services.save_staff(
        me,
        PASSWORDS,
        None,
        username="m.dupont",
        display_name="M. Dupont",
        role="agent",
        password="quinze-caractere",
    )
    assert username == "m.dupont"
    row = await StaffUser.select().where(StaffUser.username == "m.dupont").first()
    assert row["active"] and row["role"] == "agent"
    assert await PASSWORDS.verify(row["password_hash"], "quinze-caractere")
    assert row["must_change_password"]  # given by the administrator: provisional
    assert await journal("staff_account_changed") == []  # a creation is not a change
    entries = await journal("staff_account_created")
    assert entries == [
        {
            "actor": "Admin Test",
            "target": "agent m.dupont",
            "details": {"role": "agent", "active": True, "password_changed": True},
        }
    ]
    # Changing an account: a short new password is refused, an empty one keeps the current.
    with pytest.raises(Rejected):
        await services.save_staff(
            me, PASSWORDS, row["id"], display_name="M. Dupont", role="agent", password="court"
        )
    await services.save_staff(me, PASSWORDS, row["id"], display_name="M. D.", role="agent")
    assert (await role_of(row["id"]))["password_hash"] == row["password_hash"]


async def test_a_role_change_a_new_password_or_a_deactivation_ends_that_persons_sessions():
    me = await admin()
    member = await factories.make_staff("membre", role="agent")

    async def open_sessions() -> int:
        return await AuthSession.count().where(AuthSession.staff == member.id)

    async def save(**changes) -> None:
        values = {"display_name": "Membre", "role": "agent", "active": True, **changes}
        await services.save_staff(me, PASSWORDS, member.id, **values)

    await sessions.open_session(staff_id=member.id)
    await sessions.open_session(staff_id=me.staff_id)
    await save(email="membre@example.org")  # nothing about rights: the session stays
    assert await open_sessions() == 1
    await save(role="regisseur")
    assert await open_sessions() == 0
    assert (await role_of(member.id))["role"] == "regisseur"
    await sessions.open_session(staff_id=member.id)
    await save(role="regisseur", password=GOOD_PASSWORD)
    assert await open_sessions() == 0
    await sessions.open_session(staff_id=member.id)
    await save(role="regisseur", active=False)
    assert await open_sessions() == 0
    # The administrator's own session was never touched.
    assert await AuthSession.count().where(AuthSession.staff == me.staff_id) == 1
    details = [e["details"] for e in await journal("staff_account_changed")]
    assert details[1:] == [
        {"role": "regisseur", "active": True, "password_changed": False},
        {"role": "regisseur", "active": True, "password_changed": True},
        {"role": "regisseur", "active": False, "password_changed": False},
    ]


async def test_usernames_roles_and_unknown_accounts():
    me = await admin()
    base = {"display_name": "X", "role": "agent", "password": GOOD_PASSWORD}
    for username in ("ab", "Majuscule", "avec espace", "é.accent"):
        with pytest.raises(Rejected) as refused:
            await services.save_staff(me, PASSWORDS, None, username=username, **base)
        assert refused.value.field == "identifiant"
    with pytest.raises(Rejected) as refused:
        await services.save_staff(me, PASSWORDS, None, username="admin", **base)
    assert refused.value.message == "Cet identifiant est déjà pris."
    with pytest.raises(Rejected) as refused:
        await services.save_staff(me, PASSWORDS, None, username="nouveau", **{**base, "role": "x"})
    assert refused.value.field == "role"
    with pytest.raises(services.Missing):
        await services.save_staff(me, PASSWORDS, 9999, display_name="X", role="agent")
    assert await StaffUser.count() == 1


async def test_an_mfa_reset_ends_the_sessions_but_not_ones_own_nor_a_missing_one(settings):
    me = await admin()
    member = await factories.make_staff("membre", role="agent")
    with pytest.raises(Rejected) as own:
        await services.reset_staff_mfa(me, me.staff_id)
    assert "Mon compte" in own.value.message and not isinstance(own.value, services.NothingToReset)
    with pytest.raises(services.Missing):
        await services.reset_staff_mfa(me, 9999)
    with pytest.raises(services.NothingToReset):
        await services.reset_staff_mfa(me, member.id)
    await StaffTotp(staff=member.id, secret_encrypted="x", enrolled_at=clock.now()).save()
    await sessions.open_session(staff_id=member.id)
    assert await services.reset_staff_mfa(me, member.id) == "membre"
    assert await StaffTotp.count() == 0 and await PendingLogin.count() == 0
    assert await AuthSession.count().where(AuthSession.staff == member.id) == 0
    assert [e["details"] for e in await journal("staff_account_changed")] == [
        {"double_authentification": "réinitialisée"}
    ]


# ---------------------------------------------------------------- closures


async def test_closure_dates_and_targets():
    me = await admin()
    day = dt.date(2026, 12, 24)
    with pytest.raises(Rejected) as refused:
        await services.add_closure(
            me, starts_on=day, ends_on=day - dt.timedelta(days=1), reason="Noël"
        )
    assert refused.value.field == "fermeture_au"
    assert refused.value.message == "Le dernier jour ne peut pas précéder le premier."
    with pytest.raises(Rejected) as refused:
        await services.add_closure(me, starts_on=day, ends_on=day, reason="x", school_id=9999)
    assert refused.value.field == "ecole"
    with pytest.raises(Rejected) as refused:
        await services.add_closure(me, starts_on=day, ends_on=day, reason="x", activity_id=9999)
    assert refused.value.field == "activite"
    with pytest.raises(Rejected) as refused:
        await services.add_closure(me, starts_on=day, ends_on=day, reason="")
    assert refused.value.field == "motif"
    assert await Closure.count() == 0 and await journal() == []
    school = await factories.make_school("École A")
    done = await services.add_closure(
        me, starts_on=day, ends_on=day, reason="Noël", school_id=school.id
    )
    closure_id = done.closure_id
    assert done.impact.bookings == 0 and done.emails == 0
    row = await Closure.select().where(Closure.id == closure_id).first()
    assert (row["starts_on"], row["ends_on"], row["school"], row["activity"]) == (
        day,
        day,
        school.id,
        None,
    )
    await services.delete_closure(me, closure_id)
    with pytest.raises(services.Missing):
        await services.delete_closure(me, closure_id)
    assert await Closure.count() == 0
    assert await journal() == [
        {
            "actor": "Admin Test",
            "target": "fermeture",
            "details": {
                "du": "2026-12-24",
                "au": "2026-12-24",
                "motif": "Noël",
                "école": "École A",
                "activité": "toutes les activités",
                "réservations": 0,
                "familles": 0,
            },
        },
        {
            "actor": "Admin Test",
            "target": "fermeture supprimée",
            "details": {
                "du": "2026-12-24",
                "au": "2026-12-24",
                "motif": "Noël",
                "école": "École A",
                "activité": "toutes les activités",
                "réservations": 0,
                "familles": 0,
            },
        },
    ]


# ---------------------------------------------------------------- school years and rules


async def test_school_year_bounds_and_label():
    me = await admin()
    start = dt.date(2027, 9, 1)
    for end in (start, start - dt.timedelta(days=1)):
        with pytest.raises(Rejected) as refused:
            await services.save_school_year(
                me, label="2027-2028", starts_on=start, ends_on=end, current=True
            )
        assert refused.value.field == "fin"
    for label in ("2027", "2027/2028", ""):
        with pytest.raises(Rejected) as refused:
            await services.save_school_year(
                me, label=label, starts_on=start, ends_on=dt.date(2028, 7, 4), current=False
            )
        assert refused.value.field == "libelle"
    assert await SchoolYear.count() == 0 and await journal() == []


async def test_a_current_school_year_makes_the_others_not_current():
    me = await admin()
    await factories.make_school_year(dt.date(2026, 11, 1))
    await services.save_school_year(
        me,
        label="2027-2028",
        starts_on=dt.date(2027, 9, 1),
        ends_on=dt.date(2028, 7, 4),
        current=True,
    )
    current = await SchoolYear.select(SchoolYear.label).where(SchoolYear.is_current == True)  # noqa: E712
    assert [y["label"] for y in current] == ["2027-2028"]
    # The same label changes that year rather than adding one.
    await services.save_school_year(
        me,
        label="2027-2028",
        starts_on=dt.date(2027, 9, 2),
        ends_on=dt.date(2028, 7, 4),
        current=False,
    )
    row = await SchoolYear.select().where(SchoolYear.label == "2027-2028").first()
    assert await SchoolYear.count() == 2 and row["starts_on"] == dt.date(2027, 9, 2)
    assert not row["is_current"]
    assert [e["target"] for e in await journal()] == ["année scolaire 2027-2028"] * 2


async def test_the_service_rules_are_created_then_changed():
    me = await admin()
    values = {
        "booking_deadline_working_days": 3,
        "booking_deadline_time": dt.time(20, 0),
        "illness_cutoff_time": dt.time(8, 30),
        "invoice_due_days": 45,
        "retention_years": 5,
    }
    await services.save_rules(me, **values)
    await services.save_rules(me, **{**values, "retention_years": 4})
    rows = await CommuneSettings.select()
    assert len(rows) == 1 and rows[0]["retention_years"] == 4
    assert rows[0]["illness_cutoff_time"] == dt.time(8, 30)
    entries = await journal()
    assert [e["target"] for e in entries] == ["règles du service"] * 2
    assert entries[0]["details"] == {"fields": sorted(values)}


# ---------------------------------------------------------------- schools


async def test_school_names_are_unique_and_unknown_schools_missing():
    me = await admin()
    lilas = await services.save_school(
        me, None, name="École des Lilas", kind="maternelle", address=""
    )
    with pytest.raises(Rejected) as refused:
        await services.save_school(me, None, name="École des Lilas", kind="primaire", address="")
    assert refused.value.field == "nom"
    with pytest.raises(Rejected) as refused:
        await services.save_school(me, None, name="École B", kind="lycée", address="")
    assert refused.value.field == "type"
    with pytest.raises(services.Missing):
        await services.save_school(me, 9999, name="École C", kind="primaire", address="")
    # Its own name is not "another school's".
    await services.save_school(
        me, lilas, name="École des Lilas", kind="primaire", address="", active=False
    )
    row = await School.select().first()
    assert await School.count() == 1 and row["kind"] == "primaire" and not row["active"]
    assert [e["target"] for e in await journal()] == ["école École des Lilas"] * 2


# ---------------------------------------------------------------- activities


def activity(**changes) -> dict:
    values = {
        "label": "Stage multisports (été)",
        "short_label": "Multisports",
        "code": "",
        "weekdays": ["5", "1"],
        "starts_at": dt.time(16, 30),
        "ends_at": dt.time(18, 0),
        "levels": ["CM2", "CP"],
        "default_capacity": 12,
        "deadline_rule": "working_days",
    }
    values.update(changes)
    return values


def test_activity_codes():
    assert services.activity_code("Stage multisports (été)", "", []) == "stage_multisports_ete"
    assert services.activity_code("Étude", "etude_du_soir", ["etude"]) == "etude_du_soir"
    assert services.activity_code("", "", []) == ""  # the label's own error says it
    for label, code, message in (
        ("Étude", "Étude !", "Le code : 2 à 40 lettres"),
        ("Étude", "e", "Le code : 2 à 40 lettres"),
        ("!!!", "", "le libellé ne suffit pas"),
        ("Étude", "", "a déjà le code « etude »"),
        ("Autre", "etude", "a déjà le code « etude »"),
    ):
        with pytest.raises(Rejected) as refused:
            services.activity_code(label, code, ["etude"])
        assert refused.value.field == "code" and message in refused.value.message


async def test_an_activity_is_created_last_with_its_code_places_and_journal():
    me = await admin()
    school = await factories.make_school("École A")
    await factories.make_activity(
        "garderie_soir", "Garderie du soir", group_code="soir", sort_order=40
    )
    activity_id, code = await services.create_activity(
        me, **activity(group_code="soir", billable=False, capacities={school.id: 8})
    )
    row = await Activity.select().where(Activity.id == activity_id).first()
    assert code == row["code"] == "stage_multisports_ete"
    assert row["sort_order"] == 50 and row["group_code"] == "soir" and not row["billable"]
    assert row["weekdays"] == "1,5" and row["eligible_levels"] == "CP,CM2" and row["active"]
    caps = await ActivityCapacity.select().where(ActivityCapacity.activity == activity_id)
    assert [(c["school"], c["capacity"]) for c in caps] == [(school.id, 8)]
    assert await journal() == [
        {
            "actor": "Admin Test",
            "target": "activité stage_multisports_ete créée",
            "details": {
                "code": "stage_multisports_ete",
                "label": "Stage multisports (été)",
                "billable": False,
                "deadline_rule": "working_days",
                "group": "soir",
                "capacities": {str(school.id): 8},
            },
        }
    ]


async def test_an_activity_is_refused_for_a_taken_code_label_or_bad_hours():
    me = await admin()
    await factories.make_activity("restauration", "Restauration scolaire", short_label="Cantine")
    for changes, field in (
        ({"code": "restauration"}, "code"),
        ({"code": "pas bon !"}, "code"),
        ({"label": "!!!"}, "code"),  # no code can be formed from it
        ({"label": "Restauration"}, "code"),  # formed from the label, and taken
        ({"label": "RESTAURATION SCOLAIRE", "code": "autre"}, "libelle"),
        ({"short_label": "cantine"}, "libelle_court"),
        ({"ends_at": dt.time(16, 30)}, "fin"),
        ({"group_code": "inconnu"}, "groupe"),
        ({"deadline_rule": "demain"}, "delai"),
    ):
        with pytest.raises(Rejected) as refused:
            await services.create_activity(me, **activity(**changes))
        assert refused.value.field == field, changes
    assert await Activity.count() == 1 and await journal() == []


async def test_an_edit_keeps_what_creation_fixed_and_sets_the_places():
    me = await admin()
    a = await factories.make_school("École A")
    b = await factories.make_school("École B")
    mercredi = await factories.make_activity(
        "alsh_mercredi",
        "Mercredi",
        weekdays="3",
        capacity=30,
        school=a,
        deadline_rule="previous_wednesday",
    )
    await factories.make_activity("restauration", "Restauration scolaire", short_label="Cantine")
    values = {
        "label": "Mercredi journée",
        "short_label": "Mercredi",
        "weekdays": ["3"],
        "starts_at": dt.time(8, 30),
        "ends_at": dt.time(17, 30),
        "levels": ["CP"],
        "default_capacity": 10,
        "active": False,
    }
    with pytest.raises(Rejected) as refused:
        await services.update_activity(me, mercredi.id, **{**values, "short_label": "CANTINE"})
    assert refused.value.field == "libelle_court"
    with pytest.raises(services.Missing):
        await services.update_activity(me, 9999, **values)
    await services.update_activity(me, mercredi.id, **values, capacities={a.id: 120, b.id: 80})
    row = await Activity.select().where(Activity.id == mercredi.id).first()
    assert (row["code"], row["deadline_rule"], row["label"], row["active"]) == (
        "alsh_mercredi",
        "previous_wednesday",
        "Mercredi journée",
        False,
    )
    caps = {
        c["school"]: c["capacity"]
        for c in await ActivityCapacity.select().where(ActivityCapacity.activity == mercredi.id)
    }
    assert caps == {a.id: 120, b.id: 80}
    assert await journal() == [
        {
            "actor": "Admin Test",
            "target": "activité alsh_mercredi",
            "details": {"capacities": {str(a.id): 120, str(b.id): 80}},
        }
    ]


async def test_a_code_taken_meanwhile_is_refused_by_the_unique_index(monkeypatch):
    """Two administrators creating one code at once: the second one's check saw it free."""
    me = await admin()
    await factories.make_activity("restauration", "Restauration scolaire", short_label="Cantine")
    monkeypatch.setattr(services, "activity_code", lambda label, code, taken: "restauration")
    with pytest.raises(Rejected) as refused:
        await services.create_activity(me, **activity(code="restauration"))
    assert refused.value.field == "code" and "« restauration »" in refused.value.message
    assert await Activity.count() == 1 and await journal() == []


async def test_a_password_set_for_someone_else_is_provisional_not_ones_own():
    me = await admin()
    member = await factories.make_staff("membre", role="agent")
    await services.save_staff(
        me, PASSWORDS, member.id, display_name="Membre", role="agent", password=GOOD_PASSWORD
    )
    assert (await role_of(member.id))["must_change_password"]
    await services.save_staff(
        me,
        PASSWORDS,
        me.staff_id,
        display_name="Moi",
        role="administrateur",
        password=GOOD_PASSWORD,
    )
    assert not (await role_of(me.staff_id))["must_change_password"]
    # Saved again without a password: still provisional until its owner chooses one.
    await services.save_staff(me, PASSWORDS, member.id, display_name="Membre", role="agent")
    assert (await role_of(member.id))["must_change_password"]
