"""At the counter: what a family does online, an agent does for it from its record. Its
children's inscriptions (asked for, and decided at once or later), its semaine type, a child's
illness for a day; the week's bookings are the staff week grid of ecp.booking.routes
(`staff_family_week`). Thin handlers over the booking services, with the agent as actor: each
change is journalled as done by that agent for that family, and e-mailed to the family. A
child or inscription that is not the family's is a 404."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template

from ecp import clock
from ecp.backoffice.counter_forms import CounterInscriptionForm, IllnessForm
from ecp.backoffice.inscription_forms import DecisionsForm
from ecp.booking import calendar as cal
from ecp.booking import forms as booking_forms
from ecp.booking import inscriptions, queries, services, views
from ecp.commune.setup_cache import SETUP
from ecp.errors import Rejected
from ecp.web.forms import Form, text
from ecp.web.htmx import page_or_fragment, redirect
from ecp.web.plural import counted
from ecp.web.templating import jour

INSCRIPTIONS_PAGE = "pages/backoffice/family_inscriptions.html"
INSCRIPTIONS_FRAGMENT = "partials/backoffice/family_inscriptions.html"
PATTERN_PAGE = "pages/backoffice/family_pattern.html"
PATTERN_FRAGMENT = "partials/backoffice/family_pattern_form.html"
ILLNESS_PAGE = "pages/backoffice/family_illness.html"
ILLNESS_FRAGMENT = "partials/backoffice/family_illness_form.html"


async def _family_or_404(family_id: int) -> dict:
    family = await queries.family_header(family_id)
    if family is None:
        raise NotFoundException("Famille introuvable")
    return family


# ---------------------------------------------------------------- inscriptions


async def _inscriptions_page(
    request: Request,
    family: dict,
    *,
    form: Form | None = None,
    form_child: int | None = None,
    decision: Form | None = None,
    status: int = 200,
) -> Template:
    page = await queries.inscriptions_page(family["id"], clock.today().replace(day=1))
    return page_or_fragment(
        request,
        page=INSCRIPTIONS_PAGE,
        fragment=INSCRIPTIONS_FRAGMENT,
        context=page
        | {
            "family": family,
            "form": form or Form(),
            "form_child": form_child,
            "decision": decision or Form(),
            "errors": bool((form and form.errors) or (decision and decision.errors)),
        },
        status_code=status,
    )


@get("/familles/{family_id:int}/inscriptions", name="staff_family_inscriptions")
async def staff_family_inscriptions(request: Request, family_id: FromPath[int]) -> Template:
    return await _inscriptions_page(request, await _family_or_404(family_id))


@post(
    "/familles/{family_id:int}/inscriptions",
    name="staff_family_inscription_request",
    status_code=200,
)
async def staff_family_inscription_request(
    request: Request, family_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    family = await _family_or_404(family_id)
    form = CounterInscriptionForm.bind(data)
    try:
        done = await services.request_inscription(
            family_id,
            form.child_id,
            form.activity_id,
            actor=request.user,
            validate=form.cleaned.get("valider", False),
            settings=request.app.state.settings,
        )
    except services.NotFound as error:
        raise NotFoundException(error.message) from error
    except Rejected as error:
        form.reject(error)
        return await _inscriptions_page(
            request, family, form=form, form_child=form.child_id, status=422
        )
    what = f"{done.child_name} à « {done.activity_label} »"
    if done.decided is None:
        message = f"Demande d’inscription enregistrée pour {what}."
    else:
        message = f"Inscription de {what} : {inscriptions.summary(done.decided)}"
    path = request.app.route_reverse("staff_family_inscriptions", family_id=family_id)
    return redirect(request, path, message)


@post(
    "/familles/{family_id:int}/inscriptions/decision",
    name="staff_family_inscription_decide",
    status_code=200,
)
async def staff_family_inscription_decide(
    request: Request, family_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    family = await _family_or_404(family_id)
    form = DecisionsForm.bind(data)
    try:
        result = await inscriptions.decide_inscriptions(
            request.user,
            form.cleaned.get("inscriptions", []),
            form.cleaned.get("decision", ""),
            form.cleaned.get("motif", ""),
            family_id=family_id,
            settings=request.app.state.settings,
        )
    except inscriptions.NotFound as error:
        raise NotFoundException(error.message) from error
    except Rejected as error:
        form.reject(error)
        return await _inscriptions_page(request, family, decision=form, status=422)
    path = request.app.route_reverse("staff_family_inscriptions", family_id=family_id)
    return redirect(request, path, inscriptions.summary(result))


# ---------------------------------------------------------------- semaine type


def _pattern_context(family: dict, form: Form, choices, plan=None, result=None) -> dict:
    return {
        "family": family,
        "form": form,
        "children": choices.children,
        "activities": choices.activities,
        "plan": plan,
        "result": result,
        "weekday_names": {1: "lundi", 2: "mardi", 3: "mercredi", 4: "jeudi", 5: "vendredi"},
        "first_activity_id": choices.activities[0].id if choices.activities else 0,
    }


@get("/familles/{family_id:int}/semaine-type", name="staff_family_pattern")
async def staff_family_pattern(request: Request, family_id: FromPath[int]) -> Template:
    family = await _family_or_404(family_id)
    choices = await queries.pattern_choices(family_id)
    form = booking_forms.PatternForm.default(clock.today())
    return page_or_fragment(
        request,
        page=PATTERN_PAGE,
        fragment=PATTERN_FRAGMENT,
        context=_pattern_context(family, form, choices),
    )


@post(
    "/familles/{family_id:int}/semaine-type",
    name="staff_family_pattern_apply",
    status_code=200,
)
async def staff_family_pattern_apply(
    request: Request, family_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    family = await _family_or_404(family_id)
    SETUP.trust()
    choices = await queries.pattern_choices(family_id, booking_forms.pattern_period(data))
    try:
        form = booking_forms.PatternForm.bind(
            data, children=choices.children, activities=choices.activities, today=clock.today()
        )
    except services.NotFound as exc:
        raise NotFoundException(exc.message) from exc
    if not form.valid:
        return page_or_fragment(
            request,
            page=PATTERN_PAGE,
            fragment=PATTERN_FRAGMENT,
            context=_pattern_context(family, form, choices),
            status_code=422,
        )
    calendar = choices.calendar
    start, end = form.cleaned["du"], form.cleaned["au"]
    plan = await services.plan_week_pattern(
        family_id,
        form.cleaned["enfants"],
        form.cleaned["jours"],
        start,
        end,
        data=calendar,
        staff=True,
    )
    if text(data, "etape") != "confirmer":
        return page_or_fragment(
            request,
            page=PATTERN_PAGE,
            fragment=PATTERN_FRAGMENT,
            context=_pattern_context(family, form, choices, plan=plan),
        )
    made, refused = await services.apply_week_pattern(
        family_id,
        plan,
        setup=calendar.setup() if calendar is not None else None,
        actor=request.user,
        settings=request.app.state.settings,
    )
    week = cal.week_code(start - dt.timedelta(days=start.weekday()))
    week_url = (
        f"{request.app.route_reverse('staff_family_week', family_id=family_id)}?semaine={week}"
    )
    failed = sorted(
        [i for i in plan if not i.ok] + refused,
        key=lambda i: (i.day, i.child_name, i.activity_label),
    )
    if made and not failed:
        return redirect(
            request,
            week_url,
            "Semaine type appliquée pour la famille : "
            f"{counted(made, 'réservation ajoutée', 'réservations ajoutées')}.",
        )
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
        context=_pattern_context(family, form, choices, result=result),
        status_code=200 if made else 409,
    )


# ---------------------------------------------------------------- illness


def _illness_page(
    request: Request, family: dict, children: list[dict], form: Form, status: int = 200
) -> Template:
    return page_or_fragment(
        request,
        page=ILLNESS_PAGE,
        fragment=ILLNESS_FRAGMENT,
        context={"family": family, "children": children, "form": form},
        status_code=status,
    )


@get("/familles/{family_id:int}/maladie", name="staff_family_illness")
async def staff_family_illness(
    request: Request, family_id: FromPath[int], enfant: FromQuery[str | None] = None
) -> Template:
    family = await _family_or_404(family_id)
    children = await queries.active_children(family_id)
    form = IllnessForm.initial(enfant=enfant or "", jour=clock.today().isoformat())
    return _illness_page(request, family, children, form)


@post("/familles/{family_id:int}/maladie", name="staff_family_illness_declare", status_code=200)
async def staff_family_illness_declare(
    request: Request, family_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    family = await _family_or_404(family_id)
    children = await queries.active_children(family_id)
    form = IllnessForm.bind(data)
    if form.valid and form.cleaned["enfant"] not in {c["id"] for c in children}:
        raise NotFoundException("Enfant introuvable")
    if form.valid:
        try:
            outcomes = await services.declare_illness_day(
                form.cleaned["enfant"],
                form.cleaned["jour"],
                family_id=family_id,
                actor=request.user,
                settings=request.app.state.settings,
            )
        except services.NotFound as error:
            raise NotFoundException(error.message) from error
        except Rejected as error:
            form.reject(error, default_field="jour")
        else:
            day = form.cleaned["jour"]
            week = cal.week_code(day - dt.timedelta(days=day.weekday()))
            path = request.app.route_reverse("staff_family_week", family_id=family_id)
            labels = ", ".join(o.activity_label for o in outcomes)
            return redirect(
                request,
                f"{path}?semaine={week}",
                f"Absence pour maladie signalée pour {outcomes[0].child_name}, {jour(day)} "
                f"({labels}) : ce jour ne sera pas facturé ; la famille est prévenue par courriel.",
            )
    return _illness_page(request, family, children, form, status=422)


def handlers() -> list:
    return [
        staff_family_inscriptions,
        staff_family_inscription_request,
        staff_family_inscription_decide,
        staff_family_pattern,
        staff_family_pattern_apply,
        staff_family_illness,
        staff_family_illness_declare,
    ]
