"""Booking pages: the family's week calendar, semaine type, inscriptions (recap, print, ICS),
and the staff's inscriptions, effectifs/pointage, kitchen headcount, CSV and booking on behalf."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from ecp import clock
from ecp.booking import calendar as cal
from ecp.booking import queries, services, views
from ecp.families.tables import Family
from ecp.web import flash
from ecp.web.forms import text
from ecp.web.htmx import page_or_fragment, redirect, wants_fragment

WEEK_PAGE = "pages/booking/week.html"
WEEK_FRAGMENT = "partials/booking/week_grid.html"
STAFF_WEEK_PAGE = "pages/booking/staff_family_week.html"


# ---------------------------------------------------------------------------------------------
# The week calendar (family, and staff on a family's behalf)


def _week_or_404(semaine: str | None) -> dt.date:
    monday = cal.parse_week(semaine, clock.today())
    if monday is None:
        raise NotFoundException("Semaine introuvable")
    return monday


async def week_context(family_id: int, monday: dt.date, *, staff: bool, post_url: str,
                       base_url: str, focus: str = "") -> dict[str, Any]:
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
    try:
        child_id = int(text(data, "enfant"))
        activity_id = int(text(data, "activite"))
        day = dt.date.fromisoformat(text(data, "jour"))
    except ValueError:
        return None
    action = text(data, "action")
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


async def _change(request: Request, data: dict[str, Any], *, family_id: int, staff: bool,
                  post_url: str, base_url: str):
    parsed = _parse_change(data)
    if parsed is None:
        monday = cal.parse_week(text(data, "semaine"), clock.today()) or cal.parse_week(
            None, clock.today())
        context = await week_context(family_id, monday, staff=staff, post_url=post_url,
                                     base_url=base_url)
        context["flash_messages"] = [{"kind": "error", "text": "Demande incomplète : "
                                      "choisissez une case du calendrier."}]
        context["flash_oob"] = wants_fragment(request)
        return page_or_fragment(request, page=_page(staff), fragment=WEEK_FRAGMENT,
                                context=context | await _page_extra(staff, family_id),
                                status_code=422)
    child_id, activity_id, day, action, week = parsed
    monday = cal.parse_week(week, clock.today()) or (day - dt.timedelta(days=day.weekday()))
    focus = views.cell_id(child_id, activity_id, day)
    try:
        outcome = await services.change(action, child_id=child_id, activity_id=activity_id,
                                        day=day, family_id=family_id,
                                        actor=request.user if staff else None)
        message, kind, status = _success_message(outcome), "success", 200
    except services.NotFound as exc:
        raise NotFoundException(exc.message) from exc
    except services.BookingError as exc:
        message, kind, status = exc.message, "error", 409
    if not wants_fragment(request):
        response = Redirect(path=f"{base_url}?semaine={cal.week_code(monday)}#{focus}",
                            status_code=303)
        flash.add(request, response, message, kind)
        return response
    context = await week_context(family_id, monday, staff=staff, post_url=post_url,
                                 base_url=base_url, focus=focus)
    context["flash_messages"] = [{"kind": kind, "text": message}]
    context["flash_oob"] = True
    context |= await _page_extra(staff, family_id)
    return page_or_fragment(request, page=_page(staff), fragment=WEEK_FRAGMENT,
                            context=context, status_code=status)


def _page(staff: bool) -> str:
    return STAFF_WEEK_PAGE if staff else WEEK_PAGE


async def _page_extra(staff: bool, family_id: int) -> dict[str, Any]:
    if not staff:
        return {}
    return {"family": await _family_or_404(family_id)}


async def _family_or_404(family_id: int) -> dict:
    family = await Family.select(Family.id, Family.code, Family.name).where(
        Family.id == family_id).first()
    if family is None:
        raise NotFoundException("Famille introuvable")
    return family


@get("/reservations", name="booking_week")
async def booking_week(request: Request, semaine: FromQuery[str | None] = None) -> Template:
    monday = _week_or_404(semaine)
    context = await week_context(request.user.family_id, monday, staff=False,
                                 post_url="/famille/reservations",
                                 base_url="/famille/reservations")
    return page_or_fragment(request, page=WEEK_PAGE, fragment=WEEK_FRAGMENT, context=context)


@post("/reservations", name="booking_change", status_code=200)
async def booking_change(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    return await _change(request, data, family_id=request.user.family_id, staff=False,
                         post_url="/famille/reservations", base_url="/famille/reservations")


@get("/familles/{family_id:int}/reservations", name="staff_family_week")
async def staff_family_week(request: Request, family_id: FromPath[int],
                            semaine: FromQuery[str | None] = None) -> Template:
    family = await _family_or_404(family_id)
    monday = _week_or_404(semaine)
    url = f"/agents/familles/{family_id}/reservations"
    context = await week_context(family_id, monday, staff=True, post_url=url, base_url=url)
    context["family"] = family
    return page_or_fragment(request, page=STAFF_WEEK_PAGE, fragment=WEEK_FRAGMENT,
                            context=context)


@post("/familles/{family_id:int}/reservations", name="staff_family_week_change", status_code=200)
async def staff_family_week_change(request: Request, family_id: FromPath[int],
                                   data: URLEncodedBody[dict[str, Any]]) -> Any:
    await _family_or_404(family_id)
    url = f"/agents/familles/{family_id}/reservations"
    return await _change(request, data, family_id=family_id, staff=True, post_url=url,
                         base_url=url)


# ---------------------------------------------------------------------------------------------


def family_handlers(settings) -> list:
    return [booking_week, booking_change]


def staff_handlers(settings) -> list:
    return [staff_family_week, staff_family_week_change]


def public_handlers(settings) -> list:
    return []


__all__ = ["family_handlers", "staff_handlers", "public_handlers", "redirect"]
