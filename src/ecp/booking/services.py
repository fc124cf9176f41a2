"""Booking, cancelling and declaring an illness: the rules of docs/product.md enforced in one
transaction each, with the place counter kept by a conditional UPDATE.

Capacity: `INSERT INTO slot ... ON CONFLICT DO UPDATE SET booked = booked + 1 WHERE booked <
capacity` inside write_transaction(). On SQLite the IMMEDIATE transaction serialises writers; on
PostgreSQL the update takes the slot's row lock and re-checks `booked < capacity` once the
previous holder commits, so two parents tapping the last place get one booking, never two. The
child's row is locked first (SELECT ... FOR UPDATE) so the same child booked twice at once waits
and then sees its own booking. An ill child frees its place (Slot.booked - 1): the day is not billed and staff
may give the place to another child on the day.

Then the writes of the pages around the calendar: the semaine type (planned, then booked in one
transaction), a child present without a booking, the pointage of a list, an inscription asked
by a family and decided by staff, and the private calendar feed's token. Refusals are
BookingError (an ecp.errors.Rejected); staff actions are audit-logged in their transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from ecp import clock
from ecp.audit import services as audit
from ecp.auth.principal import Principal
from ecp.booking import calendar as cal
from ecp.booking import inscriptions
from ecp.booking.queries import (
    CalendarData,
    Setup,
    attendance_day,
    load_activities,
    load_calendar,
    load_rules_row,
    load_setup,
    placeholders,
)
from ecp.booking.tables import Attendance, Booking, Inscription
from ecp.commune.queries import BILLED_MONTH_COLUMN, billed_month_message, commune_settings
from ecp.db import fetch, is_sqlite, lock_for_update, write_transaction
from ecp.errors import Rejected
from ecp.families.tables import Child, Family
from ecp.mail.outbox import queue_email
from ecp.web import urls
from ecp.web.french import de


class BookingError(Rejected):
    """A refusal the family can read; `code` names the cell state it matches."""

    code = "erreur"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message, field)


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


class AlreadyDone(NothingToDo):
    """The cell is already as asked (booked, or not booked): a repeated tap, a retry after a
    lost answer, a second tab. The intent holds, so a single tap answers it as done; batches
    still count it among the days they did not change."""

    code = "deja"


class NotFound(BookingError):
    code = "introuvable"


class BilledMonth(BookingError):
    code = "facture"


class PointageRefused(BookingError):
    code = "refuse"


@dataclass
class Outcome:
    child_name: str
    activity_label: str
    day: dt.date
    state: str  # the booking's state after the action
    changed: bool = True
    school: int | None = None  # the place counter the action moved, and its new value
    booked: int | None = None


# ---------------------------------------------------------------------------------------------
# Place counter


async def _take_place(school_id: int, activity_id: int, day: dt.date, capacity: int) -> int | None:
    """Takes one place and returns the places now taken, or None when the day is full.

    One statement: the day's first booking creates the counter at 1 (two first bookings at once
    meet on the unique index and the second becomes the update); later ones add 1 only while
    booked < capacity. PostgreSQL locks the conflicting row and evaluates the WHERE on its
    latest version, so the last place goes to one parent; SQLite's IMMEDIATE transaction
    serialises writers. Capacity 0 means unlimited.
    """
    sql = (
        "INSERT INTO slot (school, activity, day, booked) VALUES ({}, {}, {}, 1) "
        "ON CONFLICT (school, activity, day) DO UPDATE SET booked = slot.booked + 1"
    )
    args: list = [school_id, activity_id, day]
    if capacity > 0:
        sql += " WHERE slot.booked < {}"
        args.append(capacity)
    rows = await fetch(sql + " RETURNING booked", *args)
    return rows[0]["booked"] if rows else None


async def _free_place(school_id: int, activity_id: int, day: dt.date) -> int | None:
    rows = await fetch(
        "UPDATE slot SET booked = booked - 1 WHERE school = {} AND activity = {} AND day = {} "
        "AND booked > 0 RETURNING booked",
        school_id,
        activity_id,
        day,
    )
    return rows[0]["booked"] if rows else None


# ---------------------------------------------------------------------------------------------
# One booking, inside a transaction the caller opened


async def _lock_children(child_ids: list[int]) -> None:
    """The child's row serialises its bookings: the same child booked twice at once (or two
    activities of one group) waits, then sees the first booking.

    PostgreSQL: a statement of its own, because under READ COMMITTED a statement that waited
    for a lock still reads the other rows as of its start; the bookings are read by the next
    statement, which sees what the previous holder committed. Ordered, so that two batches
    never lock the same children in opposite orders. SQLite: the IMMEDIATE transaction already
    serialises every writer, no query.
    """
    if not is_sqlite():
        await fetch(
            f"SELECT id FROM child WHERE id IN ({placeholders(child_ids)}) ORDER BY id FOR UPDATE",
            *child_ids,
        )


async def _child_day(
    child_id: int, family_id: int | None, activity_id: int, year_id: int | None, day: dt.date
) -> tuple[dict, bool, dict[int, dict]]:
    """The child (locked), whether it holds a validated inscription to the activity, and its
    bookings of the day by activity, read inside the transaction in one query (two on
    PostgreSQL, see _lock_children)."""
    sql = (
        "SELECT c.id, c.family, c.first_name, c.level, c.school, "
        "EXISTS(SELECT 1 FROM inscription i WHERE i.child = c.id AND i.activity = {} "
        "AND i.school_year = {} AND i.status = 'validee') AS inscribed, "
        "b.id AS b_id, b.activity AS b_activity, b.state AS b_state, b.school AS b_school, "
        "a.group_code AS b_group, a.short_label AS b_label, "
        f"{BILLED_MONTH_COLUMN} AS billed_month "
        "FROM child c LEFT JOIN booking b ON b.child = c.id AND b.day = {} "
        "LEFT JOIN activity a ON a.id = b.activity "
        "WHERE c.id = {} AND c.active = {}"
    )
    args: list = [activity_id, year_id or 0, day, child_id, True]
    if family_id is not None:
        sql += " AND c.family = {}"
        args.append(family_id)
    await _lock_children([child_id])
    rows = await fetch(sql, *args, types={"inscribed": bool, "billed_month": dt.date})
    if not rows:
        raise NotFound("Enfant introuvable.")
    day_bookings = {
        r["b_activity"]: {
            "id": r["b_id"],
            "activity": r["b_activity"],
            "state": r["b_state"],
            "school": r["b_school"],
            "group_code": r["b_group"] or "",
            "short_label": r["b_label"],
        }
        for r in rows
        if r["b_id"] is not None
    }
    return rows[0], rows[0]["inscribed"], day_bookings


def group_conflict(
    activity: cal.ActivityInfo,
    day_bookings: dict[int, dict],
    states: tuple[str, ...] = ("reservee",),
) -> dict | None:
    """The exclusive-group rule: the child's other booking of the day in the activity's group
    (garderie du soir or loisirs du soir, one only), or None. `day_bookings` maps activity id
    to a row with "activity", "state" and "group_code". The demo seed calls it too, so that it
    never seeds what the service refuses."""
    if not activity.group_code:
        return None
    return next(
        (
            b
            for b in day_bookings.values()
            if b["state"] in states
            and b["activity"] != activity.id
            and b["group_code"] == activity.group_code
        ),
        None,
    )


def _name(child: dict) -> str:
    return child["first_name"]


def refuse_billed_month(child: dict, day: dt.date, *, staff: bool) -> None:
    """A family cannot book or cancel a day of a month already billed (or being billed): its
    invoice is issued. `child["billed_month"]` is the latest month a billing run has started
    (read with the child's row, BILLED_MONTH_COLUMN). Staff still can: what they change is
    settled by the month's régularisations (ecp.invoices.regularisations)."""
    billed = child.get("billed_month")
    if not staff and billed is not None and day.replace(day=1) <= billed:
        raise BilledMonth(billed_month_message(day))


async def _book(
    child: dict,
    activity: cal.ActivityInfo,
    day: dt.date,
    setup: Setup,
    day_bookings: dict[int, dict],
    inscribed: bool,
    *,
    staff: bool,
    now: dt.datetime,
    source: str,
    staff_id: int | None,
    pending: list[Booking] | None = None,
) -> Outcome:
    """`day_bookings` (activity id -> row) is the child's day, read under the child's lock; it
    is updated here so that the next booking of a batch sees this one. With `pending`, a new
    row is appended there for the caller to insert with the others in one statement."""
    rules = setup.rules
    who, what = _name(child), activity.short_label
    existing = day_bookings.get(activity.id)
    if existing and existing["state"] in ("reservee", "malade"):
        raise AlreadyDone(f"Déjà réservé ce jour-là : {what} pour {who}.")
    reason = cal.closed_reason(day, activity, child["school"], rules)
    if reason:
        raise Closed(f"Fermé ce jour-là : {what} ({reason}).")
    if not activity.eligible(child["level"]):
        raise NotRegistered(f"Pas d’accueil au niveau {child['level']} : {what}.")
    if not inscribed:
        raise NotRegistered(
            f"{who} n’est pas inscrit·e à « {activity.label} » : "
            "demandez l’inscription depuis la page Inscriptions."
        )
    refuse_billed_month(child, day, staff=staff)
    if not staff and not cal.open_for_family(day, activity, rules, now):
        limit = cal.deadline(day, activity, rules)
        raise DeadlinePassed(
            f"Délai dépassé : {what} se réservait jusqu’au "
            f"{limit.strftime('%d/%m/%Y')} à {limit.strftime('%H:%M')}."
        )
    other = group_conflict(activity, day_bookings)
    if other:
        raise Conflict(
            f"{who} a déjà une réservation « {other['short_label']} » ce jour-là : "
            "annulez-la d’abord."
        )
    if child["school"] is None:
        raise NotRegistered(f"{who} n’a pas d’école enregistrée : contactez le service.")
    booked = await _take_place(
        child["school"], activity.id, day, setup.capacity_of(activity.id, child["school"])
    )
    if booked is None:
        raise SlotFull(f"Complet : plus de place en {what} ce jour-là.")
    stamp = clock.now()
    if existing:
        await Booking.update(
            {
                Booking.state: "reservee",
                Booking.source: source,
                Booking.school: child["school"],
                Booking.updated_at: stamp,
                Booking.updated_by: staff_id,
            }
        ).where(Booking.id == existing["id"])
    else:
        row = Booking(
            child=child["id"],
            activity=activity.id,
            school=child["school"],
            day=day,
            state="reservee",
            source=source,
            created_at=stamp,
            updated_at=stamp,
            updated_by=staff_id,
        )
        if pending is None:
            await Booking.insert(row)
        else:
            pending.append(row)
    day_bookings[activity.id] = {
        "id": existing["id"] if existing else None,
        "activity": activity.id,
        "state": "reservee",
        "school": child["school"],
        "group_code": activity.group_code,
        "short_label": activity.short_label,
    }
    return Outcome(who, what, day, "reservee", school=child["school"], booked=booked)


async def _cancel(
    child: dict,
    activity: cal.ActivityInfo,
    day: dt.date,
    rules: cal.Rules,
    existing: dict | None,
    *,
    staff: bool,
    now: dt.datetime,
    staff_id: int | None,
) -> Outcome:
    who, what = _name(child), activity.short_label
    if not existing or existing["state"] in ("annulee", "fermee"):
        raise AlreadyDone(f"Aucune réservation à annuler ce jour-là : {what} pour {who}.")
    if existing["state"] == "malade" and not staff:
        raise NothingToDo(f"L’absence {de(who)} est déjà signalée ce jour-là.")
    refuse_billed_month(child, day, staff=staff)
    if not staff and not cal.open_for_family(day, activity, rules, now):
        raise DeadlinePassed("Délai dépassé : seul le service peut encore modifier ce jour.")
    await Booking.update(
        {Booking.state: "annulee", Booking.updated_at: clock.now(), Booking.updated_by: staff_id}
    ).where(Booking.id == existing["id"])
    booked = None
    if existing["state"] == "reservee":
        booked = await _free_place(existing["school"], activity.id, day)
    return Outcome(who, what, day, "annulee", school=existing["school"], booked=booked)


async def _illness(
    child: dict,
    activity: cal.ActivityInfo,
    day: dt.date,
    rules: cal.Rules,
    existing: dict | None,
    *,
    staff: bool,
    now: dt.datetime,
    staff_id: int | None,
) -> Outcome:
    who, what = _name(child), activity.short_label
    if not existing or existing["state"] != "reservee":
        raise NothingToDo(f"Aucune réservation ce jour-là : {what} pour {who}.")
    if not staff and not cal.illness_open(day, rules, now):
        cutoff = rules.illness_cutoff.strftime("%H:%M")
        raise DeadlinePassed(f"Une absence pour maladie se signale le jour même, avant {cutoff}.")
    await Booking.update(
        {Booking.state: "malade", Booking.updated_at: clock.now(), Booking.updated_by: staff_id}
    ).where(Booking.id == existing["id"])
    booked = await _free_place(existing["school"], activity.id, day)
    return Outcome(who, what, day, "malade", school=existing["school"], booked=booked)


ACTIONS = {"reserver": "book", "annuler": "cancel", "malade": "illness"}


async def change(
    action: str,
    *,
    child_id: int,
    activity_id: int,
    day: dt.date,
    family_id: int | None,
    actor: Principal | None = None,
    calendar: CalendarData | None = None,
    settings=None,
) -> Outcome:
    """One tap on a cell. `family_id` scopes the child (families); `actor` is staff or None.

    Staff changes ignore the deadline, are audit-logged and e-mailed to the family (one
    message saying what changed; `settings`: the portal's address for the link) in the same
    transaction. With `calendar` (the week being shown, covering `day`), its set-up is reused
    instead of read again and the change is recorded in it for the re-render: 3 queries for a
    booking.
    """
    if action not in ACTIONS:
        raise NothingToDo("Action inconnue.")
    staff = actor is not None and actor.is_staff
    staff_id = actor.staff_id if staff else None
    now = clock.now()
    setup = calendar.setup() if calendar is not None else await load_setup(day, day)
    async with write_transaction(short=True):
        child, inscribed, day_bookings = await _child_day(
            child_id, family_id, activity_id, setup.year_id, day
        )
        activity = setup.activity(activity_id)
        if activity is None:
            raise NotFound("Activité introuvable.")
        if calendar is not None:  # what the lock revealed (a double tap) shows in the re-render
            for row in day_bookings.values():
                calendar.record(child["id"], row["activity"], day, row["state"], row["school"])
        try:
            if action == "reserver":
                outcome = await _book(
                    child,
                    activity,
                    day,
                    setup,
                    day_bookings,
                    inscribed,
                    staff=staff,
                    now=now,
                    source="agent" if staff else "famille",
                    staff_id=staff_id,
                )
            elif action == "annuler":
                outcome = await _cancel(
                    child,
                    activity,
                    day,
                    setup.rules,
                    day_bookings.get(activity.id),
                    staff=staff,
                    now=now,
                    staff_id=staff_id,
                )
            else:
                outcome = await _illness(
                    child,
                    activity,
                    day,
                    setup.rules,
                    day_bookings.get(activity.id),
                    staff=staff,
                    now=now,
                    staff_id=staff_id,
                )
        except SlotFull:
            if calendar is not None:
                calendar.slots[(child["school"], activity.id, day)] = setup.capacity_of(
                    activity.id, child["school"]
                )
            raise
        if staff:
            await audit.record(
                actor,
                f"booking_{ACTIONS[action]}",
                family_id=child["family"],
                target=f"child:{child['id']}",
                details={
                    "activity": activity.code,
                    "day": day.isoformat(),
                    "late": not cal.open_for_family(day, activity, setup.rules, now),
                },
            )
            await queue_staff_change_mail(child["family"], activity, outcome, settings)
    if calendar is not None:
        calendar.record(
            child["id"], activity.id, day, outcome.state, outcome.school, outcome.booked
        )
    return outcome


# What a staff change did, as the family's e-mail says it.
STAFF_CHANGE_WORDS = {
    "reservee": "réservation enregistrée",
    "annulee": "réservation annulée",
    "malade": "absence pour maladie signalée (jour non facturé)",
}
STAFF_CHANGE_MAIL = "reservation_agent"


def render_staff_change_mail(
    activity: cal.ActivityInfo, outcome: Outcome, settings, service: str
) -> tuple[str, str, str]:
    """(subject, text, html) of the e-mail telling a family what the service changed."""
    from ecp.web.templating import environment, jour

    monday = outcome.day - dt.timedelta(days=outcome.day.weekday())
    context = {
        "child": outcome.child_name,
        "activity": activity.label,
        "day": outcome.day,
        "what": STAFF_CHANGE_WORDS.get(outcome.state, outcome.state),
        "service": service,
        "commune": settings.commune_name,
        "url": urls.absolute(settings.base_url, "booking_week")
        + f"?semaine={cal.week_code(monday)}",
    }
    subject = f"Réservation modifiée par le service : {activity.short_label}, {jour(outcome.day)}"
    env = environment()
    text = env.get_template("partials/mail/booking_changed_by_staff.txt").render(**context)
    html = env.get_template("partials/mail/booking_changed_by_staff.html").render(**context)
    return subject, text, html


async def queue_staff_change_mail(
    family_id: int, activity: cal.ActivityInfo, outcome: Outcome, settings=None
) -> bool:
    """Inside the change's transaction: one e-mail to the family (when it has an address)
    saying what an agent changed on its behalf. False when there is no address."""
    family = await Family.select(Family.email).where(Family.id == family_id).first()
    if not family or not family["email"]:
        return False
    if settings is None:  # a caller without a request (a script): the process's settings
        from ecp.settings import Settings

        settings = Settings.from_env()
    service = (await commune_settings())["service_name"]
    subject, text, html = render_staff_change_mail(activity, outcome, settings, service)
    await queue_email(
        to=family["email"],
        subject=subject,
        text=text,
        html=html,
        kind=STAFF_CHANGE_MAIL,
        family_id=family_id,
    )
    return True


async def book(
    child_id: int,
    activity_id: int,
    day: dt.date,
    *,
    family_id: int | None = None,
    actor: Principal | None = None,
    settings=None,
) -> Outcome:
    return await change(
        "reserver",
        child_id=child_id,
        activity_id=activity_id,
        day=day,
        family_id=family_id,
        actor=actor,
        settings=settings,
    )


async def cancel(
    child_id: int,
    activity_id: int,
    day: dt.date,
    *,
    family_id: int | None = None,
    actor: Principal | None = None,
    settings=None,
) -> Outcome:
    return await change(
        "annuler",
        child_id=child_id,
        activity_id=activity_id,
        day=day,
        family_id=family_id,
        actor=actor,
        settings=settings,
    )


async def declare_illness(
    child_id: int,
    activity_id: int,
    day: dt.date,
    *,
    family_id: int | None = None,
    actor: Principal | None = None,
    settings=None,
) -> Outcome:
    return await change(
        "malade",
        child_id=child_id,
        activity_id=activity_id,
        day=day,
        family_id=family_id,
        actor=actor,
        settings=settings,
    )


# ---------------------------------------------------------------------------------------------
# A child ill for the whole day (the family's Accueil): every booking of the day at once


@dataclass
class DayIllness:
    child_name: str
    day: dt.date
    activities: list[str]  # short labels, in the activities' order
    cutoff: dt.time


async def _day_rows(child_id: int, family_id: int, day: dt.date) -> tuple[dict, list[dict]]:
    """The family's child and its bookings of the day (any state), with their activity."""
    rows = await fetch(
        "SELECT c.id, c.first_name, b.id AS b_id, b.activity, b.state, b.school, b.updated_by, "
        "a.short_label FROM child c "
        "LEFT JOIN booking b ON b.child = c.id AND b.day = {} "
        "LEFT JOIN activity a ON a.id = b.activity "
        "WHERE c.id = {} AND c.family = {} AND c.active = {} ORDER BY a.sort_order, a.id",
        day,
        child_id,
        family_id,
        True,
    )
    if not rows:
        raise NotFound("Enfant introuvable.")
    return rows[0], [r for r in rows if r["b_id"] is not None]


async def declare_day_illness(child_id: int, family_id: int, day: dt.date) -> DayIllness:
    """The family declares the child ill for the whole of `day` (today, before the cut-off):
    every activity booked that day becomes « malade » through declare_illness, all in one
    transaction (one refused rolls the others back). Nothing booked is a refusal."""
    setup = await load_setup(day, day)
    rules = setup.rules
    cutoff = rules.illness_cutoff
    if not cal.illness_open(day, rules, clock.now()):
        raise DeadlinePassed(
            f"Une absence pour maladie se signale le jour même, avant {cutoff:%H:%M}.", "jour"
        )
    async with write_transaction(short=True):
        await _lock_children([child_id])
        child, rows = await _day_rows(child_id, family_id, day)
        booked = [r for r in rows if r["state"] == "reservee"]
        if not booked:
            if any(r["state"] == "malade" for r in rows):
                raise NothingToDo(
                    f"L’absence de {child['first_name']} est déjà signalée aujourd’hui.", "jour"
                )
            raise NothingToDo(
                f"{child['first_name']} n’a aucune activité réservée aujourd’hui.", "jour"
            )
        for row in booked:
            await declare_illness(child_id, row["activity"], day, family_id=family_id)
    return DayIllness(child["first_name"], day, [r["short_label"] for r in booked], cutoff)


async def undo_day_illness(child_id: int, family_id: int, day: dt.date) -> DayIllness:
    """Takes back the family's own illness declaration of `day` until the cut-off: each
    activity it declared is booked again, taking its place back (in one transaction: when a
    place was given to another child meanwhile, nothing changes and the service is to be
    called). A declaration made by the service stays: only the service changes it."""
    setup = await load_setup(day, day)
    rules = setup.rules
    cutoff = rules.illness_cutoff
    if not cal.illness_open(day, rules, clock.now()):
        raise DeadlinePassed(
            f"Après {cutoff:%H:%M}, seul le service peut annuler la déclaration.", "jour"
        )
    async with write_transaction(short=True):
        await _lock_children([child_id])
        child, rows = await _day_rows(child_id, family_id, day)
        ill = [r for r in rows if r["state"] == "malade" and r["updated_by"] is None]
        if not ill:
            raise NothingToDo(
                f"Aucune absence de {child['first_name']} n’est à annuler aujourd’hui.", "jour"
            )
        for row in ill:
            capacity = setup.capacity_of(row["activity"], row["school"])
            if await _take_place(row["school"], row["activity"], day, capacity) is None:
                raise SlotFull(
                    f"La place de {child['first_name']} en {row['short_label']} a été donnée "
                    "à un autre enfant : appelez le service.",
                    "jour",
                )
            await Booking.update(
                {Booking.state: "reservee", Booking.updated_at: clock.now()}
            ).where(Booking.id == row["b_id"])
    return DayIllness(child["first_name"], day, [r["short_label"] for r in ill], cutoff)


# ---------------------------------------------------------------------------------------------
# Semaine type


# Why a day of a semaine type is not booked, by cell state or BookingError.code: the words a
# parent acts on (« inscription manquante » sends them to the Inscriptions page).
PATTERN_REASONS = {
    "complet": "complet",
    "delai": "délai dépassé",
    "ferme": "fermé",
    "non_inscrit": "inscription manquante",
}


@dataclass
class PlanItem:
    child_id: int
    child_name: str
    activity_id: int
    activity_label: str
    day: dt.date
    ok: bool
    reason: str = ""


async def plan_week_pattern(
    family_id: int,
    child_ids: list[int],
    pattern: dict[int, set[int]],
    start: dt.date,
    end: dt.date,
    data: CalendarData | None = None,
    staff: bool = False,
) -> list[PlanItem]:
    """What a semaine type would do, day by day, without writing: every booking it would add
    and every day it cannot book, with the reason. Additive: it never cancels a booking.
    `staff`: an agent at the counter, to whom the deadline does not apply.

    pattern: activity id -> ISO weekdays. A fixed number of queries (see queries.load_calendar),
    none when the caller already loaded `data` for these dates.
    """
    if data is None:
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
                cell = data.cell(child, activity, day, now, staff=staff)
                if cell.state == "libre":
                    conflict = data.group_conflict(child["id"], activity, day)
                    if conflict:
                        items.append(
                            PlanItem(
                                child["id"],
                                child["first_name"],
                                activity.id,
                                activity.short_label,
                                day,
                                False,
                                f"déjà réservé : {conflict}",
                            )
                        )
                    else:
                        items.append(
                            PlanItem(
                                child["id"],
                                child["first_name"],
                                activity.id,
                                activity.short_label,
                                day,
                                True,
                            )
                        )
                elif cell.state == "ferme" and cell.reason == "Pas d’activité ce jour-là":
                    continue
                else:
                    reason = PATTERN_REASONS.get(cell.state, cell.label) + (
                        f" ({cell.reason})" if cell.reason else ""
                    )
                    items.append(
                        PlanItem(
                            child["id"],
                            child["first_name"],
                            activity.id,
                            activity.short_label,
                            day,
                            False,
                            reason,
                        )
                    )
    items.sort(key=lambda i: (i.day, i.child_name, i.activity_label))
    return items


async def apply_week_pattern(
    family_id: int,
    items: list[PlanItem],
    setup: Setup | None = None,
    *,
    actor: Principal | None = None,
    settings=None,
) -> tuple[int, list[PlanItem]]:
    """Books the planned days in ONE transaction; a day that filled up meanwhile is reported,
    not fatal. Returns (bookings made, the days refused: PlanItem with ok=False and the reason,
    « complet », « délai dépassé »..., or the service's own sentence for the rarer refusals).

    `actor` staff (the counter): the deadline and a billed month do not stop the agent, the
    bookings carry the agent's id, one journal line says what was booked for the family, and
    one e-mail tells the family, in the same transaction.

    Queries: the children (locked) with their inscriptions, their bookings over the dates, one
    place taken per booking (the capacity rule is per slot) and one INSERT for the new rows.
    `setup` (rules and activities covering the dates) saves reading them again.
    """
    now = clock.now()
    todo = [i for i in items if i.ok]
    if not todo:
        return 0, []
    start, end = min(i.day for i in todo), max(i.day for i in todo)
    if setup is None:
        setup = await load_setup(start, end)
    made = 0
    refused: list[PlanItem] = []
    staff = actor is not None and actor.is_staff
    staff_id = actor.staff_id if staff else None
    async with write_transaction():
        children, inscribed, days = await _children_days(
            sorted({i.child_id for i in todo}),
            family_id,
            sorted({i.activity_id for i in todo}),
            setup.year_id,
            start,
            end,
        )
        pending: list[Booking] = []
        for item in todo:
            child, activity = children.get(item.child_id), setup.activity(item.activity_id)
            if child is None:
                raise NotFound("Enfant introuvable.")
            if activity is None:
                raise NotFound("Activité introuvable.")
            try:
                await _book(
                    child,
                    activity,
                    item.day,
                    setup,
                    days.setdefault((child["id"], item.day), {}),
                    (child["id"], activity.id) in inscribed,
                    staff=staff,
                    now=now,
                    source="semaine_type",
                    staff_id=staff_id,
                    pending=pending,
                )
                made += 1
            except BookingError as exc:
                # The short word when it says it all, else the service's sentence (closure
                # reason, no school on record...).
                short = PATTERN_REASONS.get(exc.code) if exc.code in ("complet", "delai") else None
                refused.append(dataclasses.replace(item, ok=False, reason=short or exc.message))
        if pending:
            await Booking.insert(*pending)
        if staff and made:
            await audit.record(
                actor,
                "booking_pattern",
                family_id=family_id,
                target=f"family:{family_id}",
                details={"reservations": made, "du": start.isoformat(), "au": end.isoformat()},
            )
            await queue_staff_pattern_mail(family_id, made, start, end, settings)
    return made, refused


async def plan_copy_week(
    family_id: int, monday: dt.date, data: CalendarData | None = None
) -> list[PlanItem]:
    """« Comme la semaine dernière »: for each child, last week's bookings (and days declared
    ill, which were booked) as this week's semaine type, planned like one (additive: nothing
    is cancelled, days already booked are left alone, the refused ones come with a reason).
    `data` must cover both weeks (last Monday to this Friday); read here when missing."""
    last = monday - dt.timedelta(days=7)
    friday = monday + dt.timedelta(days=4)
    if data is None:
        data = await load_calendar(family_id, last, friday)
    patterns: dict[int, dict[int, set[int]]] = {}
    for (child_id, activity_id, day), row in data.bookings.items():
        if last <= day < monday and row["state"] in cal.STANDING:
            patterns.setdefault(child_id, {}).setdefault(activity_id, set()).add(day.isoweekday())
    items: list[PlanItem] = []
    for child_id, pattern in patterns.items():
        items += await plan_week_pattern(family_id, [child_id], pattern, monday, friday, data=data)
    items.sort(key=lambda i: (i.day, i.child_name, i.activity_label))
    return items


async def plan_all_children(
    family_id: int, activity_id: int, day: dt.date, data: CalendarData | None = None
) -> list[PlanItem]:
    """« Pour tous mes enfants »: the same activity on one day for every child of the family
    it is offered to, planned like a semaine type (children already booked are left alone)."""
    if data is None:
        data = await load_calendar(family_id, day, day)
    if data.setup().activity(activity_id) is None:
        raise NotFound("Activité introuvable.")
    ids = [c["id"] for c in data.children]
    return await plan_week_pattern(
        family_id, ids, {activity_id: {day.isoweekday()}}, day, day, data=data
    )


async def queue_staff_pattern_mail(
    family_id: int, made: int, start: dt.date, end: dt.date, settings=None
) -> bool:
    """Inside the semaine type's transaction: the family is told what the agent booked."""
    from ecp.web.templating import environment, jour

    family = await Family.select(Family.email).where(Family.id == family_id).first()
    if not family or not family["email"]:
        return False
    if settings is None:
        from ecp.settings import Settings

        settings = Settings.from_env()
    context = {
        "made": made,
        "start": start,
        "end": end,
        "service": (await commune_settings())["service_name"],
        "commune": settings.commune_name,
        "url": urls.absolute(settings.base_url, "booking_week")
        + f"?semaine={cal.week_code(start - dt.timedelta(days=start.weekday()))}",
    }
    env = environment()
    await queue_email(
        to=family["email"],
        subject=f"Semaine type appliquée par le service à partir du {jour(start)}",
        text=env.get_template("partials/mail/pattern_by_staff.txt").render(**context),
        html=env.get_template("partials/mail/pattern_by_staff.html").render(**context),
        kind=STAFF_CHANGE_MAIL,
        family_id=family_id,
    )
    return True


async def declare_illness_day(
    child_id: int,
    day: dt.date,
    *,
    family_id: int,
    actor: Principal,
    settings=None,
) -> list[Outcome]:
    """At the counter: the child is ill on `day`; every activity booked for the child that day
    becomes *malade* (each through `change`: journalled, e-mailed, its place freed). Rejected
    (field `jour`) when nothing is booked that day; NotFound for a child not of the family."""
    # One transaction, as the family's declare_day_illness: a refused activity (a billed
    # month, say) leaves the whole day as it was rather than half declared.
    async with write_transaction(short=True):
        await _lock_children([child_id])
        rows = await Booking.select(Booking.activity).where(
            (Booking.child == child_id)
            & (Booking.child.family == family_id)
            & (Booking.day == day)
            & (Booking.state == "reservee")
        )
        if not rows:
            raise NothingToDo("Rien n’est réservé pour cet enfant ce jour-là.", field="jour")
        return [
            await declare_illness(
                child_id, r["activity"], day, family_id=family_id, actor=actor, settings=settings
            )
            for r in rows
        ]


async def _children_days(
    child_ids: list[int],
    family_id: int,
    activity_ids: list[int],
    year_id: int | None,
    start: dt.date,
    end: dt.date,
):
    """Inside the transaction: the family's children (locked) with their validated
    inscriptions to these activities, then their bookings between the dates. 2 queries (3 on
    PostgreSQL, see _lock_children)."""
    await _lock_children(child_ids)
    rows = await fetch(
        "SELECT c.id, c.family, c.first_name, c.level, c.school, i.activity AS ins_activity, "
        f"{BILLED_MONTH_COLUMN} AS billed_month "
        "FROM child c LEFT JOIN inscription i ON i.child = c.id AND i.school_year = {} "
        f"AND i.status = 'validee' AND i.activity IN ({placeholders(activity_ids)}) "
        f"WHERE c.id IN ({placeholders(child_ids)}) AND c.family = {{}} AND c.active = {{}}",
        year_id or 0,
        *activity_ids,
        *child_ids,
        family_id,
        True,
        types={"billed_month": dt.date},
    )
    children = {r["id"]: r for r in rows}
    inscribed = {(r["id"], r["ins_activity"]) for r in rows if r["ins_activity"] is not None}
    days: dict[tuple[int, dt.date], dict[int, dict]] = {}
    for row in await Booking.select(
        Booking.id,
        Booking.child,
        Booking.activity,
        Booking.day,
        Booking.state,
        Booking.school,
        Booking.activity.group_code.as_alias("group_code"),
        Booking.activity.short_label.as_alias("short_label"),
    ).where(
        Booking.child.is_in(list(children) or [0]) & (Booking.day >= start) & (Booking.day <= end)
    ):
        row["group_code"] = row["group_code"] or ""
        days.setdefault((row["child"], row["day"]), {})[row["activity"]] = row
    return children, inscribed, days


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


async def record_unbooked_presence(
    actor: Principal, *, child_id: int, activity_id: int, school_id: int, day: dt.date
) -> UnbookedOutcome:
    """Writes Attendance(status="present") for a child who came without a booking.

    Refused (UnbookedRefused) for a day to come, an unknown or inactive child, a child of
    another school, or one without a validated inscription to the activity. A child already
    on the list (a booking not cancelled, or a pointage row) changes nothing: created=False.
    The unique index (child, activity, day) plus ON CONFLICT DO NOTHING keeps one row when two
    agents add the same child at once; the audit line is written only for the row inserted.
    """
    if day > clock.today():
        raise UnbookedRefused("On ne peut pas pointer un enfant présent un jour à venir.")
    child = (
        await Child.select(
            Child.id,
            Child.first_name,
            Child.last_name,
            Child.school,
            Child.family,
            Child.active,
        )
        .where(Child.id == child_id)
        .first()
    )
    if child is None or not child["active"]:
        raise UnbookedRefused("Cet enfant est introuvable : choisissez-le dans la liste.")
    name = f"{child['first_name']} {child['last_name']}"
    if child["school"] != school_id:
        raise UnbookedRefused(f"{name} n’est pas élève de cette école.")
    inscribed = await Inscription.exists().where(
        (Inscription.child == child_id)
        & (Inscription.activity == activity_id)
        & (Inscription.status == "validee")
        & (Inscription.school_year.starts_on <= day)
        & (Inscription.school_year.ends_on >= day)
    )
    if not inscribed:
        raise UnbookedRefused(f"{name} n’a pas d’inscription validée à cette activité.")
    async with write_transaction():
        await lock_for_update(Child.select(Child.id).where(Child.id == child_id))
        booked = await Booking.exists().where(
            (Booking.child == child_id)
            & (Booking.activity == activity_id)
            & (Booking.day == day)
            & Booking.state.is_in(list(cal.STANDING))
        )
        if booked:
            return UnbookedOutcome(child_id, name, created=False)
        inserted = (
            await Attendance.insert(
                Attendance(
                    child=child_id,
                    activity=activity_id,
                    school=school_id,
                    day=day,
                    status="present",
                    marked_at=clock.now(),
                    marked_by=actor.staff_id,
                )
            )
            .on_conflict(action="DO NOTHING")
            .returning(Attendance.id)
        )
        if not inserted:
            return UnbookedOutcome(child_id, name, created=False)
        await audit.record(
            actor,
            "attendance_unbooked_add",
            family_id=child["family"],
            target=f"child:{child_id}",
            details={
                "day": day.isoformat(),
                "activity": activity_id,
                "school": school_id,
                "status": "present",
            },
        )
    return UnbookedOutcome(child_id, name, created=True)


# ---------------------------------------------------------------------------------------------
# Pointage of a list: present, absent, excused

POINTAGE = {"present": "présent", "absent": "absent", "excuse": "excusé"}


def refuse_future_pointage(day: dt.date) -> None:
    """A pointage says what staff saw: a day to come has not been seen yet (it would reach
    billing as « réservé mais absent »)."""
    if day > clock.today():
        raise PointageRefused(
            "On ne pointe pas un jour à venir : le pointage du "
            f"{day.strftime('%d/%m/%Y')} se fera ce jour-là."
        )


@dataclass(frozen=True)
class Mark:
    """One child's line of a pointage as posted: a status of POINTAGE (anything else: « not
    pointed yet », skipped) and, where the activity is billed by the hour, the times."""

    child: int | None
    status: str
    arrived: dt.time | None = None
    left: dt.time | None = None


async def _list_children(day: dt.date, activity_id: int, school_id: int) -> dict[int, int]:
    """The children on a list (booking standing, or pointed without one): {child: family}."""
    expected = {
        r["child"]: r["family"]
        for r in await Booking.select(Booking.child, Booking.child.family.as_alias("family")).where(
            (Booking.day == day)
            & (Booking.activity == activity_id)
            & (Booking.school == school_id)
            & Booking.state.is_in(list(cal.STANDING))
        )
    }
    # Children added as present without a booking are on the list too (same controls).
    expected.update(
        {
            r["child"]: r["family"]
            for r in await Attendance.select(
                Attendance.child, Attendance.child.family.as_alias("family")
            ).where(
                (Attendance.day == day)
                & (Attendance.activity == activity_id)
                & (Attendance.school == school_id)
            )
        }
    )
    return expected


async def record_pointage(
    actor: Principal,
    *,
    day: dt.date,
    activity_id: int,
    school_id: int,
    marks: list[tuple[int | None, str]] | list[Mark],
) -> int:
    """Saves the marks of one list (day, activity, school) and returns how many were saved
    (record_pointage_lists with one list)."""
    counts = await record_pointage_lists(
        actor, day=day, school_id=school_id, lists={activity_id: marks}
    )
    return counts[activity_id]


async def record_pointage_lists(
    actor: Principal,
    *,
    day: dt.date,
    school_id: int,
    lists: dict[int, list],
    all_present: int | None = None,
    all_present_children: list[int] | None = None,
) -> dict[int, int]:
    """Saves the marks of a school's lists of a day, all or nothing, and returns how many were
    saved per activity.

    Each list's marks: Mark (or (child id, status)) as posted; a child who is not on the list
    (no booking left standing, no pointage row) refuses everything with NotFound: the form only
    offers the lists' children. A status outside POINTAGE (« not pointed yet ») is skipped. The
    times are kept for a present child of an activity billed by the hour (Activity.hourly),
    dropped otherwise. A second save updates the rows, never duplicates them (a list's rows are replaced
    in two statements); one audit line
    per list that marked someone. `all_present`: the activity whose whole list is marked
    present (« tous présents »), its posted times kept; with `all_present_children` (a long
    list shown a page at a time) only those children of it, each of whom must be on the list
    (else NotFound). A day to come refuses everything (PointageRefused), once the
    lists are known to be the day's. A mark changed after the month is billed shows among its
    régularisations (ecp.invoices.regularisations)."""
    hourly = (
        {
            r["id"]
            for r in await fetch(
                f"SELECT id FROM activity WHERE hourly = {{}} AND id IN ({placeholders(list(lists))})",
                True,
                *lists,
            )
        }
        if lists
        else set()
    )
    chosen: dict[int, dict[int, Mark]] = {}
    for activity_id, marks in lists.items():
        expected = await _list_children(day, activity_id, school_id)
        picked: dict[int, Mark] = {}
        for mark in marks:
            if not isinstance(mark, Mark):
                mark = Mark(*mark)
            if mark.child is None or mark.child not in expected:
                raise NotFound("Enfant introuvable sur cette liste")
            if mark.status in POINTAGE:
                keep = mark.status == "present" and activity_id in hourly
                picked[mark.child] = Mark(
                    mark.child,
                    mark.status,
                    mark.arrived if keep else None,
                    mark.left if keep else None,
                )
        if activity_id == all_present:
            if all_present_children is not None and any(
                child not in expected for child in all_present_children
            ):
                raise NotFound("Enfant introuvable sur cette liste")
            for child in expected if all_present_children is None else all_present_children:
                old = picked.get(child)
                picked[child] = Mark(
                    child,
                    "present",
                    old.arrived if old and activity_id in hourly else None,
                    old.left if old and activity_id in hourly else None,
                )
        chosen[activity_id] = picked
    refuse_future_pointage(day)
    stamp = clock.now()
    async with write_transaction():
        for activity_id, picked in chosen.items():
            if not picked:
                continue
            # The list's rows replaced in two statements whatever its length (a row per child
            # and day: nothing refers to it).
            await Attendance.delete().where(
                (Attendance.day == day)
                & (Attendance.activity == activity_id)
                & Attendance.child.is_in(list(picked))
            )
            await Attendance.insert(
                *(
                    Attendance(
                        child=child,
                        activity=activity_id,
                        school=school_id,
                        day=day,
                        status=mark.status,
                        arrived_at=mark.arrived,
                        left_at=mark.left,
                        marked_at=stamp,
                        marked_by=actor.staff_id,
                    )
                    for child, mark in picked.items()
                )
            )
            if picked:
                await audit.record(
                    actor,
                    "attendance_mark",
                    target=f"activity:{activity_id}",
                    details={"day": day.isoformat(), "school": school_id, "count": len(picked)},
                )
    return {activity_id: len(picked) for activity_id, picked in chosen.items()}


async def export_attendance(actor: Principal, day: dt.date, school_id: int | None) -> dict | None:
    """A day's lists for the effectifs' CSV (every activity; one school or all), the export
    journalled (« effectifs_exportes »). None when `school_id` names no active school."""
    data = await attendance_day(day, school_id, None)
    if data is None:
        return None
    await audit.record(
        actor,
        "effectifs_exportes",
        target=f"school:{school_id}" if school_id else "toutes les écoles",
        details={
            "jour": day.isoformat(),
            "ecole": school_id,
            "enfants": sum(len(g["children"]) for g in data["groups"]),
        },
    )
    return data


# ---------------------------------------------------------------------------------------------
# Inscriptions: a family asks, the service decides


@dataclass
class InscriptionRequested:
    child_name: str
    activity_label: str
    inscription_id: int | None = None
    decided: object | None = None  # inscriptions.Decisions, when staff validated it at once


async def request_inscription(
    family_id: int,
    child_id: int | None,
    activity_id: int | None,
    *,
    actor: Principal | None = None,
    validate: bool = False,
    settings=None,
) -> InscriptionRequested:
    """A pending inscription of one of the family's children to an activity of the current
    school year.

    NotFound for a child who is not the family's (or no longer active) and when no school year
    is open; Rejected (field `activite-<child>`, the child's select) for an activity the child
    may not ask for: inactive, not open to the child's level, or already asked for this year,
    whatever the answer was.

    At the counter (`actor` staff): journalled as asked by that agent for the family and, with
    `validate`, decided at once in the same transaction (validated, or on the waiting list when
    the activity is full: ecp.booking.inscriptions)."""
    _settings, year = await load_rules_row()
    child = None
    if child_id is not None:
        child = (
            await Child.select(Child.id, Child.first_name, Child.level)
            .where((Child.id == child_id) & (Child.family == family_id) & (Child.active == True))
            .first()
        )
    if child is None:
        raise NotFound("Enfant introuvable")
    field = f"activite-{child['id']}"
    activities, _ = await load_activities()
    activity = next(
        (a for a in activities if a.id == activity_id and a.eligible(child["level"])), None
    )
    if activity is None:
        raise Rejected("Choisissez une activité dans la liste.", field=field)
    if year is None:
        raise NotFound("Aucune année scolaire ouverte")
    async with write_transaction():
        if await Inscription.exists().where(
            (Inscription.child == child["id"])
            & (Inscription.activity == activity.id)
            & (Inscription.school_year == year["id"])
        ):
            raise Rejected("Choisissez une activité dans la liste.", field=field)
        row = Inscription(
            child=child["id"],
            activity=activity.id,
            school_year=year["id"],
            status="en_attente",
            requested_at=clock.now(),
        )
        await row.save()
        decided = None
        if actor is not None and actor.is_staff:
            await audit.record(
                actor,
                "inscription_request",
                family_id=family_id,
                target=f"inscription:{row.id}",
                details={"activity": activity.label, "first_name": child["first_name"]},
            )
            if validate:
                decided = await inscriptions.decide_in_transaction(
                    actor, [row.id], "valider", settings=settings
                )
    return InscriptionRequested(child["first_name"], activity.label, row.id, decided)


# ---------------------------------------------------------------------------------------------
# The private calendar feed (ICS)


def ics_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def new_ics_token(family_id: int) -> str:
    """Creates (or replaces) the family's private feed address and returns its token, to show
    once: only its SHA-256 is kept, so a leaked database does not leak the feeds, and the
    previous address stops working."""
    token = secrets.token_urlsafe(32)
    await Family.update({Family.ics_token_hash: ics_token_hash(token)}).where(
        Family.id == family_id
    )
    return token


async def revoke_ics_token(family_id: int) -> None:
    await Family.update({Family.ics_token_hash: None}).where(Family.id == family_id)
