"""Booking, cancelling and declaring an illness: the rules of PRODUCT.md enforced in one
transaction each, with the place counter kept by a conditional UPDATE.

Capacity: `UPDATE slot SET booked = booked + 1 WHERE ... AND booked < capacity` inside
write_transaction(). On SQLite the IMMEDIATE transaction serialises writers; on PostgreSQL the
UPDATE takes the slot's row lock and re-checks `booked < capacity` once the previous holder
commits, so two parents tapping the last place get one booking, never two. The child's row is
locked first (lock_for_update) so the same child booked twice at once waits and then sees its
own booking. An ill child frees its place (Slot.booked - 1): the day is not billed and staff
may give the place to another child on the day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


from ecp import clock
from ecp.audit import services as audit
from ecp.auth.principal import Principal
from ecp.booking import calendar as cal
from ecp.booking.tables import Attendance, Booking, Inscription, Slot
from ecp.commune.tables import Activity, ActivityCapacity
from ecp.db import lock_for_update, write_transaction
from ecp.families.tables import Child


class BookingError(Exception):
    """A refusal the family can read; `code` names the cell state it matches."""

    code = "erreur"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SlotFull(BookingError):
    code = "complet"


class DeadlinePassed(BookingError):
    code = "delai"


class NotRegistered(BookingError):
    code = "non_inscrit"


class Closed(BookingError):
    code = "ferme"


class Conflict(BookingError):
    code = "conflit"


class NothingToDo(BookingError):
    code = "rien"


class NotFound(BookingError):
    code = "introuvable"


@dataclass
class Outcome:
    child_name: str
    activity_label: str
    day: dt.date
    state: str  # the booking's state after the action
    changed: bool = True


# ---------------------------------------------------------------------------------------------
# Reference data


async def load_rules(start: dt.date, end: dt.date) -> tuple[cal.Rules, int | None]:
    """Rules (settings, school year, closures) and the current school year id."""
    from ecp.booking.queries import load_rules_and_year

    return await load_rules_and_year(start, end)


async def capacity_for(activity: dict, school_id: int | None) -> int:
    row = await ActivityCapacity.select(ActivityCapacity.capacity).where(
        (ActivityCapacity.activity == activity["id"]) & (ActivityCapacity.school == school_id)
    ).first()
    return row["capacity"] if row else int(activity.get("default_capacity") or 0)


# ---------------------------------------------------------------------------------------------
# Place counter


async def _ensure_slot(school_id: int, activity_id: int, day: dt.date) -> None:
    # ON CONFLICT DO NOTHING: two first bookings of a day must not fail on the unique index.
    await Slot.raw(
        "INSERT INTO slot (school, activity, day, booked) VALUES ({}, {}, {}, 0) "
        "ON CONFLICT (school, activity, day) DO NOTHING", school_id, activity_id, day)


async def _take_place(school_id: int, activity_id: int, day: dt.date, capacity: int) -> bool:
    await _ensure_slot(school_id, activity_id, day)
    where = (Slot.school == school_id) & (Slot.activity == activity_id) & (Slot.day == day)
    if capacity > 0:
        where = where & (Slot.booked < capacity)
    rows = await Slot.update({Slot.booked: Slot.booked + 1}).where(where).returning(Slot.id)
    return bool(rows)


async def _free_place(school_id: int, activity_id: int, day: dt.date) -> None:
    await Slot.update({Slot.booked: Slot.booked - 1}).where(
        (Slot.school == school_id) & (Slot.activity == activity_id) & (Slot.day == day)
        & (Slot.booked > 0))


# ---------------------------------------------------------------------------------------------
# One booking, inside a transaction the caller opened


async def _child(child_id: int, family_id: int | None) -> dict:
    query = Child.select().where((Child.id == child_id) & (Child.active == True))  # noqa: E712
    if family_id is not None:
        query = query.where(Child.family == family_id)
    child = await lock_for_update(query).first()
    if child is None:
        raise NotFound("Enfant introuvable.")
    return child


async def _activity(activity_id: int) -> dict:
    activity = await Activity.select().where(
        (Activity.id == activity_id) & (Activity.active == True)).first()  # noqa: E712
    if activity is None:
        raise NotFound("Activité introuvable.")
    return activity


def _name(child: dict) -> str:
    return child["first_name"]


async def _book(child: dict, activity_row: dict, day: dt.date, rules: cal.Rules,
                year_id: int | None, *, staff: bool, now: dt.datetime, source: str,
                staff_id: int | None) -> Outcome:
    activity = cal.ActivityInfo.from_row(activity_row)
    who, what = _name(child), activity.short_label
    existing = await Booking.select(Booking.id, Booking.state).where(
        (Booking.child == child["id"]) & (Booking.activity == activity.id) & (Booking.day == day)
    ).first()
    if existing and existing["state"] in ("reservee", "malade"):
        raise NothingToDo(f"{what} est déjà réservé pour {who} ce jour-là.")
    reason = cal.closed_reason(day, activity, child["school"], rules)
    if reason:
        raise Closed(f"{what} est fermé ce jour-là ({reason}).")
    if not activity.eligible(child["level"]):
        raise NotRegistered(f"{what} n’est pas ouvert au niveau {child['level']}.")
    inscribed = await Inscription.exists().where(
        (Inscription.child == child["id"]) & (Inscription.activity == activity.id)
        & (Inscription.school_year == year_id) & (Inscription.status == "validee"))
    if not inscribed:
        raise NotRegistered(f"{who} n’est pas inscrit·e à « {activity.label} » : "
                            "demandez l’inscription depuis la page Inscriptions.")
    if not staff and not cal.open_for_family(day, activity, rules, now):
        limit = cal.deadline(day, activity, rules)
        raise DeadlinePassed(f"Délai dépassé : {what} se réservait jusqu’au "
                             f"{limit.strftime('%d/%m/%Y')} à {limit.strftime('%H:%M')}.")
    if activity.group_code:
        others = await Booking.select(Booking.activity.short_label.as_alias("label")).where(
            (Booking.child == child["id"]) & (Booking.day == day)
            & (Booking.state == "reservee") & (Booking.activity != activity.id)
            & (Booking.activity.group_code == activity.group_code)).first()
        if others:
            raise Conflict(f"{who} est déjà réservé·e pour « {others['label']} » ce jour-là : "
                           "annulez-le d’abord.")
    if child["school"] is None:
        raise NotRegistered(f"{who} n’a pas d’école enregistrée : contactez le service.")
    capacity = await capacity_for(activity_row, child["school"])
    if not await _take_place(child["school"], activity.id, day, capacity):
        raise SlotFull(f"Complet : plus de place en {what} ce jour-là.")
    stamp = clock.now()
    if existing:
        await Booking.update({Booking.state: "reservee", Booking.source: source,
                              Booking.school: child["school"], Booking.updated_at: stamp,
                              Booking.updated_by: staff_id}).where(Booking.id == existing["id"])
    else:
        await Booking.insert(Booking(child=child["id"], activity=activity.id,
                                     school=child["school"], day=day, state="reservee",
                                     source=source, created_at=stamp, updated_at=stamp,
                                     updated_by=staff_id))
    return Outcome(who, what, day, "reservee")


async def _cancel(child: dict, activity_row: dict, day: dt.date, rules: cal.Rules, *,
                  staff: bool, now: dt.datetime, staff_id: int | None) -> Outcome:
    activity = cal.ActivityInfo.from_row(activity_row)
    who, what = _name(child), activity.short_label
    existing = await Booking.select(Booking.id, Booking.state, Booking.school).where(
        (Booking.child == child["id"]) & (Booking.activity == activity.id) & (Booking.day == day)
    ).first()
    if not existing or existing["state"] == "annulee":
        raise NothingToDo(f"{what} n’était pas réservé pour {who} ce jour-là.")
    if existing["state"] == "malade" and not staff:
        raise NothingToDo(f"L’absence de {who} est déjà signalée ce jour-là.")
    if not staff and not cal.open_for_family(day, activity, rules, now):
        raise DeadlinePassed("Délai dépassé : seul le service peut encore modifier ce jour.")
    await Booking.update({Booking.state: "annulee", Booking.updated_at: clock.now(),
                          Booking.updated_by: staff_id}).where(Booking.id == existing["id"])
    if existing["state"] == "reservee":
        await _free_place(existing["school"], activity.id, day)
    return Outcome(who, what, day, "annulee")


async def _illness(child: dict, activity_row: dict, day: dt.date, rules: cal.Rules, *,
                   staff: bool, now: dt.datetime, staff_id: int | None) -> Outcome:
    activity = cal.ActivityInfo.from_row(activity_row)
    who, what = _name(child), activity.short_label
    existing = await Booking.select(Booking.id, Booking.state, Booking.school).where(
        (Booking.child == child["id"]) & (Booking.activity == activity.id) & (Booking.day == day)
    ).first()
    if not existing or existing["state"] != "reservee":
        raise NothingToDo(f"{what} n’est pas réservé pour {who} ce jour-là.")
    if not staff and not cal.illness_open(day, rules, now):
        cutoff = rules.illness_cutoff.strftime("%H:%M")
        raise DeadlinePassed(f"Une absence pour maladie se signale le jour même, avant {cutoff}.")
    await Booking.update({Booking.state: "malade", Booking.updated_at: clock.now(),
                          Booking.updated_by: staff_id}).where(Booking.id == existing["id"])
    await _free_place(existing["school"], activity.id, day)
    return Outcome(who, what, day, "malade")


ACTIONS = {"reserver": "book", "annuler": "cancel", "malade": "illness"}


async def change(action: str, *, child_id: int, activity_id: int, day: dt.date,
                 family_id: int | None, actor: Principal | None = None) -> Outcome:
    """One tap on a cell. `family_id` scopes the child (families); `actor` is staff or None.

    Staff changes ignore the deadline and are audit-logged in the same transaction.
    """
    if action not in ACTIONS:
        raise NothingToDo("Action inconnue.")
    staff = actor is not None and actor.is_staff
    staff_id = actor.staff_id if staff else None
    now = clock.now()
    rules, year_id = await load_rules(day, day)
    async with write_transaction():
        child = await _child(child_id, family_id)
        activity_row = await _activity(activity_id)
        if action == "reserver":
            outcome = await _book(child, activity_row, day, rules, year_id, staff=staff, now=now,
                                  source="agent" if staff else "famille", staff_id=staff_id)
        elif action == "annuler":
            outcome = await _cancel(child, activity_row, day, rules, staff=staff, now=now,
                                    staff_id=staff_id)
        else:
            outcome = await _illness(child, activity_row, day, rules, staff=staff, now=now,
                                     staff_id=staff_id)
        if staff:
            await audit.record(actor, f"booking_{ACTIONS[action]}", family_id=child["family"],
                               target=f"child:{child['id']}",
                               details={"activity": activity_row["code"], "day": day.isoformat(),
                                        "late": not cal.open_for_family(
                                            day, cal.ActivityInfo.from_row(activity_row), rules,
                                            now)})
    return outcome


async def book(child_id: int, activity_id: int, day: dt.date, *, family_id: int | None = None,
               actor: Principal | None = None) -> Outcome:
    return await change("reserver", child_id=child_id, activity_id=activity_id, day=day,
                        family_id=family_id, actor=actor)


async def cancel(child_id: int, activity_id: int, day: dt.date, *, family_id: int | None = None,
                 actor: Principal | None = None) -> Outcome:
    return await change("annuler", child_id=child_id, activity_id=activity_id, day=day,
                        family_id=family_id, actor=actor)


async def declare_illness(child_id: int, activity_id: int, day: dt.date, *,
                          family_id: int | None = None,
                          actor: Principal | None = None) -> Outcome:
    return await change("malade", child_id=child_id, activity_id=activity_id, day=day,
                        family_id=family_id, actor=actor)


# ---------------------------------------------------------------------------------------------
# Semaine type


@dataclass
class PlanItem:
    child_id: int
    child_name: str
    activity_id: int
    activity_label: str
    day: dt.date
    ok: bool
    reason: str = ""


async def plan_week_pattern(family_id: int, child_ids: list[int], pattern: dict[int, set[int]],
                            start: dt.date, end: dt.date) -> list[PlanItem]:
    """What a semaine type would do, day by day, without writing: every booking it would add
    and every day it cannot book, with the reason. Additive: it never cancels a booking.

    pattern: activity id -> ISO weekdays. A fixed number of queries (see queries.load_calendar).
    """
    from ecp.booking.queries import load_calendar

    data = await load_calendar(family_id, start, end)
    now = clock.now()
    items: list[PlanItem] = []
    for child in data.children:
        if child["id"] not in child_ids:
            continue
        for activity in data.activities:
            weekdays = pattern.get(activity.id)
            if not weekdays:
                continue
            if not activity.eligible(child["level"]):
                continue
            for day in cal.days_between(start, end):
                if day.isoweekday() not in weekdays:
                    continue
                state = data.booking_state(child["id"], activity.id, day)
                if state in ("reservee", "malade"):
                    continue  # already there: no change
                cell = data.cell(child, activity, day, now)
                if cell.state == "libre":
                    conflict = data.group_conflict(child["id"], activity, day)
                    if conflict:
                        items.append(PlanItem(child["id"], child["first_name"], activity.id,
                                              activity.short_label, day, False,
                                              f"déjà réservé : {conflict}"))
                    else:
                        items.append(PlanItem(child["id"], child["first_name"], activity.id,
                                              activity.short_label, day, True))
                elif cell.state == "ferme" and cell.reason == "Pas d’activité ce jour-là":
                    continue
                else:
                    reason = cell.label + (f" ({cell.reason})" if cell.reason else "")
                    items.append(PlanItem(child["id"], child["first_name"], activity.id,
                                          activity.short_label, day, False, reason))
    items.sort(key=lambda i: (i.day, i.child_name, i.activity_label))
    return items


async def apply_week_pattern(family_id: int, items: list[PlanItem]) -> tuple[int, list[str]]:
    """Books the planned days in ONE transaction; a day that filled up meanwhile is reported,
    not fatal. Returns (bookings made, messages of the days refused)."""
    now = clock.now()
    todo = [i for i in items if i.ok]
    if not todo:
        return 0, []
    rules, year_id = await load_rules(min(i.day for i in todo), max(i.day for i in todo))
    made, refused = 0, []
    async with write_transaction():
        children: dict[int, dict] = {}
        activities: dict[int, dict] = {}
        for item in todo:
            if item.child_id not in children:
                children[item.child_id] = await _child(item.child_id, family_id)
            if item.activity_id not in activities:
                activities[item.activity_id] = await _activity(item.activity_id)
            try:
                await _book(children[item.child_id], activities[item.activity_id], item.day, rules,
                            year_id, staff=False, now=now, source="semaine_type", staff_id=None)
                made += 1
            except BookingError as exc:
                refused.append(f"{item.day.strftime('%d/%m/%Y')} : {exc.message}")
    return made, refused


# ---------------------------------------------------------------------------------------------
# Pointage: a child present without a booking (billed with the majoration)


class UnbookedRefused(BookingError):
    """The child cannot be added to this list (another school, no inscription, future day)."""

    code = "refuse"


@dataclass
class UnbookedOutcome:
    child_id: int
    child_name: str
    created: bool


async def unbooked_candidates(day: dt.date, school_ids: list[int],
                              activity_ids: list[int]) -> dict[tuple[int, int], list[dict]]:
    """Active children of these schools holding a validated inscription, for the school year
    covering `day`, to these activities: {(school, activity): [child, ...]} in one query.
    The inscription is required because it carries the family's consent and health file;
    a child without one has to be inscribed first."""
    if not school_ids or not activity_ids:
        return {}
    rows = await Inscription.select(
        Inscription.child, Inscription.activity,
        Inscription.child.first_name.as_alias("first_name"),
        Inscription.child.last_name.as_alias("last_name"),
        Inscription.child.school.as_alias("school"),
    ).where(
        (Inscription.status == "validee") & (Inscription.child.active == True)  # noqa: E712
        & Inscription.child.school.is_in(school_ids) & Inscription.activity.is_in(activity_ids)
        & (Inscription.school_year.starts_on <= day) & (Inscription.school_year.ends_on >= day)
    ).order_by(Inscription.child.last_name).order_by(Inscription.child.first_name).order_by(
        Inscription.child)
    out: dict[tuple[int, int], list[dict]] = {}
    seen: set[tuple[int, int]] = set()
    for r in rows:
        if (r["child"], r["activity"]) in seen:
            continue
        seen.add((r["child"], r["activity"]))
        out.setdefault((r["school"], r["activity"]), []).append(r)
    return out


async def record_unbooked_presence(actor: Principal, *, child_id: int, activity_id: int,
                                   school_id: int, day: dt.date) -> UnbookedOutcome:
    """Writes Attendance(status="present") for a child who came without a booking.

    Refused (UnbookedRefused) for a day to come, an unknown or inactive child, a child of
    another school, or one without a validated inscription to the activity. A child already
    on the list (a booking not cancelled, or a pointage row) changes nothing: created=False.
    The unique index (child, activity, day) plus ON CONFLICT DO NOTHING keeps one row when two
    agents add the same child at once; the audit line is written only for the row inserted.
    """
    if day > clock.today():
        raise UnbookedRefused("On ne peut pas pointer un enfant présent un jour à venir.")
    child = await Child.select(
        Child.id, Child.first_name, Child.last_name, Child.school, Child.family, Child.active,
    ).where(Child.id == child_id).first()
    if child is None or not child["active"]:
        raise UnbookedRefused("Cet enfant est introuvable : choisissez-le dans la liste.")
    name = f"{child['first_name']} {child['last_name']}"
    if child["school"] != school_id:
        raise UnbookedRefused(f"{name} n’est pas élève de cette école.")
    inscribed = await Inscription.exists().where(
        (Inscription.child == child_id) & (Inscription.activity == activity_id)
        & (Inscription.status == "validee")
        & (Inscription.school_year.starts_on <= day) & (Inscription.school_year.ends_on >= day))
    if not inscribed:
        raise UnbookedRefused(f"{name} n’a pas d’inscription validée à cette activité.")
    async with write_transaction():
        await lock_for_update(Child.select(Child.id).where(Child.id == child_id))
        booked = await Booking.exists().where(
            (Booking.child == child_id) & (Booking.activity == activity_id)
            & (Booking.day == day) & (Booking.state != "annulee"))
        if booked:
            return UnbookedOutcome(child_id, name, created=False)
        inserted = await Attendance.insert(Attendance(
            child=child_id, activity=activity_id, school=school_id, day=day, status="present",
            marked_at=clock.now(), marked_by=actor.staff_id,
        )).on_conflict(action="DO NOTHING").returning(Attendance.id)
        if not inserted:
            return UnbookedOutcome(child_id, name, created=False)
        await audit.record(actor, "attendance_unbooked_add", family_id=child["family"],
                           target=f"child:{child_id}",
                           details={"day": day.isoformat(), "activity": activity_id,
                                    "school": school_id, "status": "present"})
    return UnbookedOutcome(child_id, name, created=True)
