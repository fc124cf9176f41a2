"""Inscriptions decided by staff, many at once, with a waiting list where an activity is full.

Places: an activity takes, at each school, as many validated inscriptions of the school year
as it has places there (`ActivityCapacity.capacity`, else the activity's default capacity;
0 = unlimited): the same number that caps a day's bookings. An inscription that cannot be
validated for lack of places goes *en liste d'attente*; its rank is its order among the
activity's waiting inscriptions at that school (by `waitlisted_at`, then id), so the rank moves
up by itself when the one ahead is promoted or leaves the list.

A place frees when a validated inscription ends (`end_inscriptions`, « annulée ») or when the
places are raised (`promote_waiting`, called by the activity's settings): the next in rank is
then validated, in order, until the places are full again.

Every decision is journalled and e-mailed to the family (validated, refused with its reason,
waiting with its rank, promoted, ended) in the decision's transaction. Decisions on many
inscriptions run in ONE transaction: they all happen or none does. Serialisation: SQLite's
IMMEDIATE transaction; on PostgreSQL the activity's row is locked (FOR UPDATE) before its places
are counted, so two agents validating the last place at once give it to one inscription.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from ecp import clock
from ecp.audit import services as audit
from ecp.auth.principal import Principal
from ecp.booking.tables import Inscription
from ecp.commune.queries import commune_settings
from ecp.db import fetch, is_sqlite, write_transaction
from ecp.errors import Rejected
from ecp.mail.outbox import queue_email
from ecp.web import urls
from ecp.web.plural import counted

# The states of an inscription, as staff and families read them.
STATUS_LABELS = {
    "en_attente": "en attente",
    "liste_attente": "en liste d’attente",
    "validee": "validée",
    "refusee": "refusée",
    "annulee": "annulée",
}
# What each decision does, and to which states it applies.
DECISIONS = {
    "valider": ("en_attente",),
    "refuser": ("en_attente", "liste_attente"),
    "annuler": ("validee",),
}
MAIL_KIND = "inscription_decision"
MAX_AT_ONCE = 200


class NotFound(Rejected):
    """None of the inscriptions named exists."""


@dataclass
class Decided:
    inscription_id: int
    family_id: int
    child_name: str
    activity_label: str
    status: str  # validee, refusee, liste_attente, annulee
    rank: int | None = None
    promoted: bool = False  # validated from the waiting list


@dataclass
class Decisions:
    decided: list[Decided]
    skipped: int  # named but no longer in a state the decision applies to

    def count(self, status: str, promoted: bool = False) -> int:
        return sum(1 for d in self.decided if d.status == status and d.promoted == promoted)


ROW_SQL = (
    "SELECT i.id, i.status, i.activity, i.school_year, i.requested_at, c.family, c.school, "
    "c.first_name, a.label AS activity_label, a.default_capacity "
    "FROM inscription i JOIN child c ON c.id = i.child JOIN activity a ON a.id = i.activity "
)


async def _rows(ids: list[int]) -> list[dict]:
    marks = ", ".join("{}" for _ in ids)
    return await fetch(
        ROW_SQL + f"WHERE i.id IN ({marks}) ORDER BY i.requested_at, i.id",
        *ids,
        types={"requested_at": dt.datetime},
    )


async def _lock_activity(activity_id: int) -> None:
    """PostgreSQL: the activity's row serialises the counting of its places (see the module)."""
    if not is_sqlite():
        await fetch("SELECT id FROM activity WHERE id = {} FOR UPDATE", activity_id)


async def _places(activity_id: int, school_id: int | None, default: int) -> int:
    if school_id is None:
        return default
    rows = await fetch(
        "SELECT capacity FROM activity_capacity WHERE activity = {} AND school = {}",
        activity_id,
        school_id,
    )
    return rows[0]["capacity"] if rows else default


async def _group_state(activity_id: int, school_id: int | None, year_id: int) -> tuple[int, int]:
    """(validated inscriptions, waiting inscriptions) of the activity at the school this year."""
    school_clause = "c.school = {}" if school_id is not None else "c.school IS NULL"
    args = [activity_id, year_id] + ([school_id] if school_id is not None else [])
    rows = await fetch(
        "SELECT SUM(CASE WHEN i.status = 'validee' THEN 1 ELSE 0 END) AS validated, "
        "SUM(CASE WHEN i.status = 'liste_attente' THEN 1 ELSE 0 END) AS waiting "
        "FROM inscription i JOIN child c ON c.id = i.child "
        f"WHERE i.activity = {{}} AND i.school_year = {{}} AND {school_clause}",
        *args,
        types={"validated": int, "waiting": int},
    )
    return (rows[0]["validated"] or 0, rows[0]["waiting"] or 0) if rows else (0, 0)


async def _set(
    inscription_id: int,
    actor: Principal,
    status: str,
    reason: str = "",
    waitlisted_at: dt.datetime | None = None,
) -> None:
    await Inscription.update(
        {
            Inscription.status: status,
            Inscription.decided_at: clock.now(),
            Inscription.decided_by: actor.staff_id,
            Inscription.reason: reason,
            Inscription.waitlisted_at: waitlisted_at,
        }
    ).where(Inscription.id == inscription_id)


async def _wait_stamp(activity_id: int, school_id: int | None, year_id: int) -> dt.datetime:
    """When an inscription joins the list: now, or just after the last one already there, so
    that the rank's order is the order of arrival even when two join in the same instant."""
    school_clause = "c.school = {}" if school_id is not None else "c.school IS NULL"
    args = [activity_id, year_id] + ([school_id] if school_id is not None else [])
    rows = await fetch(
        "SELECT MAX(i.waitlisted_at) AS last FROM inscription i JOIN child c ON c.id = i.child "
        "WHERE i.status = 'liste_attente' AND i.activity = {} AND i.school_year = {} "
        f"AND {school_clause}",
        *args,
        types={"last": dt.datetime},
    )
    now = clock.now()
    last = rows[0]["last"] if rows else None
    return max(now, last + dt.timedelta(microseconds=1)) if last is not None else now


AUDIT_ACTIONS = {
    ("validee", False): "inscription_validate",
    ("validee", True): "inscription_promote",
    ("refusee", False): "inscription_refuse",
    ("liste_attente", False): "inscription_waitlist",
    ("annulee", False): "inscription_cancel",
}


async def _journal_and_mail(actor: Principal, decided: Decided, reason: str, settings) -> None:
    details: dict = {"activity": decided.activity_label}
    if reason:
        details["reason"] = reason
    if decided.rank is not None:
        details["rank"] = decided.rank
    await audit.record(
        actor,
        AUDIT_ACTIONS[(decided.status, decided.promoted)],
        family_id=decided.family_id,
        target=f"inscription:{decided.inscription_id}",
        details=details,
    )
    await queue_decision_mail(decided, reason, settings)


async def _promote(
    actor: Principal, activity_id: int, school_id: int | None, year_id: int, default: int, settings
) -> list[Decided]:
    """Inside the caller's transaction, with the activity locked: validates the waiting
    inscriptions in rank order while places remain."""
    places = await _places(activity_id, school_id, default)
    validated, waiting = await _group_state(activity_id, school_id, year_id)
    free = waiting if places == 0 else min(waiting, places - validated)
    if free <= 0:
        return []
    school_clause = "c.school = {}" if school_id is not None else "c.school IS NULL"
    args = [activity_id, year_id] + ([school_id] if school_id is not None else []) + [free]
    rows = await fetch(
        "SELECT i.id, c.family, c.first_name, a.label AS activity_label "
        "FROM inscription i JOIN child c ON c.id = i.child JOIN activity a ON a.id = i.activity "
        "WHERE i.status = 'liste_attente' AND i.activity = {} AND i.school_year = {} "
        f"AND {school_clause} ORDER BY i.waitlisted_at, i.id LIMIT {{}}",
        *args,
    )
    promoted = []
    for row in rows:
        await _set(row["id"], actor, "validee")
        decided = Decided(
            row["id"],
            row["family"],
            row["first_name"],
            row["activity_label"],
            "validee",
            None,
            True,
        )
        await _journal_and_mail(actor, decided, "", settings)
        promoted.append(decided)
    return promoted


async def decide_inscriptions(
    actor: Principal,
    inscription_ids: Iterable[int],
    decision: str,
    reason: str = "",
    *,
    family_id: int | None = None,
    settings=None,
) -> Decisions:
    """Validates, refuses (with the reason the family reads) or ends (« annuler », with a
    reason too) these inscriptions, oldest request first, in one transaction.

    Validating where the activity is full puts the inscription on the waiting list with its
    rank; ending a validated inscription (or refusing a waiting one) promotes the next in rank.
    An inscription no longer in a state the decision applies to (decided meanwhile by another
    agent) is skipped and counted. `family_id`: only that family's inscriptions (the counter).
    Rejected under `selection` when none is named, under `motif` for a refusal or an end without
    a reason; NotFound when none of them exists (or is the family's)."""
    _check(inscription_ids, decision, reason)
    async with write_transaction():
        return await decide_in_transaction(
            actor, inscription_ids, decision, reason, family_id=family_id, settings=settings
        )


def _check(inscription_ids: Iterable[int], decision: str, reason: str) -> tuple[list[int], str]:
    ids = list(dict.fromkeys(inscription_ids))[:MAX_AT_ONCE]
    if decision not in DECISIONS:
        raise Rejected("Choisissez « Valider », « Refuser » ou « Mettre fin ».", field="decision")
    if not ids:
        raise Rejected("Cochez au moins une inscription.", field="selection")
    reason = reason.strip()
    if decision != "valider" and not reason:
        raise Rejected("Donnez le motif : la famille le lira.", field="motif")
    return ids, "" if decision == "valider" else reason


async def decide_in_transaction(
    actor: Principal,
    inscription_ids: Iterable[int],
    decision: str,
    reason: str = "",
    *,
    family_id: int | None = None,
    settings=None,
) -> Decisions:
    """decide_inscriptions' work, inside a transaction the caller opened (an inscription asked
    for at the counter and validated at once)."""
    ids, reason = _check(inscription_ids, decision, reason)
    decided: list[Decided] = []
    rows = await _rows(ids)
    if family_id is not None:
        rows = [r for r in rows if r["family"] == family_id]
    if not rows:
        raise NotFound("Inscription introuvable")
    skipped = len(ids) - len(rows)
    for activity_id in sorted({r["activity"] for r in rows}):
        await _lock_activity(activity_id)
    # Read again under the lock: another agent may have decided some meanwhile.
    rows = await _rows([r["id"] for r in rows])
    # (activity, school, year) -> [places, validated, waiting] (an end or refusal: [default])
    state: dict[tuple, list[int]] = {}
    for row in rows:
        if row["status"] not in DECISIONS[decision]:
            skipped += 1
            continue
        group = (row["activity"], row["school"], row["school_year"])
        names = (row["id"], row["family"], row["first_name"], row["activity_label"])
        if decision != "valider":
            status = "refusee" if decision == "refuser" else "annulee"
            await _set(row["id"], actor, status, reason)
            item = Decided(*names, status)
            await _journal_and_mail(actor, item, reason, settings)
            decided.append(item)
            state.setdefault(group, [row["default_capacity"]])
            continue
        if group not in state:
            # A waiting list left behind (places raised elsewhere) goes first.
            decided += await _promote(actor, *group, row["default_capacity"], settings)
            places = await _places(row["activity"], row["school"], row["default_capacity"])
            state[group] = [places, *await _group_state(*group)]
        places, validated, waiting = state[group]
        if places == 0 or validated < places:
            state[group][1] += 1
            item = Decided(*names, "validee")
            await _set(row["id"], actor, "validee")
        else:
            state[group][2] += 1
            item = Decided(*names, "liste_attente", rank=state[group][2])
            stamp = await _wait_stamp(*group)
            await _set(row["id"], actor, "liste_attente", waitlisted_at=stamp)
        await _journal_and_mail(actor, item, "", settings)
        decided.append(item)
    if decision != "valider":
        # Places freed (an end) or a waiting list shortened (a refusal): the next in rank.
        for (activity_id, school_id, year_id), (default, *_rest) in state.items():
            decided += await _promote(actor, activity_id, school_id, year_id, default, settings)
    return Decisions(decided, skipped)


async def withdraw(family: Principal, inscription_id: int, *, settings=None) -> Decisions:
    """The family gives up one of its inscriptions (validated, asked for, or waiting): it ends
    (« annulée »), and a validated one's place goes to the next in rank, in the same
    transaction, journalled with the family as actor and e-mailed. NotFound for an inscription
    that is not the family's or no longer stands."""
    async with write_transaction():
        rows = [r for r in await _rows([inscription_id]) if r["family"] == family.family_id]
        if not rows or rows[0]["status"] not in ("en_attente", "liste_attente", "validee"):
            raise NotFound("Inscription introuvable")
        row = rows[0]
        reason = "Retirée par la famille"
        await _set(row["id"], family, "annulee", reason)
        item = Decided(
            row["id"], row["family"], row["first_name"], row["activity_label"], "annulee"
        )
        await _journal_and_mail(family, item, reason, settings)
        decided = [item]
        decided += await _promote(
            family,
            row["activity"],
            row["school"],
            row["school_year"],
            row["default_capacity"],
            settings,
        )
    return Decisions(decided, 0)


async def promote_waiting(actor: Principal, activity_id: int, *, settings=None) -> list[Decided]:
    """After the places of an activity changed (inside the caller's transaction): validates the
    waiting inscriptions, in rank order, at every school where places are now free."""
    rows = await fetch(
        "SELECT DISTINCT i.school_year, c.school, a.default_capacity "
        "FROM inscription i JOIN child c ON c.id = i.child JOIN activity a ON a.id = i.activity "
        "WHERE i.activity = {} AND i.status = 'liste_attente'",
        activity_id,
    )
    if not rows:
        return []
    await _lock_activity(activity_id)
    promoted = []
    for row in sorted(rows, key=lambda r: (r["school_year"], r["school"] or 0)):
        promoted += await _promote(
            actor, activity_id, row["school"], row["school_year"], row["default_capacity"], settings
        )
    return promoted


def summary(result: Decisions) -> str:
    """What the agent reads after a decision on many inscriptions, in French."""
    parts = []
    validated = result.count("validee")
    if validated:
        parts.append(counted(validated, "inscription validée", "inscriptions validées"))
    waiting = result.count("liste_attente")
    if waiting:
        parts.append(
            counted(waiting, "inscription mise", "inscriptions mises") + " en liste d’attente"
        )
    refused = result.count("refusee")
    if refused:
        parts.append(counted(refused, "inscription refusée", "inscriptions refusées"))
    ended = result.count("annulee")
    if ended:
        parts.append(counted(ended, "inscription annulée", "inscriptions annulées"))
    promoted = result.count("validee", promoted=True)
    if promoted:
        parts.append(
            counted(
                promoted,
                "enfant de la liste d’attente validé",
                "enfants de la liste d’attente validés",
            )
        )
    text = " ; ".join(parts) or "Aucune inscription n’a changé"
    text = text[0].upper() + text[1:]
    if result.skipped:
        text += " ; " + counted(
            result.skipped,
            "inscription déjà décidée n’a pas changé",
            "inscriptions déjà décidées n’ont pas changé",
        )
    families = {d.family_id for d in result.decided}
    if len(families) == 1:
        text += " ; la famille est prévenue par courriel"
    elif families:
        text += " ; les familles sont prévenues par courriel"
    return text + "."


# ---------------------------------------------------------------------------------------------
# The family's e-mail

SUBJECTS = {
    "validee": "Inscription validée : {activity}",
    "promue": "Une place s’est libérée : inscription validée à {activity}",
    "refusee": "Inscription refusée : {activity}",
    "liste_attente": "Inscription en liste d’attente : {activity}",
    "annulee": "Fin d’inscription : {activity}",
}


def render_decision_mail(decided: Decided, reason: str, settings, service: str):
    """(subject, text, html) of the e-mail telling the family a decision."""
    from ecp.web.templating import environment

    kind = "promue" if decided.promoted else decided.status
    context = {
        "kind": kind,
        "child": decided.child_name,
        "activity": decided.activity_label,
        "reason": reason,
        "rank": decided.rank,
        "service": service,
        "commune": settings.commune_name,
        "url": urls.absolute(settings.base_url, "family_inscriptions"),
    }
    env = environment()
    text = env.get_template("partials/mail/inscription_decision.txt").render(**context)
    html = env.get_template("partials/mail/inscription_decision.html").render(**context)
    return SUBJECTS[kind].format(activity=decided.activity_label), text, html


async def queue_decision_mail(decided: Decided, reason: str, settings=None) -> bool:
    rows = await fetch("SELECT email FROM family WHERE id = {}", decided.family_id)
    if not rows or not rows[0]["email"]:
        return False
    if settings is None:  # a caller without a request (a script): the process's settings
        from ecp.settings import Settings

        settings = Settings.from_env()
    service = (await commune_settings())["service_name"]
    subject, text, html = render_decision_mail(decided, reason, settings, service)
    await queue_email(
        to=rows[0]["email"],
        subject=subject,
        text=text,
        html=html,
        kind=MAIL_KIND,
        family_id=decided.family_id,
    )
    return True
