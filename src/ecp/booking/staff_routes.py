"""Staff pages of the booking feature: inscriptions to decide, effectifs and pointage for a day,
the kitchen's headcount and the CSV export.

Handlers only: the reads are ecp.booking.queries', the writes and rules (each audit-logged)
ecp.booking.services', the forms ecp.booking.forms'."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template

from ecp import clock
from ecp.auth.guards import requires_role
from ecp.auth.scope import school_scope
from ecp.booking import forms, queries, services, views
from ecp.errors import Rejected
from ecp.web.forms import Form, text
from ecp.web.french import de
from ecp.web.htmx import page_or_fragment, redirect, wants_fragment
from ecp.web.params import parse_id, parse_iso_day

INSCRIPTIONS_PAGE = "pages/booking/staff_inscriptions.html"
INSCRIPTIONS_FRAGMENT = "partials/booking/inscription_list.html"
ATTENDANCE_PAGE = "pages/booking/staff_attendance.html"
ATTENDANCE_FRAGMENT = "partials/booking/attendance_lists.html"

# ---------------------------------------------------------------------------------------------
# Inscriptions


async def _inscriptions_context(
    statut: str, form: Form | None = None, form_id: int | None = None, schools=None
) -> dict[str, Any]:
    return {
        "rows": await queries.staff_inscriptions(statut, schools=schools),
        "statut": statut,
        "statuses": queries.STATUS_LABELS,
        "form": form or Form(),
        "form_id": form_id,
    }


@get("/inscriptions", name="staff_inscriptions")
async def staff_inscriptions(request: Request, statut: FromQuery[str] = "en_attente") -> Template:
    if statut not in queries.STATUS_LABELS:
        raise NotFoundException("Statut inconnu")
    return page_or_fragment(
        request,
        page=INSCRIPTIONS_PAGE,
        fragment=INSCRIPTIONS_FRAGMENT,
        context=await _inscriptions_context(statut, schools=(await school_scope(request.user)).ids),
    )


@post("/inscriptions/{inscription_id:int}", name="staff_inscription_decide", status_code=200)
async def staff_inscription_decide(
    request: Request, inscription_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    if request.user.school_limited and not (await school_scope(request.user)).allows(
        await queries.inscription_school(inscription_id)
    ):
        raise NotFoundException("Inscription introuvable")
    form = forms.DecisionForm.bind(data)
    try:
        decided = await services.decide_inscription(
            request.user, inscription_id, form.cleaned["decision"], form.cleaned["motif"]
        )
    except services.NotFound as exc:
        raise NotFoundException(exc.message) from exc
    except Rejected as exc:
        form.reject(exc)
        return page_or_fragment(
            request,
            page=INSCRIPTIONS_PAGE,
            fragment=INSCRIPTIONS_FRAGMENT,
            context=await _inscriptions_context(
                "en_attente", form, inscription_id, (await school_scope(request.user)).ids
            ),
            status_code=422,
        )
    verb = "validée" if decided.status == "validee" else "refusée"
    return redirect(
        request,
        request.app.route_reverse("staff_inscriptions"),
        f"Inscription {de(decided.child_name)} à « {decided.activity_label} » {verb}.",
    )


# ---------------------------------------------------------------------------------------------
# Effectifs, pointage, kitchen


def _day_or_404(jour: str | None) -> dt.date:
    if not jour:
        return clock.today()
    day = parse_iso_day(jour)
    if day is None:
        raise NotFoundException("Jour invalide")
    return day


def _school_param(ecole: str | None) -> int | None:
    if not ecole:
        return None
    school_id = parse_id(ecole)
    if school_id is None:
        raise NotFoundException("École introuvable")
    return school_id


async def attendance_context(day: dt.date, school_id: int | None) -> dict[str, Any]:
    """The day's lists (queries.attendance_day) and what the page's forms need."""
    data = await queries.attendance_day(day, school_id)
    if data is None:
        raise NotFoundException("École introuvable")
    return data | {
        "pointage": services.POINTAGE,
        "can_add": day <= clock.today(),
        "add_form": Form(),
        "add_list": None,
        "focus_child": None,
    }


async def _in_scope(request: Request, school_id: int | None) -> int | None:
    """An agent limited to schools (ecp.auth.scope): another school is a 404, and with no
    school chosen the page shows the first of theirs."""
    scope = await school_scope(request.user)
    if not scope.limited:
        return school_id
    if school_id is None:
        return scope.ids[0]
    if not scope.allows(school_id):
        raise NotFoundException("École introuvable")
    return school_id


async def _scoped_context(request: Request, day: dt.date, school_id: int | None) -> dict:
    school_id = await _in_scope(request, school_id)
    context = await attendance_context(day, school_id)
    context["schools"] = (await school_scope(request.user)).keep(context["schools"])
    return context


def _attendance_url(request: Request, query: str, anchor: str) -> str:
    return f"{request.app.route_reverse('staff_attendance')}?{query}#{anchor}"


@get("/effectifs", name="staff_attendance")
async def staff_attendance(
    request: Request, jour: FromQuery[str | None] = None, ecole: FromQuery[str | None] = None
) -> Template:
    return page_or_fragment(
        request,
        page=ATTENDANCE_PAGE,
        fragment=ATTENDANCE_FRAGMENT,
        context=await _scoped_context(request, _day_or_404(jour), _school_param(ecole)),
    )


async def _posted_list(data: dict[str, Any]) -> forms.PostedList:
    """The list a pointage form names; 404 when it names none."""
    posted = forms.posted_list(data)
    if posted is None:
        raise NotFoundException("Liste introuvable")
    if not await queries.activity_exists(posted.activity_id):
        raise NotFoundException("Activité introuvable")
    return posted


@post("/effectifs", name="staff_attendance_save", status_code=200)
async def staff_attendance_save(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    posted = await _posted_list(data)
    await _in_scope(request, posted.school_id)
    try:
        count = await services.record_pointage(
            request.user,
            day=posted.day,
            activity_id=posted.activity_id,
            school_id=posted.school_id,
            marks=forms.posted_marks(data),
        )
    except services.NotFound as exc:
        raise NotFoundException(exc.message) from exc
    except services.PointageRefused as exc:  # a day to come: nothing saved, the page says why
        context = await attendance_context(posted.day, posted.school_id)
        context["flash_messages"] = [{"kind": "error", "text": exc.message}]
        return page_or_fragment(request, page=ATTENDANCE_PAGE, context=context, status_code=422)
    return redirect(
        request,
        _attendance_url(
            request,
            f"jour={posted.day.isoformat()}&ecole={posted.school_id}",
            f"liste-{posted.key}",
        ),
        f"Pointage enregistré : {count} enfant{'s' if count > 1 else ''}.",
    )


@post(
    "/effectifs/sans-reservation",
    name="staff_attendance_unbooked",
    status_code=200,
    guards=[requires_role("agent")],
)
async def staff_attendance_unbooked(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    """Adds a child who came without a booking to a list as present (billed with the
    majoration); post/redirect/get, or the lists fragment for htmx."""
    posted = await _posted_list(data)
    if not await queries.active_school_exists(posted.school_id):
        raise NotFoundException("École introuvable")
    await _in_scope(request, posted.school_id)
    # The page's school filter ("" = all schools), so the answer shows the same view.
    view_school = posted.school_id if text(data, "filtre") else None
    form = forms.UnbookedForm.bind(data, field=f"enfant-{posted.key}")
    outcome = None
    if form.valid:
        try:
            outcome = await services.record_unbooked_presence(
                request.user,
                child_id=form.cleaned["child_id"],
                activity_id=posted.activity_id,
                school_id=posted.school_id,
                day=posted.day,
            )
        except services.UnbookedRefused as exc:
            form.reject(exc, default_field=form.context["field"])
    if outcome is None:
        context = await attendance_context(posted.day, view_school)
        context.update(add_form=form, add_list=posted.key)
        return page_or_fragment(
            request,
            page=ATTENDANCE_PAGE,
            fragment=ATTENDANCE_FRAGMENT,
            context=context,
            status_code=422,
        )
    if outcome.created:
        message, kind = (
            (
                f"Présence sans réservation enregistrée pour {outcome.child_name} "
                "(journée facturée avec la majoration)."
            ),
            "success",
        )
    else:
        message, kind = f"{outcome.child_name} est déjà sur la liste : rien n’a changé.", "info"
    if wants_fragment(request):
        context = await attendance_context(posted.day, view_school)
        context.update(
            add_list=posted.key,
            focus_child=outcome.child_id,
            flash_messages=[{"kind": kind, "text": message}],
            flash_oob=True,
        )
        return page_or_fragment(
            request, page=ATTENDANCE_PAGE, fragment=ATTENDANCE_FRAGMENT, context=context
        )
    query = f"jour={posted.day.isoformat()}" + (f"&ecole={posted.school_id}" if view_school else "")
    return redirect(request, _attendance_url(request, query, f"liste-{posted.key}"), message, kind)


@get("/effectifs.csv", name="staff_attendance_csv")
async def staff_attendance_csv(
    request: Request, jour: FromQuery[str | None] = None, ecole: FromQuery[str | None] = None
) -> Response:
    day = _day_or_404(jour)
    data = await queries.attendance_day(day, await _in_scope(request, _school_param(ecole)))
    if data is None:
        raise NotFoundException("École introuvable")
    return Response(
        content=views.attendance_csv(data),
        media_type=views.CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="effectifs-{day.isoformat()}.csv"'},
    )


HANDLERS = [
    staff_inscriptions,
    staff_inscription_decide,
    staff_attendance,
    staff_attendance_save,
    staff_attendance_unbooked,
    staff_attendance_csv,
]
