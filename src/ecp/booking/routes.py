"""Booking pages: the family's week calendar, semaine type, inscriptions (recap, print, ICS),
and the staff's inscriptions, effectifs/pointage, kitchen headcount, CSV and booking on behalf."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from ecp import clock
from ecp.booking import calendar as cal
from ecp.booking import queries, services, views
from ecp.booking.tables import Booking, Inscription
from ecp.commune.setup_cache import SETUP
from ecp.db import write_transaction
from ecp.families.tables import Child, Family
from ecp.web import flash
from ecp.web.forms import Form, many, text
from ecp.web.htmx import page_or_fragment, redirect, wants_fragment
from ecp.web.params import parse_day, parse_id, parse_int, parse_iso_day
from ecp.web.plural import counted
from ecp.web.templating import french_date

WEEK_PAGE = "pages/booking/week.html"


def _rate_key(request: Request) -> str:
    """Per family rather than per address: families share school or work networks."""
    user = request.scope.get("user")
    if user is not None and user.family_id:
        return f"booking:family:{user.family_id}"
    return f"booking:ip:{get_remote_address(request)}"


# Generous for a parent tapping a whole month (about 25 taps a week), fatal to a runaway script.
BOOKING_RATE = RateLimitConfig(
    rate_limit=("minute", 120), store="action_rate", identifier_for_request=_rate_key
)
WEEK_FRAGMENT = "partials/booking/week_grid.html"
STAFF_WEEK_PAGE = "pages/booking/staff_family_week.html"


# ---------------------------------------------------------------------------------------------
# The week calendar (family, and staff on a family's behalf)


def _week_or_404(semaine: str | None) -> dt.date:
    monday = cal.parse_week(semaine, clock.today())
    if monday is None:
        raise NotFoundException("Semaine introuvable")
    return monday


async def week_context(
    family_id: int,
    monday: dt.date,
    *,
    staff: bool,
    post_url: str,
    base_url: str,
    focus: str = "",
    data: queries.CalendarData | None = None,
) -> dict[str, Any]:
    """`data`: the week already loaded (and updated by a booking change), else read here."""
    if data is None:
        data = await queries.load_calendar(family_id, monday, monday + dt.timedelta(days=4))
    children = views.build_week(data, monday, clock.now(), staff=staff)
    return {
        "children": children,
        "monday": monday,
        "week": cal.week_code(monday),
        "title": views.week_title(monday),
        "prev_week": cal.week_code(monday - dt.timedelta(days=7)),
        "next_week": cal.week_code(monday + dt.timedelta(days=7)),
        "this_week": cal.week_code(clock.today() - dt.timedelta(days=clock.today().weekday())),
        "staff": staff,
        "post_url": post_url,
        "base_url": base_url,
        "focus": focus,
        "has_school_year": data.year_id is not None,
    }


def _parse_change(data: dict[str, Any]) -> tuple[int, int, dt.date, str, str] | None:
    """The calendar's buttons post `case=child:activity:day:action`; the four separate fields
    are accepted too (links and scripts written against them keep working)."""
    case = text(data, "case", 80)
    if case:
        parts = case.split(":")
        if len(parts) != 4:
            return None
        child, activity, day_text, action = parts
    else:
        child, activity, day_text = text(data, "enfant"), text(data, "activite"), text(data, "jour")
        action = text(data, "action")
    child_id, activity_id, day = parse_id(child), parse_id(activity), parse_iso_day(day_text)
    if child_id is None or activity_id is None or day is None:
        return None
    if action not in services.ACTIONS:
        return None
    return child_id, activity_id, day, action, text(data, "semaine")


def _success_message(outcome: services.Outcome) -> str:
    when = views.jour(outcome.day)
    return {
        "reservee": f"{outcome.activity_label} réservé pour {outcome.child_name}, {when}.",
        "annulee": f"{outcome.activity_label} annulé pour {outcome.child_name}, {when}.",
        "malade": f"Absence pour maladie signalée pour {outcome.child_name}, {when} "
        f"({outcome.activity_label}) : ce jour ne sera pas facturé.",
    }[outcome.state]


async def _change(
    request: Request,
    data: dict[str, Any],
    *,
    family_id: int,
    staff: bool,
    post_url: str,
    base_url: str,
):
    parsed = _parse_change(data)
    if parsed is None:
        monday = cal.parse_week(text(data, "semaine"), clock.today()) or cal.parse_week(
            None, clock.today()
        )
        context = await week_context(
            family_id, monday, staff=staff, post_url=post_url, base_url=base_url
        )
        context["flash_messages"] = [
            {"kind": "error", "text": "Demande incomplète : choisissez une case du calendrier."}
        ]
        context["flash_oob"] = wants_fragment(request)
        return page_or_fragment(
            request,
            page=_page(staff),
            fragment=WEEK_FRAGMENT,
            context=context | await _page_extra(staff, family_id),
            status_code=422,
        )
    child_id, activity_id, day, action, week = parsed
    monday = cal.parse_week(week, clock.today())
    if monday is None or not monday <= day <= monday + dt.timedelta(days=4):
        monday = day - dt.timedelta(days=day.weekday())  # the week that holds the cell
    focus = views.cell_id(child_id, activity_id, day)
    # htmx re-renders the week: read it once, before the change, which reuses its set-up and
    # records itself in it (3 queries for a booking instead of reading the week twice).
    data = None
    # The set-up is read before the write, as fresh as at the request's start: the cache will do.
    SETUP.trust()
    if wants_fragment(request):
        data = await queries.load_calendar(family_id, monday, monday + dt.timedelta(days=4))
    try:
        outcome = await services.change(
            action,
            child_id=child_id,
            activity_id=activity_id,
            day=day,
            family_id=family_id,
            actor=request.user if staff else None,
            calendar=data,
        )
        message, kind, status = _success_message(outcome), "success", 200
    except services.NotFound as exc:
        raise NotFoundException(exc.message) from exc
    except services.BookingError as exc:
        message, kind, status = exc.message, "error", 409
    if not wants_fragment(request):
        response = Redirect(
            path=f"{base_url}?semaine={cal.week_code(monday)}#{focus}", status_code=303
        )
        flash.add(request, response, message, kind)
        return response
    context = await week_context(
        family_id, monday, staff=staff, post_url=post_url, base_url=base_url, focus=focus, data=data
    )
    context["flash_messages"] = [{"kind": kind, "text": message}]
    context["flash_oob"] = True
    context |= await _page_extra(staff, family_id)
    return page_or_fragment(
        request, page=_page(staff), fragment=WEEK_FRAGMENT, context=context, status_code=status
    )


def _page(staff: bool) -> str:
    return STAFF_WEEK_PAGE if staff else WEEK_PAGE


async def _page_extra(staff: bool, family_id: int) -> dict[str, Any]:
    if not staff:
        return {}
    return {"family": await _family_or_404(family_id)}


async def _family_or_404(family_id: int) -> dict:
    family = (
        await Family.select(Family.id, Family.code, Family.name)
        .where(Family.id == family_id)
        .first()
    )
    if family is None:
        raise NotFoundException("Famille introuvable")
    return family


@get("/reservations", name="booking_week")
async def booking_week(request: Request, semaine: FromQuery[str | None] = None) -> Template:
    monday = _week_or_404(semaine)
    context = await week_context(
        request.user.family_id,
        monday,
        staff=False,
        post_url="/famille/reservations",
        base_url="/famille/reservations",
    )
    return page_or_fragment(request, page=WEEK_PAGE, fragment=WEEK_FRAGMENT, context=context)


@post("/reservations", name="booking_change", status_code=200, middleware=[BOOKING_RATE.middleware])
async def booking_change(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    return await _change(
        request,
        data,
        family_id=request.user.family_id,
        staff=False,
        post_url="/famille/reservations",
        base_url="/famille/reservations",
    )


@get("/familles/{family_id:int}/reservations", name="staff_family_week")
async def staff_family_week(
    request: Request, family_id: FromPath[int], semaine: FromQuery[str | None] = None
) -> Template:
    family = await _family_or_404(family_id)
    monday = _week_or_404(semaine)
    url = f"/agents/familles/{family_id}/reservations"
    context = await week_context(family_id, monday, staff=True, post_url=url, base_url=url)
    context["family"] = family
    return page_or_fragment(request, page=STAFF_WEEK_PAGE, fragment=WEEK_FRAGMENT, context=context)


@post("/familles/{family_id:int}/reservations", name="staff_family_week_change", status_code=200)
async def staff_family_week_change(
    request: Request, family_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    await _family_or_404(family_id)
    url = f"/agents/familles/{family_id}/reservations"
    return await _change(request, data, family_id=family_id, staff=True, post_url=url, base_url=url)


# ---------------------------------------------------------------------------------------------
# Semaine type

PATTERN_PAGE = "pages/booking/pattern.html"
PATTERN_FRAGMENT = "partials/booking/pattern_form.html"
MAX_PATTERN_DAYS = 140
WEEKDAY_NAMES = {1: "lundi", 2: "mardi", 3: "mercredi", 4: "jeudi", 5: "vendredi"}


def _parse_date(value: str) -> dt.date | None:
    return parse_day(value)


async def _pattern_choices(family_id: int) -> tuple[list[dict], list[cal.ActivityInfo]]:
    children = (
        await Child.select(Child.id, Child.first_name, Child.last_name, Child.level)
        .where((Child.family == family_id) & (Child.active == True))
        .order_by(Child.birth_date)
    )  # noqa: E712
    activities, _ = await queries.load_activities()
    return children, _eligible(activities, children)


def _eligible(activities: list[cal.ActivityInfo], children: list[dict]) -> list[cal.ActivityInfo]:
    levels = {c["level"] for c in children}
    return [a for a in activities if any(a.eligible(lv) for lv in levels)]


def _pattern_form(
    data: dict[str, Any], children: list[dict], activities: list[cal.ActivityInfo]
) -> tuple[Form, dict]:
    form = Form(
        values={"enfants": many(data, "enfants"), "du": text(data, "du"), "au": text(data, "au")}
    )
    child_ids = {c["id"] for c in children}
    chosen = []
    for value in form.values["enfants"]:
        if parse_id(value) in child_ids:
            chosen.append(parse_id(value))
        else:
            raise NotFoundException("Enfant introuvable")
    if not chosen:
        form.error("enfants", "Choisissez au moins un enfant.")
    pattern: dict[int, set[int]] = {}
    for activity in activities:
        days = {
            d
            for d in (parse_int(v, 1, 7) for v in many(data, f"jours_{activity.id}"))
            if d is not None
        }
        days &= set(activity.weekdays)
        form.values[f"jours_{activity.id}"] = [str(d) for d in sorted(days)]
        if days:
            pattern[activity.id] = days
    if not pattern:
        form.error("jours", "Cochez au moins un jour pour une activité.")
    today = clock.today()
    start, end = _parse_date(form.values["du"]), _parse_date(form.values["au"])
    if start is None:
        form.error("du", "Saisissez la date de début, par exemple 07/12/2026.")
    elif start < today:
        form.error("du", "La date de début ne peut pas être passée.")
    if end is None:
        form.error("au", "Saisissez la date de fin, par exemple 18/12/2026.")
    elif start is not None and end < start:
        form.error("au", "La date de fin doit être après la date de début.")
    elif start is not None and (end - start).days > MAX_PATTERN_DAYS:
        form.error("au", "Choisissez une période de 20 semaines au plus.")
    return form, {"children": chosen, "pattern": pattern, "start": start, "end": end}


async def _pattern_context(request: Request, form: Form, plan=None, choices=None) -> dict:
    children, activities = choices or await _pattern_choices(request.user.family_id)
    return {
        "form": form,
        "children": children,
        "activities": activities,
        "plan": plan,
        "result": None,
        "weekday_names": WEEKDAY_NAMES,
        "first_activity_id": activities[0].id if activities else 0,
    }


def _default_pattern_form() -> Form:
    today = clock.today()
    monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=14)
    return Form(
        values={
            "enfants": [],
            "du": monday.strftime("%d/%m/%Y"),
            "au": (monday + dt.timedelta(days=11)).strftime("%d/%m/%Y"),
        }
    )


@get("/reservations/semaine-type", name="booking_pattern")
async def booking_pattern(request: Request) -> Template:
    context = await _pattern_context(request, _default_pattern_form())
    return page_or_fragment(request, page=PATTERN_PAGE, fragment=PATTERN_FRAGMENT, context=context)


@post(
    "/reservations/semaine-type",
    name="booking_pattern_apply",
    status_code=200,
    middleware=[BOOKING_RATE.middleware],
)
async def booking_pattern_apply(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    family_id = request.user.family_id
    start, end = _parse_date(text(data, "du")), _parse_date(text(data, "au"))
    calendar = None
    SETUP.trust()  # the set-up is read before any write, as for a tap
    if start and end and start <= end and (end - start).days <= MAX_PATTERN_DAYS:
        # One read of the period serves the form's choices, the preview and the booking rules.
        calendar = await queries.load_calendar(family_id, start, end)
        choices = calendar.children, _eligible(calendar.activities, calendar.children)
    else:
        choices = await _pattern_choices(family_id)
    form, parsed = _pattern_form(data, *choices)
    if not form.valid:
        context = await _pattern_context(request, form, choices=choices)
        return page_or_fragment(
            request, page=PATTERN_PAGE, fragment=PATTERN_FRAGMENT, context=context, status_code=422
        )
    assert calendar is not None  # valid dates were loaded above
    plan = await services.plan_week_pattern(
        family_id,
        parsed["children"],
        parsed["pattern"],
        parsed["start"],
        parsed["end"],
        data=calendar,
    )
    if text(data, "etape") != "confirmer":
        context = await _pattern_context(request, form, plan=plan, choices=choices)
        return page_or_fragment(
            request, page=PATTERN_PAGE, fragment=PATTERN_FRAGMENT, context=context
        )
    made, refused = await services.apply_week_pattern(family_id, plan, setup=calendar.setup())
    week = cal.week_code(parsed["start"] - dt.timedelta(days=parsed["start"].weekday()))
    week_url = f"/famille/reservations?semaine={week}"
    # What the confirmation could not book: the days the preview already refused (or that
    # became full since, seen by this second plan) and those refused while booking.
    failed = sorted(
        [i for i in plan if not i.ok] + refused,
        key=lambda i: (i.day, i.child_name, i.activity_label),
    )
    if made and not failed:
        return redirect(
            request,
            week_url,
            "Semaine type appliquée : "
            f"{counted(made, 'réservation ajoutée', 'réservations ajoutées')}.",
        )
    # Not (all) done: the parent stays on the page, with a warning that says what was booked,
    # what was not and why, day by day. Too long for a flash cookie, and the form stays there
    # to try other days.
    result = {
        "made": made,
        "failed": failed,
        "week_url": week_url,
        "message": pattern_result_message(made, len(failed)),
    }
    context = await _pattern_context(request, form, choices=choices)
    context["result"] = result
    return page_or_fragment(
        request,
        page=PATTERN_PAGE,
        fragment=PATTERN_FRAGMENT,
        context=context,
        status_code=200 if made else 409,
    )


def pattern_result_message(made: int, failed: int) -> str:
    """The warning after a semaine type that booked only part of the days, or none."""
    not_booked = counted(failed, "jour n’a pas pu être réservé", "jours n’ont pas pu être réservés")
    if not made and not failed:
        return "Aucune réservation ajoutée : les jours choisis étaient déjà réservés."
    if not made:
        return f"Semaine type non appliquée : aucune réservation ajoutée, {not_booked}."
    return (
        "Semaine type appliquée en partie : "
        f"{counted(made, 'réservation ajoutée', 'réservations ajoutées')}, {not_booked}."
    )


# ---------------------------------------------------------------------------------------------
# Inscriptions, monthly recap, printable view, ICS feed

INSCRIPTIONS_PAGE = "pages/booking/inscriptions.html"
ICS_FRAGMENT = "partials/booking/ics_panel.html"
STATUS_LABELS = {"en_attente": "en attente", "validee": "validée", "refusee": "refusée"}


async def _inscriptions_context(family_id: int, month: dt.date) -> dict[str, Any]:
    settings, year = await queries.load_rules_row()
    year_id = year["id"] if year else 0
    children = (
        await Child.select(Child.id, Child.first_name, Child.last_name, Child.level)
        .where((Child.family == family_id) & (Child.active == True))
        .order_by(Child.birth_date)
    )  # noqa: E712
    activities, _ = await queries.load_activities()
    rows = await Inscription.select(
        Inscription.id,
        Inscription.child,
        Inscription.activity,
        Inscription.status,
        Inscription.reason,
        Inscription.requested_at,
    ).where((Inscription.child.family == family_id) & (Inscription.school_year == year_id))
    by_child: dict[int, list[dict]] = {c["id"]: [] for c in children}
    labels = {a.id: a.label for a in activities}
    taken = set()
    for row in rows:
        taken.add((row["child"], row["activity"]))
        by_child.setdefault(row["child"], []).append(
            row
            | {
                "label": labels.get(row["activity"], "?"),
                "status_label": STATUS_LABELS.get(row["status"], row["status"]),
            }
        )
    requestable = {
        c["id"]: [a for a in activities if a.eligible(c["level"]) and (c["id"], a.id) not in taken]
        for c in children
    }
    recap = await _recap(family_id, month)
    family = await Family.select(Family.ics_token_hash).where(Family.id == family_id).first()
    return {
        "children": children,
        "inscriptions": by_child,
        "requestable": requestable,
        "recap": recap,
        "month": month,
        "month_code": month.strftime("%Y-%m"),
        "month_label": french_date(month, "MMMM y"),
        "prev_month": (month - dt.timedelta(days=1)).strftime("%Y-%m"),
        "next_month": (cal.month_end(month) + dt.timedelta(days=1)).strftime("%Y-%m"),
        "has_year": year is not None,
        "ics_active": bool(family and family["ics_token_hash"]),
        "ics_url": None,
        "form": Form(),
    }


async def _recap(family_id: int, month: dt.date) -> list[dict]:
    """Per child and activity: booked days and days declared ill in the month (one query)."""
    rows = (
        await Booking.select(
            Booking.child,
            Booking.child.first_name.as_alias("child_name"),
            Booking.activity,
            Booking.activity.short_label.as_alias("label"),
            Booking.activity.sort_order.as_alias("o"),
            Booking.day,
            Booking.state,
        )
        .where(
            (Booking.child.family == family_id)
            & (Booking.day >= month)
            & (Booking.day <= cal.month_end(month))
            & (Booking.state != "annulee")
        )
        .order_by(Booking.day)
    )
    lines: dict[tuple[int, int], dict] = {}
    for row in rows:
        line = lines.setdefault(
            (row["child"], row["activity"]),
            {
                "child": row["child_name"],
                "label": row["label"],
                "order": row["o"],
                "days": [],
                "ill": [],
            },
        )
        (line["ill"] if row["state"] == "malade" else line["days"]).append(row["day"])
    return sorted(lines.values(), key=lambda x: (x["child"], x["order"]))


def _month_or_404(mois: str | None) -> dt.date:
    month = cal.parse_month(mois, clock.today())
    if month is None:
        raise NotFoundException("Mois introuvable")
    return month


@get("/inscriptions", name="family_inscriptions")
async def family_inscriptions(request: Request, mois: FromQuery[str | None] = None) -> Template:
    context = await _inscriptions_context(request.user.family_id, _month_or_404(mois))
    return page_or_fragment(request, page=INSCRIPTIONS_PAGE, context=context)


@post(
    "/inscriptions",
    name="family_inscription_request",
    status_code=200,
    middleware=[BOOKING_RATE.middleware],
)
async def family_inscription_request(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    family_id = request.user.family_id
    context = await _inscriptions_context(family_id, clock.today().replace(day=1))
    child_id, activity_id = text(data, "enfant"), text(data, "activite")
    child, activity = parse_id(child_id), parse_id(activity_id)
    children = {c["id"]: c for c in context["children"]}
    if child not in children:
        raise NotFoundException("Enfant introuvable")
    choices = {a.id: a for a in context["requestable"][child]}
    form = Form(values={"enfant": child_id, "activite": activity_id})
    field_id = f"activite-{child_id}"
    if activity not in choices:
        form.error(field_id, "Choisissez une activité dans la liste.")
        context |= {"form": form, "form_child": child}
        return page_or_fragment(request, page=INSCRIPTIONS_PAGE, context=context, status_code=422)
    settings, year = await queries.load_rules_row()
    if year is None:
        raise NotFoundException("Aucune année scolaire ouverte")
    async with write_transaction():
        exists = await Inscription.exists().where(
            (Inscription.child == child)
            & (Inscription.activity == activity)
            & (Inscription.school_year == year["id"])
        )
        if not exists:
            await Inscription.insert(
                Inscription(
                    child=child,
                    activity=activity,
                    school_year=year["id"],
                    status="en_attente",
                    requested_at=clock.now(),
                )
            )
    name = children[child]["first_name"]
    return redirect(
        request,
        "/famille/inscriptions",
        f"Demande d’inscription de {name} à « {choices[int(activity_id)].label} » "
        "envoyée : le service vous répondra ici.",
    )


@get("/inscriptions/imprimer", name="family_inscriptions_print")
async def family_inscriptions_print(
    request: Request, mois: FromQuery[str | None] = None
) -> Template:
    month = _month_or_404(mois)
    context = await _inscriptions_context(request.user.family_id, month)
    family = (
        await Family.select(Family.name, Family.code)
        .where(Family.id == request.user.family_id)
        .first()
    )
    context["family"] = family
    return page_or_fragment(request, page="pages/booking/inscriptions_print.html", context=context)


def ics_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@post(
    "/inscriptions/calendrier",
    name="family_ics",
    status_code=200,
    middleware=[BOOKING_RATE.middleware],
)
async def family_ics(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    """Creates (or replaces) the private feed address, or revokes it. The token is shown once:
    only its SHA-256 is kept, so a leaked database does not leak the feeds."""
    family_id = request.user.family_id
    action = text(data, "action")
    if action == "revoquer":
        await Family.update({Family.ics_token_hash: None}).where(Family.id == family_id)
        return redirect(
            request,
            "/famille/inscriptions",
            "Adresse du calendrier révoquée : les abonnements existants ne reçoivent plus rien.",
        )
    if action != "creer":
        raise NotFoundException("Action inconnue")
    token = secrets.token_urlsafe(32)
    await Family.update({Family.ics_token_hash: ics_token_hash(token)}).where(
        Family.id == family_id
    )
    context = await _inscriptions_context(family_id, clock.today().replace(day=1))
    settings = request.app.state.settings
    context["ics_url"] = f"{settings.base_url.rstrip('/')}/calendrier/{token}.ics"
    context["flash_messages"] = [
        {
            "kind": "success",
            "text": "Nouvelle adresse de calendrier "
            "créée ; l’ancienne, s’il y en avait une, ne fonctionne plus.",
        }
    ]
    context["flash_oob"] = wants_fragment(request)
    return page_or_fragment(request, page=INSCRIPTIONS_PAGE, fragment=ICS_FRAGMENT, context=context)


@get("/calendrier/{token:str}", name="ics_feed", media_type="text/calendar")
async def ics_feed(token: FromPath[str]) -> Response:
    if not token.endswith(".ics") or len(token) > 100:
        raise NotFoundException()
    family = (
        await Family.select(Family.id, Family.name)
        .where(
            (Family.ics_token_hash == ics_token_hash(token.removesuffix(".ics")))
            & (Family.active == True)
        )
        .first()
    )  # noqa: E712
    if family is None:
        raise NotFoundException()
    body = await build_ics(family["id"], family["name"])
    return Response(
        content=body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="reservations.ics"'},
    )


async def build_ics(family_id: int, family_name: str) -> bytes:
    import icalendar

    today = clock.today()
    rows = await Booking.select(
        Booking.id,
        Booking.day,
        Booking.state,
        Booking.updated_at,
        Booking.child.first_name.as_alias("child"),
        Booking.activity.label.as_alias("label"),
        Booking.activity.starts_at.as_alias("starts_at"),
        Booking.activity.ends_at.as_alias("ends_at"),
        Booking.school.name.as_alias("school"),
    ).where(
        (Booking.child.family == family_id)
        & (Booking.day >= today - dt.timedelta(days=31))
        & (Booking.day <= today + dt.timedelta(days=200))
        & (Booking.state != "annulee")
    )
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Portail Famille//ECP//FR")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"Réservations – famille {family_name}")
    calendar.add("x-wr-timezone", "Europe/Paris")
    calendar.add("refresh-interval", dt.timedelta(hours=6), parameters={"VALUE": "DURATION"})
    for row in rows:
        event = icalendar.Event()
        ill = row["state"] == "malade"
        event.add("uid", f"booking-{row['id']}@ecp")
        event.add(
            "summary", f"{row['label']} – {row['child']}" + (" (absence signalée)" if ill else "")
        )
        event.add("dtstart", dt.datetime.combine(row["day"], row["starts_at"], tzinfo=clock.PARIS))
        event.add("dtend", dt.datetime.combine(row["day"], row["ends_at"], tzinfo=clock.PARIS))
        event.add("dtstamp", row["updated_at"] or clock.now())
        event.add("location", row["school"] or "")
        event.add("status", "CANCELLED" if ill else "CONFIRMED")
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


# ---------------------------------------------------------------------------------------------


def family_router(settings) -> Router:
    return Router(
        path="/",
        route_handlers=[
            booking_week,
            booking_change,
            booking_pattern,
            booking_pattern_apply,
            family_inscriptions,
            family_inscription_request,
            family_inscriptions_print,
            family_ics,
        ],
    )


def staff_router(settings) -> Router:
    from ecp.booking.staff_routes import HANDLERS

    return Router(path="/", route_handlers=[staff_family_week, staff_family_week_change, *HANDLERS])


def public_router(settings) -> Router:
    return Router(path="/", route_handlers=[ics_feed])


__all__ = ["family_router", "staff_router", "public_router"]
