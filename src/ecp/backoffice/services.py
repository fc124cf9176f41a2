"""Staff actions on families: create a family, add or edit children, disable an account, close
its sessions, send a reset link, apply or refuse contact-change requests; and the reads that the
journal must record (a family's record, a child's health notes). Each action is journalled in
its transaction; a refusal is an ecp.errors.Rejected with its French message."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from ecp import clock
from ecp.accounts import contact, reset
from ecp.accounts.services import load_json
from ecp.audit.services import record
from ecp.auth.principal import Principal
from ecp.auth.sessions import close_all_for
from ecp.auth.tables import AuthSession
from ecp.backoffice import queries
from ecp.db import lock_for_update, write_transaction
from ecp.errors import Rejected
from ecp.families import search
from ecp.families.tables import Child, ContactChangeRequest, Family, Guardian
from ecp.mail.outbox import queue_email

# No 0/o, 1/l/i: the first password is read from paper and typed on a phone.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class NotFound(Rejected):
    """The family, child or request named in the address does not exist (the page is a 404)."""


class AlreadyDecided(Rejected):
    """The contact-change request was decided by someone else first (two agents at once)."""


@dataclass
class WelcomeLetter:
    """What the letter prints; the password is shown once and never stored in clear."""

    family: dict
    guardian: dict | None
    password: str


def first_password() -> str:
    """'kdw7-p3xm-9ta4-hq2e': 16 random characters (about 79 bits) in groups of four."""
    chars = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(16))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


async def _next_code() -> str:
    rows = (
        await Family.select(Family.code)
        .where(Family.code.like("F%"))
        .order_by(Family.code, ascending=False)
        .limit(20)
    )
    numbers = [int(r["code"][1:]) for r in rows if r["code"][1:].isdigit()]
    return f"F{(max(numbers) if numbers else 0) + 1:05d}"


async def create_family(
    actor: Principal, *, name: str, guardian: dict, qf: int | None, out_of_town: bool, passwords
) -> WelcomeLetter:
    """A new family (its code is the next free one) and its first responsable."""
    password = first_password()
    password_hash = await passwords.hash(password)
    async with write_transaction():
        code = await _next_code()
        family = Family(
            code=code,
            name=name,
            password_hash=password_hash,
            email=guardian.get("email", ""),
            quotient_familial=qf,
            out_of_town=out_of_town,
            created_at=clock.now(),
        )
        await family.save()
        await Guardian(family=family.id, rank=1, **guardian).save()
        await record(actor, "family_created", family_id=family.id, target=code)
        await search.reindex(family.id)
    return WelcomeLetter(await queries.family(family.id), guardian, password)


async def save_child(
    actor: Principal, family_id: int, values: dict, child_id: int | None = None
) -> int:
    async with write_transaction():
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
    await record(actor, "family_record_viewed", family_id=family_id)
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
            # The first responsable's address is the account's: invoices and resets go there.
            if "email" in chosen and guardian["rank"] == 1:
                await Family.update({Family.email: changes["email"]["after"]}).where(
                    Family.id == family_id
                )
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
