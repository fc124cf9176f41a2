"""Staff actions on families: create a family (once, after a look for duplicates), change its
record (responsables, contacts, quotient familial history, notes), add or edit children,
disable an account, close its sessions, send a reset link, apply or refuse contact-change
requests; and the reads that the
journal must record (a family's record, a child's health notes). Each action is journalled in
its transaction; a refusal is an ecp.errors.Rejected with its French message."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from ecp import clock
from ecp.accounts import contact, reset
from ecp.accounts.services import load_json
from ecp.audit.services import record, record_view
from ecp.auth.principal import Principal
from ecp.auth.sessions import close_all_for
from ecp.auth.tables import AuthSession
from ecp.backoffice import queries
from ecp.commune import levels as school_levels
from ecp.db import lock_for_update, write_transaction
from ecp.errors import Rejected
from ecp.families import search
from ecp.families.tables import (
    Child,
    ContactChangeRequest,
    Family,
    FamilyContact,
    Guardian,
    QuotientHistory,
)
from ecp.mail.outbox import queue_email

# No 0/o, 1/l/i: the first password is read from paper and typed on a phone.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class NotFound(Rejected):
    """The family, child or request named in the address does not exist (the page is a 404)."""


class AlreadyDecided(Rejected):
    """The contact-change request was decided by someone else first (two agents at once)."""


@dataclass
class WelcomeLetter:
    """What the letter prints; the password is shown once and never stored in clear. A
    creation posted again (`created` False) has no password: it was shown the first time."""

    family: dict
    guardian: dict | None
    password: str | None
    created: bool = True


def first_password() -> str:
    """'kdw7-p3xm-9ta4-hq2e': 16 random characters (about 79 bits) in groups of four."""
    chars = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(16))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


def creation_key() -> str:
    """The one-time key of a creation form (see create_family)."""
    return secrets.token_urlsafe(24)


async def _next_code() -> str:
    rows = (
        await Family.select(Family.code)
        .where(Family.code.like("F%"))
        .order_by(Family.code, ascending=False)
        .limit(20)
    )
    numbers = [int(r["code"][1:]) for r in rows if r["code"][1:].isdigit()]
    return f"F{(max(numbers) if numbers else 0) + 1:05d}"


class LikelyDuplicates(Rejected):
    """Families that look like the one being created: the agent confirms before it is saved."""

    def __init__(self, families: list[dict]) -> None:
        super().__init__(
            "Cette famille ressemble à une famille déjà enregistrée : vérifiez avant de la créer."
        )
        self.families = families


def _unique_violation(error: BaseException) -> bool:
    """A second post of the same creation form, arrived while the first was being saved."""
    import sqlite3

    import asyncpg

    return isinstance(error, (sqlite3.IntegrityError, asyncpg.exceptions.UniqueViolationError))


def account_email(guardians: list[dict], current: str = "") -> str:
    """The account's address (invoices, reset links): the first responsable who receives the
    e-mails and has an address. When no one does, an address that is no responsable's (one
    recorded before the responsables had theirs) stays; a responsable's is dropped."""
    for g in sorted(guardians, key=lambda g: g["rank"]):
        if g.get("receives_email") and g.get("email"):
            return g["email"]
    if current and current not in {g.get("email") for g in guardians}:
        return current
    return ""


async def _sync_account_email(family_id: int) -> None:
    guardians = await Guardian.select(Guardian.rank, Guardian.email, Guardian.receives_email).where(
        Guardian.family == family_id
    )
    family = await Family.select(Family.email).where(Family.id == family_id).first()
    await Family.update({Family.email: account_email(guardians, family["email"])}).where(
        Family.id == family_id
    )


async def create_family(
    actor: Principal,
    *,
    name: str,
    guardian: dict,
    qf: int | None,
    out_of_town: bool,
    passwords,
    second: dict | None = None,
    payer: int = 1,
    emails: str = "1",
    qf_from: dt.date | None = None,
    qf_source: str = "",
    notes: str = "",
    creation_key: str | None = None,
    check_duplicates: bool = True,
) -> WelcomeLetter:
    """A new family (its code is the next free one), its one or two responsables and its
    quotient familial from `qf_from` (today by default).

    Idempotent: a `creation_key` already used names the family it created, which comes back
    with no password (`created` False) and nothing new. Unless `check_duplicates` is off,
    raises LikelyDuplicates when a family has a responsable's phone or e-mail, or the same name
    at the same address."""
    if creation_key:
        existing = await queries.family_by_creation_key(creation_key)
        if existing is not None:
            return WelcomeLetter(existing, None, None, created=False)
    people = [guardian] + ([second] if second else [])
    if check_duplicates:
        duplicates = await queries.likely_duplicates(name, people)
        if duplicates:
            raise LikelyDuplicates(duplicates)
    password = first_password()
    password_hash = await passwords.hash(password)
    today = clock.today()
    qf_from = qf_from or today
    rows = []
    for rank, person in enumerate(people, start=1):
        receives = emails == "les_deux" or emails == str(rank)
        rows.append({**person, "rank": rank, "is_payer": payer == rank, "receives_email": receives})
    try:
        async with write_transaction():
            code = await _next_code()
            family = Family(
                code=code,
                name=name,
                password_hash=password_hash,
                email=account_email(rows) or guardian.get("email", ""),
                quotient_familial=qf if qf is not None and qf_from <= today else None,
                out_of_town=out_of_town,
                notes=notes,
                creation_key=creation_key,
                created_at=clock.now(),
                letter_issued_at=clock.now(),
                must_change_password=True,
            )
            await family.save()
            for row in rows:
                await Guardian(family=family.id, **row).save()
            if qf is not None:
                await QuotientHistory(
                    family=family.id,
                    value=qf,
                    effective_from=qf_from,
                    source=qf_source,
                    recorded_at=clock.now(),
                    recorded_by=actor.staff_id,
                ).save()
            details: dict = {
                "name": name,
                "responsables": [f"{p['first_name']} {p['last_name']}" for p in people],
                "out_of_town": out_of_town,
            }
            if qf is not None:
                details.update(value=qf, effective_from=qf_from.isoformat(), source=qf_source)
            if notes:
                details["notes"] = notes
            await record(actor, "family_created", family_id=family.id, target=code, details=details)
            await search.reindex(family.id)
    except Exception as error:
        if not (creation_key and _unique_violation(error)):
            raise
        existing = await queries.family_by_creation_key(creation_key)
        if existing is None:
            raise
        return WelcomeLetter(existing, None, None, created=False)
    return WelcomeLetter(await queries.family(family.id), guardian, password)


async def update_family(actor: Principal, family_id: int, values: dict) -> dict:
    """The family's name, out-of-town flag and notes; the journal has each change, before and
    after. Returns the changes (empty: nothing was written)."""
    async with write_transaction():
        before = await Family.select(*values.keys()).where(Family.id == family_id).first()
        if before is None:
            raise NotFound("Cette famille n’existe pas.")
        changes = _changes(before, values)
        if changes:
            await Family.update(values).where(Family.id == family_id)
            await record(actor, "family_updated", family_id=family_id, details={"changes": changes})
            await search.reindex(family_id)
    return changes


def _changes(before: dict, after: dict) -> dict[str, dict]:
    """{field: {before, after}} of the values that change (dates as ISO text)."""

    def plain(value):
        return value.isoformat() if isinstance(value, dt.date) else value

    return {
        name: {"before": plain(before.get(name)), "after": plain(value)}
        for name, value in after.items()
        if before.get(name) != value
    }


# ---------------------------------------------------------------- responsables légaux

MAX_GUARDIANS = 2


async def save_guardian(
    actor: Principal, family_id: int, values: dict, guardian_id: int | None = None
) -> int:
    """Adds the second responsable, or changes one; the journal has each change, before and
    after. One responsable pays (marking another moves it), and the account's address follows
    who receives the e-mails. Raises NotFound for another family's responsable, Rejected for a
    third one."""
    async with write_transaction():
        guardians = await lock_for_update(Guardian.select().where(Guardian.family == family_id))
        if not guardians and not await Family.exists().where(Family.id == family_id):
            raise NotFound("Cette famille n’existe pas.")
        values = dict(values)
        wants_payer = values.pop("is_payer", False)
        if guardian_id is None:
            if len(guardians) >= MAX_GUARDIANS:
                raise Rejected("Une famille a deux responsables légaux au plus.")
            rank = max((g["rank"] for g in guardians), default=0) + 1
            guardian = Guardian(family=family_id, rank=rank, is_payer=False, **values)
            await guardian.save()
            guardian_id = guardian.id
            # An addition lists what was entered; a change, each value before and after.
            added = {k: v for k, v in values.items() if v != ""}
            changes = {}
            action = "guardian_added"
            guardians = [*guardians, {**values, "id": guardian_id, "rank": rank, "is_payer": False}]
        else:
            before = next((g for g in guardians if g["id"] == guardian_id), None)
            if before is None:
                raise NotFound("Ce responsable n’appartient pas à cette famille.")
            changes = _changes(before, values)
            if changes:
                await Guardian.update(values).where(Guardian.id == guardian_id)
            action = "guardian_updated"
        payer_changes = await _set_payer(guardians, guardian_id, wants_payer)
        changes.update(payer_changes)
        if changes or action == "guardian_added":
            await _sync_account_email(family_id)
            name = f"{values.get('first_name', '')} {values.get('last_name', '')}".strip()
            if action == "guardian_added":
                details = {**added, "is_payer": bool(payer_changes) or wants_payer}
            else:
                details = {"changes": changes}
            await record(
                actor,
                action,
                family_id=family_id,
                target=f"responsable {name}"[:120],
                details=details,
            )
            await search.reindex(family_id)
    return guardian_id


async def _set_payer(guardians: list[dict], guardian_id: int, wants: bool) -> dict:
    """Marks who pays after a save: this responsable if asked; if it was the payer and no
    longer is, the other one; the first one when no one would. Returns the change of this
    responsable's flag, for the journal."""
    current = next((g for g in guardians if g["is_payer"]), None)
    ranked = sorted(guardians, key=lambda g: g["rank"])
    if wants:
        payer_id = guardian_id
    elif current is not None and current["id"] == guardian_id:
        others = [g for g in ranked if g["id"] != guardian_id]
        payer_id = others[0]["id"] if others else guardian_id
    elif current is not None:
        payer_id = current["id"]
    else:
        payer_id = ranked[0]["id"]
    before = bool(current and current["id"] == guardian_id) or (
        current is None and ranked[0]["id"] == guardian_id
    )
    ids = [g["id"] for g in guardians]
    await Guardian.update({Guardian.is_payer: False}).where(
        Guardian.id.is_in(ids) & (Guardian.id != payer_id)
    )
    await Guardian.update({Guardian.is_payer: True}).where(Guardian.id == payer_id)
    after = payer_id == guardian_id
    return {} if before == after else {"is_payer": {"before": before, "after": after}}


async def remove_guardian(actor: Principal, family_id: int, guardian_id: int) -> str:
    """Removes the second responsable (a family keeps at least one); the other one then pays
    and comes first. Refused while one of its contact-change requests waits. Returns the
    name."""
    async with write_transaction():
        guardians = await lock_for_update(Guardian.select().where(Guardian.family == family_id))
        gone = next((g for g in guardians if g["id"] == guardian_id), None)
        if gone is None:
            raise NotFound("Ce responsable n’appartient pas à cette famille.")
        if len(guardians) < 2:
            raise Rejected("Une famille garde au moins un responsable légal.")
        if await ContactChangeRequest.exists().where(
            (ContactChangeRequest.guardian == guardian_id)
            & (ContactChangeRequest.status == "en_attente")
        ):
            raise Rejected(
                "Une demande de changement de coordonnées de ce responsable attend une "
                "décision : traitez-la d’abord (Demandes)."
            )
        await ContactChangeRequest.delete().where(ContactChangeRequest.guardian == guardian_id)
        await Guardian.delete().where(Guardian.id == guardian_id)
        [kept] = [g for g in guardians if g["id"] != guardian_id]
        await Guardian.update({Guardian.rank: 1, Guardian.is_payer: True}).where(
            Guardian.id == kept["id"]
        )
        await _sync_account_email(family_id)
        name = f"{gone['first_name']} {gone['last_name']}"
        fields = ("civility", "first_name", "last_name", *contact.FIELDS)
        await record(
            actor,
            "guardian_removed",
            family_id=family_id,
            target=f"responsable {name}"[:120],
            details={f: gone[f] for f in fields if gone[f]},
        )
        await search.reindex(family_id)
    return name


# ---------------------------------------------------------------- contacts


async def save_contact(
    actor: Principal, family_id: int, values: dict, contact_id: int | None = None
) -> int:
    """Adds or changes someone to call in an emergency or allowed to collect the children."""
    async with write_transaction():
        await _known_family(family_id)
        if contact_id is None:
            row = FamilyContact(family=family_id, created_at=clock.now(), **values)
            await row.save()
            contact_id = row.id
            details = {k: v for k, v in values.items() if v != ""}
            action = "family_contact_added"
        else:
            before = await queries.family_contact(family_id, contact_id)
            if before is None:
                raise NotFound("Cette personne n’est pas un contact de cette famille.")
            changes = _changes(before, values)
            if not changes:
                return contact_id
            await FamilyContact.update(values).where(FamilyContact.id == contact_id)
            details = {"changes": changes}
            action = "family_contact_updated"
        await record(
            actor,
            action,
            family_id=family_id,
            target=f"{values['first_name']} {values['last_name']}"[:120],
            details=details,
        )
    return contact_id


async def remove_contact(actor: Principal, family_id: int, contact_id: int) -> str:
    async with write_transaction():
        before = await queries.family_contact(family_id, contact_id)
        if before is None:
            raise NotFound("Cette personne n’est pas un contact de cette famille.")
        await FamilyContact.delete().where(FamilyContact.id == contact_id)
        name = f"{before['first_name']} {before['last_name']}"
        fields = ("first_name", "last_name", "relationship", "phone", "emergency", "may_collect")
        await record(
            actor,
            "family_contact_removed",
            family_id=family_id,
            target=name[:120],
            details={f: before[f] for f in fields if before[f] != ""},
        )
    return name


# ---------------------------------------------------------------- quotient familial


async def _refresh_quotient(family_id: int) -> None:
    """The family row keeps the quotient in force today, for the pages that show one."""
    today = clock.today()
    row = (
        await QuotientHistory.select(QuotientHistory.value)
        .where((QuotientHistory.family == family_id) & (QuotientHistory.effective_from <= today))
        .order_by(QuotientHistory.effective_from, ascending=False)
        .first()
    )
    await Family.update({Family.quotient_familial: row["value"] if row else None}).where(
        Family.id == family_id
    )


async def record_quotient(
    actor: Principal, family_id: int, *, value: int, effective_from: dt.date, source: str
) -> None:
    """A quotient familial from `effective_from` on; a correction of the same day replaces that
    day's. The journal has the quotient that was in force that day and the new one.

    A family whose quotient was on its row only (before the history) keeps it as the first
    line of its history, from the day the family was created, so that the days before the new
    one keep the quotient they had."""
    async with write_transaction():
        family = (
            await Family.select(Family.quotient_familial, Family.created_at)
            .where(Family.id == family_id)
            .first()
        )
        if family is None:
            raise NotFound("Cette famille n’existe pas.")
        history = await lock_for_update(
            QuotientHistory.select().where(QuotientHistory.family == family_id)
        )
        created = family["created_at"].astimezone(clock.PARIS).date()
        if not history and family["quotient_familial"] is not None and created < effective_from:
            await QuotientHistory(
                family=family_id,
                value=family["quotient_familial"],
                effective_from=created,
                source="fiche",
                recorded_at=clock.now(),
                recorded_by=actor.staff_id,
            ).save()
            history = [{"value": family["quotient_familial"], "effective_from": created}]
        in_force = max(
            (h for h in history if h["effective_from"] <= effective_from),
            key=lambda h: h["effective_from"],
            default=None,
        )
        before = in_force["value"] if in_force else family["quotient_familial"]
        same_day = next((h for h in history if h["effective_from"] == effective_from), None)
        if same_day is not None and "id" in same_day:
            await QuotientHistory.update(
                {
                    QuotientHistory.value: value,
                    QuotientHistory.source: source,
                    QuotientHistory.recorded_at: clock.now(),
                    QuotientHistory.recorded_by: actor.staff_id,
                }
            ).where(QuotientHistory.id == same_day["id"])
        else:
            await QuotientHistory(
                family=family_id,
                value=value,
                effective_from=effective_from,
                source=source,
                recorded_at=clock.now(),
                recorded_by=actor.staff_id,
            ).save()
        await _refresh_quotient(family_id)
        await record(
            actor,
            "quotient_recorded",
            family_id=family_id,
            target=f"à partir du {effective_from.strftime('%d/%m/%Y')}",
            details={
                "changes": {"value": {"before": before, "after": value}},
                "effective_from": effective_from.isoformat(),
                "source": source,
                # Said only when it happened: a correction of that day's quotient.
                **({"replaced": True} if same_day is not None else {}),
            },
        )


async def remove_quotient(actor: Principal, family_id: int, quotient_id: int) -> dict:
    """Removes a quotient entered by mistake; the one before it applies again."""
    async with write_transaction():
        row = (
            await QuotientHistory.select()
            .where((QuotientHistory.id == quotient_id) & (QuotientHistory.family == family_id))
            .first()
        )
        if row is None:
            raise NotFound("Ce quotient familial n’est pas celui de cette famille.")
        await QuotientHistory.delete().where(QuotientHistory.id == quotient_id)
        await _refresh_quotient(family_id)
        await record(
            actor,
            "quotient_removed",
            family_id=family_id,
            target=f"à partir du {row['effective_from'].strftime('%d/%m/%Y')}",
            details={
                "changes": {"value": {"before": row["value"], "after": ""}},
                "effective_from": row["effective_from"].isoformat(),
                "source": row["source"],
            },
        )
    return row


async def _check_school_fit(values: dict) -> None:
    """A child's level is one its school teaches, and its class is one of that school's
    classes this year (Rejected, next to the field, otherwise)."""
    fit = await queries.school_fit(values.get("school"), values.get("school_class"))
    kind = fit["kind"]
    if kind is not None and not school_levels.teaches(kind, values["level"]):
        raise Rejected(
            f"L’école {fit['school_name']} n’enseigne pas le niveau {values['level']} "
            f"({school_levels.KIND_LABELS.get(kind, kind)} : {school_levels.levels_text(kind)}).",
            field="niveau",
        )
    if values.get("school_class") is not None:
        if values.get("school") is None:
            raise Rejected("Choisissez d’abord l’école de cette classe.", field="classe")
        if fit["class_school"] != values["school"]:
            raise Rejected(
                f"Cette classe n’est pas une classe de l’école {fit['school_name']}.",
                field="classe",
            )


async def save_child(
    actor: Principal, family_id: int, values: dict, child_id: int | None = None
) -> int:
    async with write_transaction():
        await _check_school_fit(values)
        if child_id is None:
            child = Child(family=family_id, **values)
            await child.save()
            child_id = child.id
            await record(
                actor,
                "child_created",
                family_id=family_id,
                target=f"enfant {child_id}",
                details={"fields": sorted(values)},
            )
        else:
            before = (
                await Child.select(*values.keys())
                .where((Child.id == child_id) & (Child.family == family_id))
                .first()
            )
            if before is None:
                raise NotFound("Cet enfant n’appartient pas à cette famille.")
            changed = sorted(k for k, v in values.items() if before.get(k) != v)
            await Child.update(values).where((Child.id == child_id) & (Child.family == family_id))
            # Field names only: the journal must not become a second copy of health data.
            await record(
                actor,
                "child_updated",
                family_id=family_id,
                target=f"enfant {child_id}",
                details={"fields": changed},
            )
        await search.reindex(family_id)
    return child_id


async def _known_family(family_id: int) -> None:
    if not await Family.exists().where(Family.id == family_id):
        raise NotFound("Cette famille n’existe pas.")


async def set_active(actor: Principal, family_id: int, active: bool) -> None:
    """Disabling also closes every session of the family (docs/security.md B5)."""
    async with write_transaction():
        await _known_family(family_id)
        await Family.update({Family.active: active}).where(Family.id == family_id)
        if not active:
            await close_all_for(family_id=family_id)
        await record(actor, "family_enabled" if active else "family_disabled", family_id=family_id)


async def close_family_sessions(actor: Principal, settings, family_id: int) -> int:
    """Logs the family out everywhere (docs/security.md B5) and leaves the account active.

    Every session row goes, expired ones too; the count returned (and journalled) is of the
    sessions that were still open, which is what the agent can tell the family.
    """
    async with write_transaction():
        await _known_family(family_id)
        now = clock.now()
        live = await AuthSession.count().where(queries.live_sessions(family_id, settings, now))
        await AuthSession.delete().where(AuthSession.family == family_id)
        await record(
            actor, "family_sessions_closed", family_id=family_id, details={"sessions": live}
        )
    return live


async def send_reset_link(actor: Principal, settings, family_id: int) -> None:
    family = await Family.select(Family.email, Family.active).where(Family.id == family_id).first()
    if family is None:
        raise NotFound("Cette famille n’existe pas.")
    if not family["email"]:
        raise Rejected(
            "Cette famille n’a pas d’adresse électronique : remettez-lui une "
            "nouvelle lettre d’accueil."
        )
    if not family["active"]:
        raise Rejected("Le compte est désactivé : réactivez-le avant d’envoyer un lien.")
    link = await reset.create_link(settings, family_id, family["email"])
    if link is None:
        raise Rejected(
            "Trois liens ont déjà été envoyés dans l’heure : attendez avant d’en envoyer un autre."
        )
    await record(actor, "reset_link_sent", family_id=family_id)


async def new_letter(actor: Principal, family_id: int, passwords) -> WelcomeLetter:
    """A new first password for a family without e-mail (the letter is printed again); every
    session of the family is closed, and a lock after failed logins lifted."""
    family = await queries.family(family_id)
    if family is None:
        raise NotFound("Cette famille n’existe pas.")
    password = first_password()
    password_hash = await passwords.hash(password)
    async with write_transaction():
        await Family.update(
            {
                Family.password_hash: password_hash,
                Family.failed_logins: 0,
                Family.locked_until: None,
                Family.letter_issued_at: clock.now(),
                Family.must_change_password: True,
            }
        ).where(Family.id == family_id)
        await close_all_for(family_id=family_id)
        await record(
            actor,
            "family_updated",
            family_id=family_id,
            target="nouveau mot de passe",
            details={"fields": ["password"]},
        )
    return WelcomeLetter(family, await queries.first_guardian(family_id), password)


# ---------------------------------------------------------------- reads the journal records


async def open_family_record(actor: Principal, settings, family_id: int) -> dict | None:
    """The family's record (queries.family_record) and its open sessions; the consultation is
    journalled. None when the family does not exist (nothing is journalled then)."""
    data = await queries.family_record(family_id)
    if data is None:
        return None
    await record_view(actor, family_id)
    data["open_sessions"] = await queries.open_session_count(family_id, settings)
    return data


async def read_health_notes(
    actor: Principal, family_id: int, child_id: int
) -> tuple[dict, dict] | None:
    """(family, child) for the health page; every read is journalled, in the agent's name.
    None when the family does not exist or the child is not one of its children."""
    family = await queries.family(family_id)
    child = await queries.child(family_id, child_id) if family is not None else None
    if child is None:
        return None
    await record(
        actor,
        "health_notes_read",
        family_id=family_id,
        target=f"enfant {child_id}",
        details={"page": "santé"},
    )
    return family, child


async def open_child_form(
    actor: Principal, family_id: int, child_id: int
) -> queries.ChildPage | None:
    """The edit page of a child: it shows the health notes, so opening it is a journalled read."""
    page = await queries.child_page(family_id, child_id)
    if page is None:
        return None
    await record(
        actor,
        "health_notes_read",
        family_id=family_id,
        target=f"enfant {child_id}",
        details={"page": "modification"},
    )
    return page


# ---------------------------------------------------------------- contact-change requests


def _decision_mail(family_name: str, status: str, lines: list[dict], reason: str) -> str:
    if status == "refusee":
        head = "Votre demande de changement de coordonnées n’a pas pu être appliquée."
    elif status == "partielle":
        head = "Votre demande de changement de coordonnées a été appliquée en partie."
    else:
        head = "Votre demande de changement de coordonnées a été appliquée."
    body = [f"Bonjour,\n\n{head}\n"]
    for line in lines:
        state = "appliqué" if line["applied"] else "non appliqué"
        body.append(f"- {line['label']} : {line['after'] or '(vide)'} ({state})")
    if reason:
        body.append(f"\nMotif : {reason}")
    body.append(
        "\nVous pouvez suivre vos demandes dans « Mes coordonnées » sur le Portail "
        "Famille.\n\nService Scolaire-Enfance-Jeunesse"
    )
    return "\n".join(body)


async def decide_request(
    actor: Principal, request_id: int, *, apply_fields: list[str], reason: str
) -> dict:
    """Applies the chosen fields (none = refusal) of a waiting request, tells the family.

    Raises NotFound for an unknown request, AlreadyDecided if it was decided already (two
    agents at once: one wins), Rejected if its responsable is gone.
    """
    async with write_transaction():
        rows = await lock_for_update(
            ContactChangeRequest.select().where(ContactChangeRequest.id == request_id)
        )
        if not rows:
            raise NotFound("Cette demande n’existe pas.")
        req = rows[0]
        if req["status"] != "en_attente":
            raise AlreadyDecided("Cette demande a déjà été traitée.")
        changes = load_json(req["changes"], {})
        chosen = [f for f in apply_fields if f in changes and f in contact.FIELDS]
        status = (
            "refusee" if not chosen else "appliquee" if set(chosen) == set(changes) else "partielle"
        )
        family_id = req["family"]
        old_email = (await Family.select(Family.email).where(Family.id == family_id).first())[
            "email"
        ]
        guardian = (
            await Guardian.select(Guardian.id, Guardian.rank)
            .where((Guardian.id == req["guardian"]) & (Guardian.family == family_id))
            .first()
        )
        if chosen and guardian is None:
            raise Rejected("Le responsable concerné n’existe plus.")
        if chosen:
            values = {getattr(Guardian, f): changes[f]["after"] for f in chosen}
            await Guardian.update(values).where(Guardian.id == guardian["id"])
            # The account's address (invoices, resets) follows who receives the e-mails.
            if "email" in chosen:
                await _sync_account_email(family_id)
        await ContactChangeRequest.update(
            {
                ContactChangeRequest.status: status,
                ContactChangeRequest.decided_at: clock.now(),
                ContactChangeRequest.decided_by: actor.staff_id,
                ContactChangeRequest.applied_fields: chosen,
                ContactChangeRequest.reason: reason,
            }
        ).where(ContactChangeRequest.id == request_id)
        await record(
            actor,
            "contact_change_refused" if status == "refusee" else "contact_change_applied",
            family_id=family_id,
            target=f"demande {request_id}",
            details={
                "applied": chosen,
                "not_applied": sorted(set(changes) - set(chosen)),
                "reason": reason,
            },
        )
        lines = [
            {"label": contact.FIELDS[f], "after": c.get("after", ""), "applied": f in chosen}
            for f, c in changes.items()
            if f in contact.FIELDS
        ]
        family = (
            await Family.select(Family.email, Family.name).where(Family.id == family_id).first()
        )
        text = _decision_mail(family["name"], status, lines, reason)
        recipients = [a for a in dict.fromkeys([family["email"], old_email]) if a]
        for address in recipients:
            await queue_email(
                to=address,
                subject="Votre demande de changement de coordonnées",
                text=text,
                kind="demande",
                family_id=family_id,
            )
        if chosen:
            await search.reindex(family_id)
    return {"status": status, "applied": chosen, "family_id": family_id}


def parse_date(value: str) -> dt.date | None:
    """'2026-11-29' or '29/11/2026', within the years the app can compute around (kept for the
    settings pages, which still parse their dates by hand)."""
    from ecp.web.params import parse_day

    return parse_day(value)
