"""Staff > Paramètres: the writes and the rules behind them (administrators only).

The service's rules, school years, schools, closures, activities with their places per school,
and staff accounts. Each write runs in one transaction with its journal line
(ecp.audit.services.record, action "settings_changed" or "staff_account_changed").

Two writes ask first when they touch families: a closure that covers bookings (and its removal)
raises ToConfirm with them, writing nothing, until it is confirmed; places set below the
bookings of days to come raise OverCapacity until confirmed.

A rule that refuses raises ecp.errors.Rejected with the French message and the form field to
blame. The rules that need no database are plain functions (check_*, activity_code): the forms
of ecp.backoffice.settings_forms call them too, so that a page shows every error at once, and
the writes call them again, so that no caller can skip them."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from ecp import clock
from ecp.audit.services import record
from ecp.auth import mfa
from ecp.auth.policy import password_problem
from ecp.auth.principal import Principal
from ecp.auth.sessions import close_all_for
from ecp.auth.tables import ROLES, StaffSchool, StaffUser
from ecp.backoffice import settings_queries as queries
from ecp.booking import inscriptions
from ecp.booking.calendar import STANDING, week_code
from ecp.booking.tables import Booking
from ecp.commune import levels
from ecp.commune.queries import commune_settings
from ecp.commune.tables import (
    Activity,
    ActivityCapacity,
    Closure,
    CommuneSettings,
    School,
    SchoolClass,
    SchoolYear,
)
from ecp.db import fetch, write_transaction
from ecp.errors import Rejected
from ecp.families.tables import LEVELS, Child
from ecp.mail.outbox import queue_email
from ecp.settings import Settings
from ecp.web import urls
from ecp.web.plural import counted
from ecp.web.templating import environment, jour

KINDS = [("maternelle", "maternelle"), ("elementaire", "élémentaire"), ("primaire", "primaire")]
DEADLINE_RULES = [
    ("working_days", "la règle du service : jours ouvrés avant le jour, à l’heure limite"),
    ("previous_wednesday", "le mercredi précédent, à l’heure limite (comme le mercredi)"),
]
DEADLINE_LABELS = dict(DEADLINE_RULES)
CODE_RE = re.compile(r"[a-z0-9_]{2,40}")
USERNAME_RE = re.compile(r"[a-z0-9._-]{3,60}")
YEAR_LABEL_RE = re.compile(r"\d{4}-\d{4}")

CODE_TAKEN = "Une autre activité a déjà le code « {code} » : choisissez-en un autre."


class Missing(LookupError):
    """The school, closure, activity or account named is not there (the handler's 404)."""


class NothingToReset(Rejected):
    """The account has no authenticator: a warning rather than an error."""


# ---------------------------------------------------------------- rules without the database


def check_year_label(label: str) -> None:
    if not YEAR_LABEL_RE.fullmatch(label):
        raise Rejected("Le libellé s’écrit comme 2026-2027.", field="libelle")


def check_year_bounds(starts_on: dt.date, ends_on: dt.date) -> None:
    if ends_on <= starts_on:
        raise Rejected("La fin de l’année doit suivre son début.", field="fin")


def check_closure_dates(starts_on: dt.date, ends_on: dt.date) -> None:
    # One day is starts_on == ends_on; the form sends the first day when the last is left empty.
    if ends_on < starts_on:
        raise Rejected("Le dernier jour ne peut pas précéder le premier.", field="fermeture_au")


def check_activity_hours(starts_at: dt.time, ends_at: dt.time) -> None:
    if ends_at <= starts_at:
        raise Rejected("L’heure de fin doit suivre l’heure de début.", field="fin")


def check_activity_label(label: str, others: Iterable[dict]) -> None:
    # Families choose by label: two alike would be the same line twice in their calendar.
    if any(o["label"].casefold() == label.casefold() for o in others):
        raise Rejected("Une autre activité porte déjà ce libellé.", field="libelle")


def check_activity_short_label(short_label: str, others: Iterable[dict]) -> None:
    if any(o["short_label"].casefold() == short_label.casefold() for o in others):
        raise Rejected("Une autre activité porte déjà ce libellé court.", field="libelle_court")


def code_from_label(label: str) -> str:
    """'Stage multisports (été)' -> 'stage_multisports_ete', like the codes already in use."""
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_label.lower()).strip("_")[:40]


def activity_code(label: str, code: str, taken: Iterable[str]) -> str:
    """The code a new activity gets: the one typed, or else one formed from its label.

    Exports and the booking rules name activities by code, so it must be well formed and
    unique; "" only when there is no label either (the label's own error says so)."""
    final = code or code_from_label(label)
    if code and not CODE_RE.fullmatch(final):
        raise Rejected(
            "Le code : 2 à 40 lettres minuscules sans accent, chiffres ou "
            "tirets bas, par exemple stage_multisports.",
            field="code",
        )
    if label and not CODE_RE.fullmatch(final):
        raise Rejected(
            "Saisissez un code : le libellé ne suffit pas à en former un "
            "(par exemple stage_multisports).",
            field="code",
        )
    if final and final in set(taken):
        raise Rejected(CODE_TAKEN.format(code=final), field="code")
    return final


def check_username(username: str, taken: Iterable[str] = ()) -> None:
    if not USERNAME_RE.fullmatch(username):
        raise Rejected(
            "L’identifiant : 3 à 60 lettres minuscules, chiffres, points ou tirets.",
            field="identifiant",
        )
    if username in set(taken):
        raise Rejected("Cet identifiant est déjà pris.", field="identifiant")


def check_role(role: str) -> None:
    if role not in ROLES:
        raise Rejected("Choisissez un rôle.", field="role")


def check_own_rights(
    actor_staff_id: int | None, staff_id: int | None, role: str, active: bool
) -> None:
    """An administrator cannot remove their own rights: the service could be left without
    anyone able to give them back (another administrator must do it)."""
    if staff_id is not None and staff_id == actor_staff_id:
        if role != "administrateur" or not active:
            raise Rejected(
                "Vous ne pouvez pas retirer vos propres droits d’administrateur : "
                "demandez-le à un autre administrateur.",
                field="role",
            )


def check_staff_password(password: str, username: str) -> None:
    """A staff password has 15 characters at least and does not contain the username
    (docs/security.md A1, ecp.auth.policy)."""
    problem = password_problem(password, staff=True, forbidden=(username,))
    if problem:
        raise Rejected(problem, field="mot_de_passe")


# ---------------------------------------------------------------- the service's rules


async def save_rules(
    actor: Principal,
    *,
    booking_deadline_working_days: int,
    booking_deadline_time: dt.time,
    illness_cutoff_time: dt.time,
    invoice_due_days: int,
    retention_years: int,
) -> None:
    values = {
        CommuneSettings.booking_deadline_working_days: booking_deadline_working_days,
        CommuneSettings.booking_deadline_time: booking_deadline_time,
        CommuneSettings.illness_cutoff_time: illness_cutoff_time,
        CommuneSettings.invoice_due_days: invoice_due_days,
        CommuneSettings.retention_years: retention_years,
    }
    async with write_transaction():
        if await CommuneSettings.exists():
            await CommuneSettings.update(values, force=True)
        else:
            await CommuneSettings(**{c._meta.name: v for c, v in values.items()}).save()
        await record(
            actor,
            "settings_changed",
            target="règles du service",
            details={"fields": sorted(c._meta.name for c in values)},
        )


async def save_school_year(
    actor: Principal, *, label: str, starts_on: dt.date, ends_on: dt.date, current: bool
) -> None:
    """Creates the year, or changes the one of that label; a current year makes the others
    past or future."""
    check_year_label(label)
    check_year_bounds(starts_on, ends_on)
    async with write_transaction():
        if current:
            await SchoolYear.update({SchoolYear.is_current: False}, force=True)
        existing = await SchoolYear.select(SchoolYear.id).where(SchoolYear.label == label).first()
        if existing:
            await SchoolYear.update(
                {
                    SchoolYear.starts_on: starts_on,
                    SchoolYear.ends_on: ends_on,
                    SchoolYear.is_current: current,
                }
            ).where(SchoolYear.id == existing["id"])
        else:
            await SchoolYear(
                label=label, starts_on=starts_on, ends_on=ends_on, is_current=current
            ).save()
        await record(actor, "settings_changed", target=f"année scolaire {label}")


# ---------------------------------------------------------------- schools


async def save_school(
    actor: Principal,
    school_id: int | None,
    *,
    name: str,
    kind: str,
    address: str,
    active: bool = True,
    classes: list[str] | None = None,
) -> int:
    """Creates a school (school_id None) or changes one; returns its id. `classes` (None:
    left as they are) are the names of its classes this school year: new names are added,
    names gone are removed (their children keep their level, without a class)."""
    if not name:
        raise Rejected("Saisissez le nom de l’école.", field="nom")
    if kind not in dict(KINDS):
        raise Rejected("Choisissez le type d’école.", field="type")
    async with write_transaction():
        if school_id is not None and not await School.exists().where(School.id == school_id):
            raise Missing(school_id)
        if await School.exists().where((School.name == name) & (School.id != (school_id or -1))):
            raise Rejected("Une autre école porte déjà ce nom.", field="nom")
        values = {"name": name, "kind": kind, "address": address, "active": active}
        if school_id is None:
            school = School(**values)
            await school.save()
            school_id = school.id
        else:
            await School.update(values).where(School.id == school_id)
        details = None
        if classes is not None:
            details = await _save_classes(school_id, kind, classes)
        await record(actor, "settings_changed", target=f"école {name}", details=details)
    return school_id


async def _save_classes(school_id: int, kind: str, names: list[str]) -> dict | None:
    """The school's classes of the current year made `names`; the change for the journal."""
    year = await SchoolYear.select(SchoolYear.id).where(SchoolYear.is_current == True).first()  # noqa: E712
    rows = []
    if year is not None:
        rows = await SchoolClass.select(SchoolClass.id, SchoolClass.name).where(
            (SchoolClass.school == school_id) & (SchoolClass.school_year == year["id"])
        )
    # Checked even when the list is unchanged: a new kind must teach its classes' levels.
    for name in names:
        level = levels.level_of_class(name)
        if level and not levels.teaches(kind, level):
            raise Rejected(
                f"La classe « {name} » est d’un niveau que cette école n’enseigne pas "
                f"({levels.KIND_LABELS[kind]} : {levels.levels_text(kind)}).",
                field="classes",
            )
    before = sorted(r["name"] for r in rows)
    if before == sorted(names):
        return None
    if year is None:
        raise Rejected(
            "Créez d’abord l’année scolaire en cours : les classes sont celles d’une année.",
            field="classes",
        )
    gone = [r["id"] for r in rows if r["name"] not in names]
    if gone:
        await Child.update({Child.school_class: None}).where(Child.school_class.is_in(gone))
        await SchoolClass.delete().where(SchoolClass.id.is_in(gone))
    for name in names:
        if name not in before:
            await SchoolClass(
                school=school_id,
                school_year=year["id"],
                name=name,
                level=levels.level_of_class(name),
            ).save()
    return {"classes": {"before": before, "after": sorted(names)}}


# ---------------------------------------------------------------- closures
# A closure cancels the bookings it covers (booked or declared ill) in the transaction that
# adds it: their state becomes "fermee", so the families' calendars show the day closed, the
# effectifs and the kitchen count leave them out, billing never charges them, and each family
# gets ONE e-mail listing its children and days. The place counters are left as they are (the
# day is closed: nobody can book it); removing the closure counts them again from the bookings
# left standing, and rebooks nothing: the families it had cancelled book again if they wish.

CLOSURE_MAIL = "fermeture"


class ToConfirm(Exception):
    """The closure (or its removal) touches families' bookings: nothing was written; the
    administrator sees `impact` and confirms."""

    def __init__(self, impact: queries.ClosureImpact) -> None:
        super().__init__("à confirmer")
        self.impact = impact


@dataclass
class ClosureDone:
    closure_id: int
    impact: queries.ClosureImpact  # the bookings cancelled (added) or left cancelled (removed)
    emails: int = 0


def closure_details(impact: queries.ClosureImpact) -> dict:
    """The journal's words for a closure and the bookings it touched."""
    scope = impact.scope
    return {
        "du": scope.starts_on.isoformat(),
        "au": scope.ends_on.isoformat(),
        "motif": scope.reason,
        "école": scope.school_text,
        "activité": scope.activity_text,
        "réservations": impact.bookings,
        "familles": len(impact.families),
    }


def closure_period(scope: queries.ClosureScope) -> str:
    """« le lundi 7 décembre » or « du lundi 7 au mercredi 9 décembre »."""
    if scope.one_day:
        return f"le {jour(scope.starts_on)}"
    return f"du {jour(scope.starts_on)} au {jour(scope.ends_on)}"


def render_closure_mail(
    family: queries.FamilyBookings, scope: queries.ClosureScope, settings, service: str
) -> tuple[str, str, str]:
    """(subject, text, html) of the e-mail telling a family its bookings the closure cancelled."""
    first = scope.starts_on
    week = week_code(first - dt.timedelta(days=first.weekday()))
    context = {
        "family": family,
        "scope": scope,
        "period": closure_period(scope),
        "service": service,
        "commune": settings.commune_name,
        "url": urls.absolute(settings.base_url, "booking_week") + f"?semaine={week}",
    }
    subject = f"Fermeture {closure_period(scope)} : réservations annulées"
    env = environment()
    text = env.get_template("partials/mail/closure_cancelled.txt").render(**context)
    html = env.get_template("partials/mail/closure_cancelled.html").render(**context)
    return subject, text, html


async def _scope(
    starts_on: dt.date,
    ends_on: dt.date,
    reason: str,
    school_id: int | None,
    activity_id: int | None,
) -> queries.ClosureScope:
    names = await queries.closure_target_names(school_id, activity_id)
    if school_id is not None and names["school"] is None:
        raise Rejected("Choisissez une école de la liste.", field="ecole")
    if activity_id is not None and names["activity"] is None:
        raise Rejected("Choisissez une activité de la liste.", field="activite")
    return queries.ClosureScope(
        starts_on,
        ends_on,
        reason,
        school_id,
        activity_id,
        names["school"] or "",
        names["activity"] or "",
    )


async def add_closure(
    actor: Principal,
    *,
    starts_on: dt.date,
    ends_on: dt.date,
    reason: str,
    school_id: int | None = None,
    activity_id: int | None = None,
    confirmed: bool = False,
    settings=None,
) -> ClosureDone:
    """A closure of every school and activity, or of one school, or of one activity.

    When it covers bookings and is not `confirmed`, raises ToConfirm with them and writes
    nothing. Confirmed, in one transaction: the closure, its bookings made "fermee", one
    e-mail per family that has an address (`settings`: the portal's address for the link,
    the commune's name), and the journal line with the scope and the numbers."""
    check_closure_dates(starts_on, ends_on)
    if not reason:
        raise Rejected("Indiquez le motif : il est montré aux familles.", field="motif")
    async with write_transaction():
        scope = await _scope(starts_on, ends_on, reason, school_id, activity_id)
        impact = await queries.bookings_hit(scope)
        if impact.bookings and not confirmed:
            raise ToConfirm(impact)
        closure = Closure(
            starts_on=starts_on,
            ends_on=ends_on,
            school=school_id,
            activity=activity_id,
            reason=reason,
        )
        await closure.save()
        emails = 0
        if impact.bookings:
            changed = (
                await Booking.update(
                    {
                        Booking.state: "fermee",
                        Booking.updated_at: clock.now(),
                        Booking.updated_by: actor.staff_id,
                    }
                )
                .where(queries.scope_condition(scope) & Booking.state.is_in(list(STANDING)))
                .returning(Booking.id)
            )
            ids = sorted(r["id"] for r in changed)
            if ids != sorted(impact.booking_ids):
                # PostgreSQL: a booking made or cancelled since the read above. Tell the
                # families what the update did.
                impact = await queries.bookings_hit(scope, ids=ids)
            emails = await _queue_closure_mails(impact, settings)
        await record(actor, "settings_changed", target="fermeture", details=closure_details(impact))
    return ClosureDone(closure.id, impact, emails)


async def _queue_closure_mails(impact: queries.ClosureImpact, settings) -> int:
    if settings is None:  # a caller without a request (a script): the process's settings
        settings = Settings.from_env()
    service = (await commune_settings())["service_name"]
    queued = 0
    for family in impact.families:
        if not family.email:
            continue  # an anonymised family, or none given: the calendar still says it
        subject, text, html = render_closure_mail(family, impact.scope, settings, service)
        await queue_email(
            to=family.email,
            subject=subject,
            text=text,
            html=html,
            kind=CLOSURE_MAIL,
            family_id=family.id,
        )
        queued += 1
    return queued


# Every place counter of a scope, counted again from the bookings still standing.
RECOUNT_SQL = (
    "UPDATE slot SET booked = (SELECT COUNT(*) FROM booking b WHERE b.school = slot.school "
    "AND b.activity = slot.activity AND b.day = slot.day AND b.state = 'reservee') "
    "WHERE slot.day >= {} AND slot.day <= {}"
)


async def delete_closure(
    actor: Principal, closure_id: int, *, confirmed: bool = False
) -> ClosureDone:
    """Removes a closure. When it had cancelled bookings that no other closure covers, raises
    ToConfirm with them unless `confirmed`. Nothing is rebooked: those families may book the
    days again; the place counters of its days are counted again from the standing bookings."""
    async with write_transaction():
        scope = await queries.closure_scope(closure_id)
        if scope is None:
            raise Missing(closure_id)
        impact = await queries.bookings_closed_by(closure_id, scope)
        if impact.families and not confirmed:
            raise ToConfirm(impact)
        await Closure.delete().where(Closure.id == closure_id)
        sql, args = RECOUNT_SQL, [scope.starts_on, scope.ends_on]
        if scope.school_id is not None:
            sql, args = sql + " AND slot.school = {}", [*args, scope.school_id]
        if scope.activity_id is not None:
            sql, args = sql + " AND slot.activity = {}", [*args, scope.activity_id]
        await fetch(sql, *args)
        await record(
            actor,
            "settings_changed",
            target="fermeture supprimée",
            details=closure_details(impact),
        )
    return ClosureDone(closure_id, impact)


# ---------------------------------------------------------------- activities
# Booking reads the days, hours, eligible levels, exclusive group, deadline rule and places;
# billing reads `billable`. The code, the group, the deadline rule and `billable` are chosen at
# creation and then fixed: changing them later would rewrite the rules under bookings already
# made (two bookings of one group on a day, days booked as free becoming billed in a month not
# yet invoiced). So update_activity takes none of them.


def _activity_values(
    *,
    label: str,
    short_label: str,
    weekdays: Iterable[str],
    starts_at: dt.time,
    ends_at: dt.time,
    levels: Iterable[str],
    default_capacity: int,
    active: bool,
) -> dict:
    levels = set(levels)
    return {
        Activity.label: label,
        Activity.short_label: short_label,
        Activity.weekdays: ",".join(sorted(weekdays)),
        Activity.starts_at: starts_at,
        Activity.ends_at: ends_at,
        Activity.eligible_levels: ",".join(lv for lv in LEVELS if lv in levels),
        Activity.default_capacity: default_capacity,
        Activity.active: active,
    }


def _check_activity(
    label: str, short_label: str, starts_at: dt.time, ends_at: dt.time, others: list[dict]
) -> None:
    if not label:
        raise Rejected("Saisissez le libellé de l’activité.", field="libelle")
    if not short_label:
        raise Rejected(
            "Saisissez le libellé court, utilisé dans les tableaux.", field="libelle_court"
        )
    check_activity_label(label, others)
    check_activity_short_label(short_label, others)
    check_activity_hours(starts_at, ends_at)


async def create_activity(
    actor: Principal,
    *,
    label: str,
    short_label: str,
    code: str = "",
    weekdays: Iterable[str],
    starts_at: dt.time,
    ends_at: dt.time,
    levels: Iterable[str],
    default_capacity: int,
    deadline_rule: str,
    group_code: str = "",
    billable: bool = True,
    capacities: dict[int, int] | None = None,
) -> tuple[int, str]:
    """A new activity, offered at once and last in the families' calendar, with its places per
    school; returns (id, code). An empty code is formed from the label."""
    capacities = dict(capacities or {})
    values = _activity_values(
        label=label,
        short_label=short_label,
        weekdays=weekdays,
        starts_at=starts_at,
        ends_at=ends_at,
        levels=levels,
        default_capacity=default_capacity,
        active=True,
    )
    if deadline_rule not in DEADLINE_LABELS:
        raise Rejected("Choisissez la date limite de réservation.", field="delai")
    final_code = code
    try:
        async with write_transaction():
            others = await Activity.select(
                Activity.id,
                Activity.code,
                Activity.label,
                Activity.short_label,
                Activity.group_code,
                Activity.sort_order,
            )
            _check_activity(label, short_label, starts_at, ends_at, others)
            final_code = activity_code(label, code, (o["code"] for o in others))
            if group_code and group_code not in {o["group_code"] for o in others}:
                raise Rejected("Choisissez un groupe dans la liste.", field="groupe")
            activity = Activity(
                code=final_code,
                group_code=group_code,
                deadline_rule=deadline_rule,
                billable=billable,
                sort_order=max((o["sort_order"] for o in others), default=0) + 10,
                **{c._meta.name: v for c, v in values.items()},
            )
            await activity.save()
            for school_id, capacity in capacities.items():
                await ActivityCapacity(
                    activity=activity.id, school=school_id, capacity=capacity
                ).save()
            await record(
                actor,
                "settings_changed",
                target=f"activité {final_code} créée",
                details={
                    "code": final_code,
                    "label": label,
                    "billable": billable,
                    "deadline_rule": deadline_rule,
                    "group": group_code,
                    "capacities": {str(k): v for k, v in capacities.items()},
                },
            )
    except Rejected:
        raise
    except Exception:
        # Two administrators creating the same code at once: the unique index decides.
        if not final_code or not await Activity.exists().where(Activity.code == final_code):
            raise
        raise Rejected(CODE_TAKEN.format(code=final_code), field="code") from None
    return activity.id, final_code


@dataclass(frozen=True)
class OverBooked:
    """A day whose bookings already exceed the places an administrator is setting."""

    school_id: int
    school_name: str
    day: dt.date
    booked: int
    capacity: int

    @property
    def over(self) -> int:
        return self.booked - self.capacity


class OverCapacity(Rejected):
    """Places set below the bookings already made for days to come: nobody is cancelled, the
    administrator confirms (the box « confirmer_places ») once the days are shown."""

    def __init__(self, days: list[OverBooked]) -> None:
        total = sum(d.over for d in days)
        super().__init__(
            "Les places choisies sont inférieures aux réservations déjà faites : "
            f"{counted(total, 'réservation', 'réservations')} au-delà des places, "
            f"sur {counted(len({d.day for d in days}), 'jour')}. Cochez la case pour "
            "enregistrer quand même : aucune réservation n’est annulée.",
            field="confirmer_places",
        )
        self.days = days


def over_capacity(booked: list[dict], old: dict[int, int], new: dict[int, int]) -> list[OverBooked]:
    """The days (of queries.booked_per_day) whose bookings exceed a school's new places, for
    the schools whose places go down (0 is no limit): a limit kept as it was asks nothing."""
    lowered = {
        school: places
        for school, places in new.items()
        if places > 0 and (old.get(school, 0) == 0 or places < old[school])
    }
    return [
        OverBooked(r["school"], r["school_name"], r["day"], r["booked"], lowered[r["school"]])
        for r in booked
        if r["school"] in lowered and r["booked"] > lowered[r["school"]]
    ]


async def update_activity(
    actor: Principal,
    activity_id: int,
    *,
    label: str,
    short_label: str,
    weekdays: Iterable[str],
    starts_at: dt.time,
    ends_at: dt.time,
    levels: Iterable[str],
    default_capacity: int,
    active: bool,
    capacities: dict[int, int] | None = None,
    over_capacity_confirmed: bool = False,
    settings=None,
) -> None:
    """What may change once bookings exist: labels, days, hours, levels, places, offered.

    Places set below the bookings already made for a day to come (from today) raise
    OverCapacity with those days unless `over_capacity_confirmed`; nobody is cancelled either
    way, the journal line says how many bookings were above the places. Places raised where
    inscriptions wait validate the next in rank (ecp.booking.inscriptions.promote_waiting;
    `settings`: the portal's address for their e-mails)."""
    capacities = dict(capacities or {})
    values = _activity_values(
        label=label,
        short_label=short_label,
        weekdays=weekdays,
        starts_at=starts_at,
        ends_at=ends_at,
        levels=levels,
        default_capacity=default_capacity,
        active=active,
    )
    async with write_transaction():
        rows = await Activity.select(
            Activity.id,
            Activity.code,
            Activity.label,
            Activity.short_label,
            Activity.default_capacity,
        )
        activity = next((r for r in rows if r["id"] == activity_id), None)
        if activity is None:
            raise Missing(activity_id)
        others = [r for r in rows if r["id"] != activity_id]
        _check_activity(label, short_label, starts_at, ends_at, others)
        places = {
            c["school"]: c["capacity"]
            for c in await ActivityCapacity.select(
                ActivityCapacity.school, ActivityCapacity.capacity
            ).where(ActivityCapacity.activity == activity_id)
        }
        existing = set(places)
        booked = await queries.booked_per_day(activity_id, clock.today())
        schools = {r["school"] for r in booked}
        old = {s: places.get(s, activity["default_capacity"]) for s in schools}
        new = {s: capacities.get(s, default_capacity) for s in schools}
        above = over_capacity(booked, old, new)
        if above and not over_capacity_confirmed:
            raise OverCapacity(above)
        await Activity.update(values).where(Activity.id == activity_id)
        for school_id, capacity in capacities.items():
            if school_id in existing:
                await ActivityCapacity.update({ActivityCapacity.capacity: capacity}).where(
                    (ActivityCapacity.activity == activity_id)
                    & (ActivityCapacity.school == school_id)
                )
            else:
                await ActivityCapacity(
                    activity=activity_id, school=school_id, capacity=capacity
                ).save()
        await record(
            actor,
            "settings_changed",
            target=f"activité {activity['code']}",
            details={
                "capacities": {str(k): v for k, v in capacities.items()},
                **(
                    {"réservations au-delà des places": sum(d.over for d in above)} if above else {}
                ),
            },
        )
        await inscriptions.promote_waiting(actor, activity_id, settings=settings)


# ---------------------------------------------------------------- staff accounts


async def save_staff(
    actor: Principal,
    passwords,
    staff_id: int | None,
    *,
    display_name: str,
    role: str,
    email: str = "",
    active: bool = True,
    password: str = "",
    username: str = "",
    schools: Iterable[int] | None = None,
) -> str:
    """Creates an account (staff_id None: username and password required) or changes one (its
    username stays; an empty password keeps the current one). A new password, a role change
    or a deactivation ends that person's sessions: their rights are read at login. `schools`
    (ids of active schools; empty: every school) limits the account to those schools
    (ecp.auth.scope); None leaves them as they are. Returns the username."""
    creating = staff_id is None
    if creating:
        check_username(username)
    if not display_name:
        raise Rejected("Saisissez le nom affiché.", field="nom_affiche")
    check_role(role)
    check_own_rights(actor.staff_id, staff_id, role, active)
    if not creating:
        existing = await StaffUser.select(StaffUser.username).where(StaffUser.id == staff_id)
        if not existing:
            raise Missing(staff_id)
        username = existing[0]["username"]
    if password or creating:
        check_staff_password(password, username)
    # Hashed before the transaction: Argon2 takes a while, the write lock should not wait.
    new_hash = await passwords.hash(password) if password else None
    async with write_transaction():
        values = {
            StaffUser.display_name: display_name,
            StaffUser.email: email,
            StaffUser.role: role,
            StaffUser.active: active,
        }
        if new_hash:
            values[StaffUser.password_hash] = new_hash
            values[StaffUser.failed_logins] = 0
            values[StaffUser.locked_until] = None
            # A password given by someone else is provisional: its owner chooses their own at
            # the next login (ecp.auth.guards).
            values[StaffUser.must_change_password] = staff_id != actor.staff_id
        if not creating:
            current = await StaffUser.select(StaffUser.role).where(StaffUser.id == staff_id).first()
            if current is None:
                raise Missing(staff_id)
            await StaffUser.update(values).where(StaffUser.id == staff_id)
            if new_hash or not active or role != current["role"]:
                await close_all_for(staff_id=staff_id)
        else:
            if await StaffUser.exists().where(StaffUser.username == username):
                raise Rejected("Cet identifiant est déjà pris.", field="identifiant")
            await StaffUser(
                username=username,
                created_at=clock.now(),
                **{c._meta.name: v for c, v in values.items()},
            ).save()
        details = {"role": role, "active": active, "password_changed": bool(new_hash)}
        if schools is not None:
            staff_row = (
                await StaffUser.select(StaffUser.id).where(StaffUser.username == username).first()
            )
            changed = await _set_staff_schools(staff_row["id"], schools)
            if changed is not None:
                details["ecoles"] = changed
        await record(
            actor,
            "staff_account_created" if creating else "staff_account_changed",
            target=f"agent {username}",
            details=details,
        )
    return username


async def _set_staff_schools(staff_id: int, schools: Iterable[int]) -> list[str] | None:
    """Replaces the schools the account is limited to; returns their names when they changed
    (« toutes » for none), None when they did not. A school that is not active is refused."""
    wanted = sorted(set(schools))
    names = await queries.school_names()
    active = {int(value) for value, _ in await queries.school_choices()}
    if any(s not in active for s in wanted):
        raise Rejected("Choisissez parmi les écoles proposées.", field="ecoles")
    current = sorted(
        r["school"]
        for r in await StaffSchool.select(StaffSchool.school).where(StaffSchool.staff == staff_id)
    )
    if current == wanted:
        return None
    await StaffSchool.delete().where(StaffSchool.staff == staff_id)
    if wanted:
        await StaffSchool.insert(*(StaffSchool(staff=staff_id, school=s) for s in wanted))
    return [names[s] for s in wanted] or ["toutes"]


async def reset_staff_mfa(actor: Principal, staff_id: int) -> str:
    """A lost or changed phone: the member's authenticator goes, their sessions end, and they
    enrol again at their next login (ECP_STAFF_MFA=obligatoire). Returns the username."""
    row = await StaffUser.select(StaffUser.username).where(StaffUser.id == staff_id).first()
    if row is None:
        raise Missing(staff_id)
    username = row["username"]
    if staff_id == actor.staff_id:
        raise Rejected("Pour votre propre compte, changez d’application depuis « Mon compte ».")
    async with write_transaction():
        # mfa.reset also drops a pending login: that stays done when there was no authenticator.
        removed = await mfa.reset(staff_id)
        if removed:
            await close_all_for(staff_id=staff_id)
            await record(
                actor,
                "staff_account_changed",
                target=f"agent {username}",
                details={"double_authentification": "réinitialisée"},
            )
    if not removed:
        raise NothingToReset(
            f"Le compte « {username} » n’a pas de double authentification à réinitialiser."
        )
    return username
