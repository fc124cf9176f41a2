"""Booking pages: the family's week calendar, semaine type, inscriptions (recap, print, ICS),
and the staff's booking on a family's behalf (their other pages are in staff_routes).

Handlers only: the reads are ecp.booking.queries', the writes and rules ecp.booking.services',
the forms ecp.booking.forms'."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from ecp import clock
from ecp.booking import calendar as cal
from ecp.booking import forms, inscriptions, queries, services, views
from ecp.commune.setup_cache import SETUP
from ecp.errors import Rejected
from ecp.web import flash, urls
from ecp.web.forms import Form, text
from ecp.web.french import de
from ecp.web.htmx import page_or_fragment, redirect, wants_fragment
from ecp.web.memo import csrf_token as memo_csrf_token
from ecp.web.memo import memo_for
from ecp.web.memo import render as memo_render
from ecp.web.params import parse_id
from ecp.web.plural import counted
from ecp.web.template_engine import reverse
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
# The grid already rendered (web.memo), as the htmx answer.
WEEK_MEMO_FRAGMENT = "partials/memo_html.html"
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
    refused_cell: str = "",
    child_id: int | None = None,
) -> dict[str, Any]:
    """`data`: the week already loaded (and updated by a booking change), else read here.
    `child_id`: the child a phone shows (one at a time, with a switch); the first by default."""
    if data is None:
        data = await queries.load_calendar(family_id, monday, monday + dt.timedelta(days=4))
    children = views.build_week(data, monday, clock.now(), staff=staff)
    today = clock.today()
    title = views.week_title(monday)
    shown = next((c.id for c in children if c.id == child_id), children[0].id if children else 0)
    return {
        "children": children,
        "shown_child": shown,
        "child_query": f"&enfant={shown}" if len(children) > 1 else "",
        "monday": monday,
        "week": cal.week_code(monday),
        "title": title,
        "heading": views.week_heading(monday),
        "page_title": f"Réservations – {title}",
        "is_current": monday <= today <= monday + dt.timedelta(days=6),
        "prev_week": cal.week_code(monday - dt.timedelta(days=7)),
        "next_week": cal.week_code(monday + dt.timedelta(days=7)),
        "this_week": cal.week_code(cal.parse_week(None, today)),
        "staff": staff,
        "post_url": post_url,
        "base_url": base_url,
        "focus": focus,
        "refused_cell": refused_cell,
        "has_school_year": data.year_id is not None,
        "week_closed": views.closed_week(children),
        "all_choices": [] if staff else views.all_children_choices(children),
        "copy_plan": None,
    }


def _success_message(outcome: services.Outcome) -> str:
    """Agreement-free: the sentence agrees with « réservation » / « absence », never with the
    activity's name, whose gender the portal does not know."""
    what = f"{outcome.activity_label} pour {outcome.child_name}, {views.jour(outcome.day)}"
    return {
        "reservee": f"Réservation enregistrée : {what}.",
        "annulee": f"Réservation annulée : {what}.",
        "malade": f"Absence pour maladie signalée : {what}. Ce jour ne sera pas facturé.",
    }[outcome.state]


def _week_urls(request: Request, family_id: int, staff: bool) -> tuple[str, str]:
    """(where the cells post, where the week is shown): the same path, by two route names."""
    app = request.app
    if staff:
        return (
            reverse(app, "staff_family_week_change", family_id=family_id),
            reverse(app, "staff_family_week", family_id=family_id),
        )
    return reverse(app, "booking_change"), reverse(app, "booking_week")


async def _change(request: Request, data: dict[str, Any], *, family_id: int, staff: bool):
    post_url, base_url = _week_urls(request, family_id, staff)
    change = forms.parse_change(data)
    if change is None:
        monday = cal.parse_week(text(data, "semaine"), clock.today()) or cal.parse_week(
            None, clock.today()
        )
        context = await week_context(
            family_id,
            monday,
            staff=staff,
            post_url=post_url,
            base_url=base_url,
            focus="week-grid-title",
        )
        context["flash_messages"] = [
            {"kind": "error", "text": "Demande incomplète : choisissez une case du calendrier."}
        ]
        context["flash_oob"] = wants_fragment(request)
        return page_or_fragment(
            request,
            page=_page(staff),
            fragment=WEEK_FRAGMENT,
            context=context | await _page_extra(staff, family_id, context["title"]),
            status_code=422,
        )
    monday = change.monday(clock.today())
    focus = views.cell_id(change.child_id, change.activity_id, change.day)
    # htmx re-renders the week: read it once, before the change, which reuses its set-up and
    # records itself in it (3 queries for a booking instead of reading the week twice).
    calendar = None
    # The set-up is read before the write, as fresh as at the request's start: the cache will do.
    SETUP.trust()
    if wants_fragment(request):
        calendar = await queries.load_calendar(family_id, monday, monday + dt.timedelta(days=4))
    try:
        outcome = await services.change(
            change.action,
            child_id=change.child_id,
            activity_id=change.activity_id,
            day=change.day,
            family_id=family_id,
            actor=request.user if staff else None,
            calendar=calendar,
            settings=request.app.state.settings,
        )
        message, kind, status = _success_message(outcome), "success", 200
    except services.NotFound as exc:
        raise NotFoundException(exc.message) from exc
    except services.AlreadyDone as exc:
        # Nothing changed and nothing needed to: the fresh week shows the cell as asked.
        message, kind, status = f"{exc.message} Rien n’a changé.", "info", 200
    except services.BookingError as exc:
        message, kind, status = exc.message, "error", 409
    if not wants_fragment(request):
        # A refusal names its cell, which repeats the message where the button was.
        refus = f"&refus={focus}" if kind == "error" else ""
        response = Redirect(
            path=f"{base_url}?semaine={cal.week_code(monday)}&enfant={change.child_id}"
            f"{refus}#{focus}",
            status_code=303,
        )
        flash.add(request, response, message, kind)
        return response
    context = await week_context(
        family_id,
        monday,
        staff=staff,
        post_url=post_url,
        base_url=base_url,
        focus=focus,
        data=calendar,
        refused_cell=focus if kind == "error" else "",
        child_id=change.child_id,
    )
    context["flash_messages"] = [{"kind": kind, "text": message}]
    context["flash_oob"] = True
    context |= await _page_extra(staff, family_id, context["title"])
    return page_or_fragment(
        request, page=_page(staff), fragment=WEEK_FRAGMENT, context=context, status_code=status
    )


def _page(staff: bool) -> str:
    return STAFF_WEEK_PAGE if staff else WEEK_PAGE


async def _page_extra(staff: bool, family_id: int, title: str) -> dict[str, Any]:
    if not staff:
        return {}
    family = await _family_or_404(family_id)
    return {
        "family": family,
        "page_title": f"Réservations de la famille {family['name']} – {title}",
    }


async def _family_or_404(family_id: int) -> dict:
    family = await queries.family_header(family_id)
    if family is None:
        raise NotFoundException("Famille introuvable")
    return family


def _cell_or_empty(refus: str | None) -> str:
    """The refused cell a no-JavaScript redirect names (`refus=cell-…`), checked as an id."""
    return refus if refus and len(refus) < 80 and views.CELL_ID.fullmatch(refus) else ""


def _navigation(request: Request, context: dict[str, Any]) -> dict[str, Any]:
    """An htmx week navigation: focus on the new week's heading, its title announced once."""
    if wants_fragment(request):
        # The child switch's links are named switch-<child id> (htmx sends the id it came from).
        trigger = request.headers.get("HX-Trigger") or ""
        switched = trigger.startswith("switch-") and context["child_query"]
        default = f"child-{context['shown_child']}-title" if switched else "week-grid-title"
        context["focus"] = context["focus"] or default
        context["flash_oob"] = True
        shown = next((c for c in context["children"] if c.id == context["shown_child"]), None)
        who = f", {shown.first_name}" if shown is not None and context["child_query"] else ""
        context["announce"] = f"{context['title']}{who}."
    return context


@get("/reservations", name="booking_week")
async def booking_week(
    request: Request,
    semaine: FromQuery[str | None] = None,
    enfant: FromQuery[str | None] = None,
    refus: FromQuery[str | None] = None,
) -> Template:
    monday = _week_or_404(semaine)
    family_id = request.user.family_id
    post_url, base_url = _week_urls(request, family_id, staff=False)
    refused, child_id = _cell_or_empty(refus), parse_id(enfant)
    read = await queries.read_calendar(family_id, monday, monday + dt.timedelta(days=4))

    async def render() -> dict[str, Any]:
        context = await week_context(
            family_id,
            monday,
            staff=False,
            post_url=post_url,
            base_url=base_url,
            refused_cell=refused,
            child_id=child_id,
            data=queries.build_calendar(read),
        )
        return _navigation(request, context)

    key = _grid_memo_key(request, read.fingerprint, monday, refused, child_id)
    if key is None:
        context = await render()
        return page_or_fragment(request, page=WEEK_PAGE, fragment=WEEK_FRAGMENT, context=context)
    # The same rows, set-up, minute and session as a week already rendered: its HTML.
    memo = memo_for(request, "week_grid")
    grid = memo.get(key)
    if grid is None:
        context = await render()
        context |= {"flash_messages": [], "flash_oob": context.get("flash_oob", False)}
        grid = memo_render(request, WEEK_FRAGMENT, context)
        memo.put(key, grid)
    return page_or_fragment(
        request,
        page=WEEK_PAGE,
        fragment=WEEK_MEMO_FRAGMENT,
        context={"grid_html": grid, "page_title": f"Réservations – {views.week_title(monday)}"},
    )


def _grid_memo_key(
    request: Request,
    fingerprint: tuple,
    monday: dt.date,
    refused: str,
    child_id: int | None,
) -> tuple | None:
    """Everything the week grid's rendering reads, or None when it may not be memoised (a
    message to show once, a set-up this request may not trust). The cells' states change with
    time only at whole minutes (deadlines and cut-offs are hours and minutes) and at midnight."""
    version = SETUP.version()
    if version is None or flash.pending(request):
        return None
    trigger = request.headers.get("HX-Trigger") or ""
    return (
        fingerprint,
        version,
        clock.now().replace(second=0, microsecond=0),
        monday,
        refused,
        child_id,
        wants_fragment(request),
        trigger.startswith("switch-"),
        memo_csrf_token(request),
    )


@post("/reservations", name="booking_change", status_code=200, middleware=[BOOKING_RATE.middleware])
async def booking_change(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    return await _change(request, data, family_id=request.user.family_id, staff=False)


def _plan_message(made: int, failed: list, what: str) -> tuple[str, str]:
    """(message, kind) after a copy of last week or a booking for all the children."""
    refused = "; ".join(
        f"{views.jour(i.day)}, {i.activity_label} pour {i.child_name} : {i.reason}" for i in failed
    )
    added = counted(made, "réservation ajoutée", "réservations ajoutées")
    if made and not failed:
        return f"{what} : {added}.", "success"
    if made:
        return f"{what} en partie : {added} ; pas pour {refused}.", "warning"
    if failed:
        return f"{what} : aucune réservation ajoutée ; {refused}.", "error"
    return f"{what} : rien à ajouter, tout est déjà réservé.", "success"


def _all_children_message(label: str, day: dt.date, plan: list, failed: list) -> tuple[str, str]:
    failed_ids = {(i.child_id, i.day) for i in failed}
    made = [i.child_name for i in plan if i.ok and (i.child_id, i.day) not in failed_ids]
    refused = " ; ".join(f"{i.child_name} : {i.reason}" for i in failed)
    when = views.jour(day)
    if made and not failed:
        return (
            f"Réservation enregistrée : {label} pour {views.names_list(made)}, {when}.",
            "success",
        )
    if made:
        return (
            f"Réservation enregistrée : {label} pour {views.names_list(made)}, {when}. "
            f"Pas pour {refused}.",
            "warning",
        )
    if failed:
        return f"Aucune réservation : {label}, {when}. {refused}.", "error"
    return f"{label}, {when} : tous les enfants sont déjà réservés.", "success"


async def _after_plan(
    request: Request,
    family_id: int,
    monday: dt.date,
    message: str,
    kind: str,
    focus: str = "week-grid-title",
    child_id: int | None = None,
) -> Any:
    """303 back to the week (no JavaScript) or the week re-read, with the message and focus."""
    post_url, base_url = _week_urls(request, family_id, staff=False)
    if not wants_fragment(request):
        child = f"&enfant={child_id}" if child_id else ""
        response = Redirect(
            path=f"{base_url}?semaine={cal.week_code(monday)}{child}", status_code=303
        )
        flash.add(request, response, message, kind)
        return response
    context = await week_context(
        family_id,
        monday,
        staff=False,
        post_url=post_url,
        base_url=base_url,
        focus=focus,
        child_id=child_id,
    )
    context["flash_messages"] = [{"kind": kind, "text": message}]
    context["flash_oob"] = True
    # As for a refused tap: 409 when nothing could be booked (htmx still swaps it in).
    return page_or_fragment(
        request,
        page=WEEK_PAGE,
        fragment=WEEK_FRAGMENT,
        context=context,
        status_code=409 if kind == "error" else 200,
    )


@post(
    "/reservations/comme-la-semaine-derniere",
    name="booking_copy_week",
    status_code=200,
    middleware=[BOOKING_RATE.middleware],
)
async def booking_copy_week(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    """« Comme la semaine dernière »: a preview of what copying last week adds (etape=apercu),
    then the bookings (etape=confirmer), through the semaine type's services."""
    family_id = request.user.family_id
    monday = _week_or_404(text(data, "semaine") or None)
    SETUP.trust()  # the set-up is read before any write, as for a tap
    last = monday - dt.timedelta(days=7)
    friday = monday + dt.timedelta(days=4)
    calendar = await queries.load_calendar(family_id, last, friday)
    plan = await services.plan_copy_week(family_id, monday, data=calendar)
    if text(data, "etape") != "confirmer":
        post_url, base_url = _week_urls(request, family_id, staff=False)
        # Last week's rows in `calendar` do not show: the week is built from its own days.
        context = await week_context(
            family_id,
            monday,
            staff=False,
            post_url=post_url,
            base_url=base_url,
            focus="copy-plan-title",
            data=calendar,
            child_id=parse_id(text(data, "enfant")),
        )
        context["copy_plan"] = plan
        return page_or_fragment(request, page=WEEK_PAGE, fragment=WEEK_FRAGMENT, context=context)
    made, refused = await services.apply_week_pattern(family_id, plan, setup=calendar.setup())
    failed = sorted([i for i in plan if not i.ok] + refused, key=lambda i: (i.day, i.child_name))
    message, kind = _plan_message(made, failed, "Semaine dernière recopiée")
    return await _after_plan(
        request, family_id, monday, message, kind, child_id=parse_id(text(data, "enfant"))
    )


@post(
    "/reservations/pour-tous-mes-enfants",
    name="booking_all_children",
    status_code=200,
    middleware=[BOOKING_RATE.middleware],
)
async def booking_all_children(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    """« Pour tous mes enfants »: one activity on one day booked for every child it is
    offered to (`tous=activity:day`), at once; the children it cannot be booked for are said."""
    family_id = request.user.family_id
    choice = forms.parse_all_children(data)
    if choice is None:
        monday = cal.parse_week(text(data, "semaine"), clock.today()) or cal.parse_week(
            None, clock.today()
        )
        post_url, base_url = _week_urls(request, family_id, staff=False)
        context = await week_context(
            family_id,
            monday,
            staff=False,
            post_url=post_url,
            base_url=base_url,
            focus="week-grid-title",
        )
        context["flash_messages"] = [
            {"kind": "error", "text": "Demande incomplète : choisissez une activité et un jour."}
        ]
        context["flash_oob"] = wants_fragment(request)
        return page_or_fragment(
            request, page=WEEK_PAGE, fragment=WEEK_FRAGMENT, context=context, status_code=422
        )
    activity_id, day = choice
    monday = day - dt.timedelta(days=day.weekday())
    SETUP.trust()
    calendar = await queries.load_calendar(family_id, day, day)
    try:
        plan = await services.plan_all_children(family_id, activity_id, day, data=calendar)
    except services.NotFound as exc:
        raise NotFoundException(exc.message) from exc
    made, refused = await services.apply_week_pattern(family_id, plan, setup=calendar.setup())
    # Named in the family's order (the week's), not alphabetically.
    rank = {c["id"]: n for n, c in enumerate(calendar.children)}
    plan.sort(key=lambda i: rank.get(i.child_id, 0))
    failed = sorted([i for i in plan if not i.ok] + refused, key=lambda i: rank.get(i.child_id, 0))
    activity = calendar.setup().activity(activity_id)
    message, kind = _all_children_message(
        activity.short_label if activity else "", day, plan, failed
    )
    first = next((i for i in plan if i.ok), None) or (plan[0] if plan else None)
    focus = views.cell_id(first.child_id, activity_id, day) if first else "week-grid-title"
    return await _after_plan(
        request,
        family_id,
        monday,
        message,
        kind,
        focus=focus,
        child_id=first.child_id if first else None,
    )


@get("/familles/{family_id:int}/reservations", name="staff_family_week")
async def staff_family_week(
    request: Request,
    family_id: FromPath[int],
    semaine: FromQuery[str | None] = None,
    enfant: FromQuery[str | None] = None,
    refus: FromQuery[str | None] = None,
) -> Template:
    family = await _family_or_404(family_id)
    monday = _week_or_404(semaine)
    post_url, base_url = _week_urls(request, family_id, staff=True)
    context = await week_context(
        family_id,
        monday,
        staff=True,
        post_url=post_url,
        base_url=base_url,
        refused_cell=_cell_or_empty(refus),
        child_id=parse_id(enfant),
    )
    context["family"] = family
    context["page_title"] = f"Réservations de la famille {family['name']} – {context['title']}"
    return page_or_fragment(
        request,
        page=STAFF_WEEK_PAGE,
        fragment=WEEK_FRAGMENT,
        context=_navigation(request, context),
    )


@post("/familles/{family_id:int}/reservations", name="staff_family_week_change", status_code=200)
async def staff_family_week_change(
    request: Request, family_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    await _family_or_404(family_id)
    return await _change(request, data, family_id=family_id, staff=True)


# ---------------------------------------------------------------------------------------------
# Semaine type

PATTERN_PAGE = "pages/booking/pattern.html"
PATTERN_FRAGMENT = "partials/booking/pattern_form.html"
WEEKDAY_NAMES = {1: "lundi", 2: "mardi", 3: "mercredi", 4: "jeudi", 5: "vendredi"}


def _pattern_context(
    form: Form, choices: queries.PatternChoices, plan=None, result=None
) -> dict[str, Any]:
    activities = choices.activities
    return {
        "form": form,
        "children": choices.children,
        "activities": activities,
        "plan": plan,
        "result": result,
        "weekday_names": WEEKDAY_NAMES,
        "first_activity_id": activities[0].id if activities else 0,
    }


@get("/reservations/semaine-type", name="booking_pattern")
async def booking_pattern(request: Request) -> Template:
    choices = await queries.pattern_choices(request.user.family_id)
    context = _pattern_context(forms.PatternForm.default(clock.today()), choices)
    return page_or_fragment(request, page=PATTERN_PAGE, fragment=PATTERN_FRAGMENT, context=context)


@post(
    "/reservations/semaine-type",
    name="booking_pattern_apply",
    status_code=200,
    middleware=[BOOKING_RATE.middleware],
)
async def booking_pattern_apply(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    family_id = request.user.family_id
    SETUP.trust()  # the set-up is read before any write, as for a tap
    # One read of the period serves the form's choices, the preview and the booking rules.
    choices = await queries.pattern_choices(family_id, forms.pattern_period(data))
    try:
        form = forms.PatternForm.bind(
            data, children=choices.children, activities=choices.activities, today=clock.today()
        )
    except services.NotFound as exc:
        raise NotFoundException(exc.message) from exc
    if not form.valid:
        return page_or_fragment(
            request,
            page=PATTERN_PAGE,
            fragment=PATTERN_FRAGMENT,
            context=_pattern_context(form, choices),
            status_code=422,
        )
    calendar = choices.calendar
    assert calendar is not None  # valid dates make a period, read above
    start, end = form.cleaned["du"], form.cleaned["au"]
    plan = await services.plan_week_pattern(
        family_id, form.cleaned["enfants"], form.cleaned["jours"], start, end, data=calendar
    )
    if text(data, "etape") != "confirmer":
        return page_or_fragment(
            request,
            page=PATTERN_PAGE,
            fragment=PATTERN_FRAGMENT,
            context=_pattern_context(form, choices, plan=plan),
        )
    made, refused = await services.apply_week_pattern(family_id, plan, setup=calendar.setup())
    week = cal.week_code(start - dt.timedelta(days=start.weekday()))
    week_url = f"{request.app.route_reverse('booking_week')}?semaine={week}"
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
        "message": views.pattern_result_message(made, len(failed)),
    }
    return page_or_fragment(
        request,
        page=PATTERN_PAGE,
        fragment=PATTERN_FRAGMENT,
        context=_pattern_context(form, choices, result=result),
        status_code=200 if made else 409,
    )


# ---------------------------------------------------------------------------------------------
# Inscriptions, monthly recap, printable view, ICS feed

INSCRIPTIONS_PAGE = "pages/booking/inscriptions.html"
ICS_FRAGMENT = "partials/booking/ics_panel.html"


async def _inscriptions_context(family_id: int, month: dt.date) -> dict[str, Any]:
    page = await queries.inscriptions_page(family_id, month)
    return page | {
        "month": month,
        "month_code": month.strftime("%Y-%m"),
        "month_label": french_date(month, "MMMM y"),
        "prev_month": (month - dt.timedelta(days=1)).strftime("%Y-%m"),
        "next_month": (cal.month_end(month) + dt.timedelta(days=1)).strftime("%Y-%m"),
        "ics_url": None,
        "form": Form(),
        "form_child": None,
    }


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
    form = forms.InscriptionRequestForm.bind(data)
    try:
        requested = await services.request_inscription(family_id, form.child_id, form.activity_id)
    except services.NotFound as exc:
        raise NotFoundException(exc.message) from exc
    except Rejected as exc:
        form.reject(exc)
        context = await _inscriptions_context(family_id, clock.today().replace(day=1))
        context |= {"form": form, "form_child": form.child_id}
        return page_or_fragment(request, page=INSCRIPTIONS_PAGE, context=context, status_code=422)
    return redirect(
        request,
        request.app.route_reverse("family_inscriptions"),
        f"Demande d’inscription {de(requested.child_name)} à « {requested.activity_label} » "
        "envoyée : le service vous répondra ici.",
    )


@post(
    "/inscriptions/{inscription_id:int}/renoncer",
    name="family_inscription_withdraw",
    status_code=200,
    middleware=[BOOKING_RATE.middleware],
)
async def family_inscription_withdraw(request: Request, inscription_id: FromPath[int]) -> Any:
    """The family gives up an inscription; a validated one's place goes to the next waiting."""
    try:
        result = await inscriptions.withdraw(
            request.user, inscription_id, settings=request.app.state.settings
        )
    except inscriptions.NotFound as exc:
        raise NotFoundException(exc.message) from exc
    ended = result.decided[0]
    return redirect(
        request,
        request.app.route_reverse("family_inscriptions"),
        f"Vous avez renoncé à l’inscription {de(ended.child_name)} à « {ended.activity_label} ».",
    )


@get("/inscriptions/imprimer", name="family_inscriptions_print")
async def family_inscriptions_print(
    request: Request, mois: FromQuery[str | None] = None
) -> Template:
    context = await _inscriptions_context(request.user.family_id, _month_or_404(mois))
    return page_or_fragment(request, page="pages/booking/inscriptions_print.html", context=context)


@post(
    "/inscriptions/calendrier",
    name="family_ics",
    status_code=200,
    middleware=[BOOKING_RATE.middleware],
)
async def family_ics(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    """Creates (or replaces) the private feed address, or revokes it. The token is shown once."""
    family_id = request.user.family_id
    action = text(data, "action")
    if action == "revoquer":
        await services.revoke_ics_token(family_id)
        return redirect(
            request,
            request.app.route_reverse("family_inscriptions"),
            "Adresse du calendrier révoquée : les abonnements existants ne reçoivent plus rien.",
        )
    if action != "creer":
        raise NotFoundException("Action inconnue")
    token = await services.new_ics_token(family_id)
    context = await _inscriptions_context(family_id, clock.today().replace(day=1))
    base_url = request.app.state.settings.base_url
    context["ics_url"] = urls.absolute(base_url, "ics_feed", token=f"{token}.ics")
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
    family = await queries.family_by_ics_token(services.ics_token_hash(token.removesuffix(".ics")))
    if family is None:
        raise NotFoundException()
    rows = await queries.ics_bookings(family["id"], clock.today())
    return Response(
        content=views.ics_calendar(rows, family["name"]),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="reservations.ics"'},
    )


# ---------------------------------------------------------------------------------------------


def family_router(settings) -> Router:
    return Router(
        path="/",
        route_handlers=[
            booking_week,
            booking_change,
            booking_copy_week,
            booking_all_children,
            booking_pattern,
            booking_pattern_apply,
            family_inscriptions,
            family_inscription_request,
            family_inscription_withdraw,
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
