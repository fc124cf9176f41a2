"""Staff pages of the booking feature: effectifs and pointage for a day, the kitchen's headcount
and the CSV export (the inscriptions list is the back office's: ecp.backoffice.inscription_routes).

Handlers only: the reads are ecp.booking.queries', the writes and rules (each audit-logged)
ecp.booking.services', the forms ecp.booking.forms'."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Template

from ecp import clock
from ecp.auth.guards import requires_role
from ecp.auth.scope import school_scope
from ecp.booking import forms, queries, services, views
from ecp.web import flash
from ecp.web.forms import Form, text
from ecp.web.htmx import page_or_fragment, redirect, wants_fragment
from ecp.web.params import parse_id, parse_iso_day

ATTENDANCE_PAGE = "pages/booking/staff_attendance.html"
ATTENDANCE_FRAGMENT = "partials/booking/attendance_lists.html"
ATTENDANCE_LIST_FRAGMENT = "partials/booking/attendance_list.html"
# « Toutes les activités » on one page up to this many children in the school's day: beyond,
# one list at a time (a list's child is about 70 bytes compressed; the page ≤ 30 KB).
ALL_LISTS_MAX = 250
# One activity's list longer than this is shown a page at a time (issue 17): a school lunch is
# about 300 children at 10,000 families, and rendering its fieldsets was most of the page's
# CPU (≈ 4 ms) and weight (≈ 650 bytes of HTML each). 40 is a tablet's screenful or two of
# children, few enough to point before saving, and keeps one school's list of the day within
# 150 ms at p95 under 32 agents at once on the 10,000-family bench (50 gave 153 ms).
PAGE_SIZE = 40

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


def _view_param(activite: str | None) -> int | str | None:
    """The page's activity filter: "" the school's first list, « toutes » every list, or an
    activity id (anything else: 404)."""
    if not activite:
        return queries.FIRST
    if activite == "toutes":
        return None
    activity_id = parse_id(activite)
    if activity_id is None:
        raise NotFoundException("Activité introuvable")
    return activity_id


def _page_param(page: str | None) -> int:
    """The page of a long list (`page`, from 1): anything but a positive number is a 404; a
    page past the end shows the last one (the list may have shrunk since the link was made)."""
    if not page:
        return 1
    number = parse_id(page)
    if number is None or number < 1:
        raise NotFoundException("Page introuvable")
    return number


def _view_code(view: int | str | None) -> str:
    return "toutes" if view is None else ("" if view == queries.FIRST else str(view))


async def attendance_context(
    day: dt.date,
    school_id: int | None,
    view: int | str | None = queries.FIRST,
    *,
    form: Form | None = None,
    page: int = 1,
    focus_child: int | None = None,
) -> dict[str, Any]:
    """The day's lists (queries.attendance_day: one school's, one activity at a time unless
    « toutes »; every school's sizes when no school is chosen) and what the forms need. One
    activity's list is shown a page at a time (`page`, see paginate); « toutes » is not paged
    (ALL_LISTS_MAX bounds it)."""
    data = await queries.attendance_day(
        day,
        school_id,
        view,
        lists=None,
        max_all=ALL_LISTS_MAX,
        page_size=PAGE_SIZE,
        page=page,
        focus_child=focus_child,
    )
    if data is None:
        raise NotFoundException("École introuvable")
    code = _view_code(queries.FIRST if data["capped"] else view)
    for group in data["groups"]:  # « toutes »: every list whole
        group.setdefault("paged", False)
        group.setdefault("page", 1)
    return data | {
        "all_activities": data["activities"],
        "view": code,
        "focus_list": False,
        "pointage": services.POINTAGE,
        "all_lists_max": ALL_LISTS_MAX,
        "can_add": day <= clock.today(),
        "form": form or Form(),
        "add_form": Form(),
        "add_list": None,
        "focus_child": None,
        "saved": None,
        "list_messages": [],
        "list_errors": False,
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


async def _scoped_context(
    request: Request,
    day: dt.date,
    school_id: int | None,
    view: int | str | None,
    page: int = 1,
) -> dict[str, Any]:
    context = await attendance_context(day, await _in_scope(request, school_id), view, page=page)
    scope = await school_scope(request.user)
    if "schools" in context:
        context["schools"] = scope.keep(context["schools"])
    # A limited agent is offered their schools only, never « Toutes les écoles »: the page
    # reads that from the session's Principal, so every answer (422s included) agrees.
    return context


def _attendance_url(request: Request, query: str, anchor: str) -> str:
    return f"{request.app.route_reverse('staff_attendance')}?{query}#{anchor}"


@get("/effectifs", name="staff_attendance")
async def staff_attendance(
    request: Request,
    jour: FromQuery[str | None] = None,
    ecole: FromQuery[str | None] = None,
    activite: FromQuery[str | None] = None,
    enregistre: FromQuery[str | None] = None,
    page: FromQuery[str | None] = None,
) -> Template:
    """The lists of a day. After a save without JavaScript (`enregistre`: the list saved), the
    confirmation is shown in that list's status, where the page opens, not at its top. `page`:
    the page of a long list; its links (htmx) swap the lists with focus on the list's title."""
    context = await _scoped_context(
        request, _day_or_404(jour), _school_param(ecole), _view_param(activite), _page_param(page)
    )
    context["focus_list"] = page is not None and wants_fragment(request)
    saved = parse_id(enregistre) if enregistre else None
    if saved is not None and any(g["activity_id"] == saved for g in context["groups"]):
        context.update(saved=saved, list_messages=flash.consume(request)[0], flash_messages=[])
    return page_or_fragment(
        request, page=ATTENDANCE_PAGE, fragment=ATTENDANCE_FRAGMENT, context=context
    )


async def _posted_list(data: dict[str, Any]) -> forms.PostedList:
    """The list an unbooked-add form names; 404 when it names none."""
    posted = forms.posted_list(data)
    if posted is None:
        raise NotFoundException("Liste introuvable")
    if not await queries.activity_exists(posted.activity_id):
        raise NotFoundException("Activité introuvable")
    return posted


def _saved_message(counts: dict[int, int]) -> str:
    total = sum(counts.values())
    text_ = f"Pointage enregistré : {total} enfant{'s' if total > 1 else ''}"
    if len([n for n in counts.values() if n]) > 1:
        text_ += f" sur {len([n for n in counts.values() if n])} listes"
    return text_ + "."


async def _list_answer(
    request: Request,
    posted: forms.PostedPointage,
    activity_id: int,
    messages: list[dict],
    *,
    form: Form | None = None,
    status_code: int = 200,
    add: dict[str, Any] | None = None,
    page: int = 1,
) -> Template:
    """One list re-read and rendered alone (the htmx answer), its status saying `messages`;
    the page `page` of it (or the one `add`'s focus_child is on)."""
    context = await attendance_context(
        posted.day,
        posted.school_id,
        activity_id,
        form=form,
        page=page,
        focus_child=(add or {}).get("focus_child"),
    )
    group = next((g for g in context["groups"] if g["activity_id"] == activity_id), None)
    if group is None:
        raise NotFoundException("Liste introuvable")
    context.update(
        {"g": group, "saved": activity_id, "list_messages": messages, "list_errors": True}
        | (add or {})
    )
    return page_or_fragment(
        request,
        page=ATTENDANCE_PAGE,
        fragment=ATTENDANCE_LIST_FRAGMENT,
        context=context,
        status_code=status_code,
    )


@post("/effectifs", name="staff_attendance_save", status_code=200)
async def staff_attendance_save(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    """The page's pointage form: without JavaScript every list of the page is saved at once
    (any of its buttons; « tous présents » marks its list present first); with htmx a list's
    button saves that list only (`seule`) and the answer replaces that list alone, so the
    other lists keep their unsaved marks."""
    posted = forms.posted_pointage(data)
    if posted is None:
        raise NotFoundException("Liste introuvable")
    await _in_scope(request, posted.school_id)
    if not await queries.active_school_exists(posted.school_id):
        raise NotFoundException("École introuvable")
    for activity_id in posted.lists:
        if not await queries.activity_exists(activity_id):
            raise NotFoundException("Activité introuvable")
    view = _view_param(text(data, "vue"))
    page = _page_param(text(data, "page"))
    fragment = posted.only is not None and wants_fragment(request)
    if not posted.valid:
        if fragment:
            return await _list_answer(
                request, posted, posted.only, [], form=posted.form, status_code=422, page=page
            )
        context = await attendance_context(
            posted.day, posted.school_id, view, form=posted.form, page=page
        )
        return page_or_fragment(request, page=ATTENDANCE_PAGE, context=context, status_code=422)
    try:
        counts = await services.record_pointage_lists(
            request.user,
            day=posted.day,
            school_id=posted.school_id,
            lists=posted.lists,
            all_present=posted.all_present,
            all_present_children=posted.shown.get(posted.all_present),
        )
    except services.NotFound as exc:
        raise NotFoundException(exc.message) from exc
    except services.PointageRefused as exc:  # a day to come: nothing saved, the page says why
        message = [{"kind": "error", "text": exc.message}]
        if fragment:
            return await _list_answer(
                request,
                posted,
                posted.only,
                message,
                form=posted.form,
                status_code=422,
                page=page,
            )
        context = await attendance_context(
            posted.day, posted.school_id, view, form=posted.form, page=page
        )
        context["flash_messages"] = message
        return page_or_fragment(request, page=ATTENDANCE_PAGE, context=context, status_code=422)
    message = _saved_message(counts)
    if fragment:
        return await _list_answer(
            request, posted, posted.only, [{"kind": "success", "text": message}], page=page
        )
    pressed = parse_id(text(data, "liste") or text(data, "tous")) or next(iter(posted.lists), None)
    query = f"jour={posted.day.isoformat()}&ecole={posted.school_id}"
    if text(data, "vue"):
        query += f"&activite={text(data, 'vue')}"
    if page > 1:  # back to the page of the list that was saved
        query += f"&page={page}"
    if pressed is not None:
        query += f"&enregistre={pressed}"
    return redirect(
        request,
        _attendance_url(request, query, f"liste-{posted.school_id}-{pressed}-status"),
        message,
    )


@post(
    "/effectifs/sans-reservation",
    name="staff_attendance_unbooked",
    status_code=200,
    guards=[requires_role("agent")],
)
async def staff_attendance_unbooked(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    """Adds a child who came without a booking to a list as present (billed with the
    majoration); post/redirect/get, or that list alone for htmx, its unsaved marks (posted
    with the add) shown again."""
    posted = await _posted_list(data)
    await _in_scope(request, posted.school_id)
    if not await queries.active_school_exists(posted.school_id):
        raise NotFoundException("École introuvable")
    view = _view_param(text(data, "vue"))
    page = _page_param(text(data, "page"))
    form = forms.UnbookedForm.bind(data, field=f"enfant-{posted.key}")
    marks = forms.posted_pointage(data)
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
    pointage_form = marks.form if marks is not None and marks.form.values else None
    if outcome is None:
        if wants_fragment(request) and marks is not None:
            return await _list_answer(
                request,
                marks,
                posted.activity_id,
                [],
                form=pointage_form,
                status_code=422,
                add={"add_form": form, "add_list": posted.key, "saved": None},
                page=page,
            )
        context = await attendance_context(posted.day, posted.school_id, view, page=page)
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
    if wants_fragment(request) and marks is not None:
        if pointage_form is not None:  # the new child's mark is saved: present
            pointage_form.values[
                forms.mark_name("statut", posted.activity_id, outcome.child_id)
            ] = "present"
        return await _list_answer(
            request,
            marks,
            posted.activity_id,
            [{"kind": kind, "text": message}],
            form=pointage_form,
            add={"add_list": posted.key, "focus_child": outcome.child_id},
        )
    query = f"jour={posted.day.isoformat()}&ecole={posted.school_id}"
    if text(data, "vue"):
        query += f"&activite={text(data, 'vue')}"
    if page > 1:
        query += f"&page={page}"
    return redirect(request, _attendance_url(request, query, f"liste-{posted.key}"), message, kind)


@get("/effectifs.csv", name="staff_attendance_csv")
async def staff_attendance_csv(
    request: Request, jour: FromQuery[str | None] = None, ecole: FromQuery[str | None] = None
) -> Response:
    """Every list of the day (one school or all) as CSV; the export is journalled."""
    day = _day_or_404(jour)
    school_id = await _in_scope(request, _school_param(ecole))
    data = await services.export_attendance(request.user, day, school_id)
    if data is None:
        raise NotFoundException("École introuvable")
    return Response(
        content=views.attendance_csv(data),
        media_type=views.CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="effectifs-{day.isoformat()}.csv"'},
    )


HANDLERS = [
    staff_attendance,
    staff_attendance_save,
    staff_attendance_unbooked,
    staff_attendance_csv,
]
