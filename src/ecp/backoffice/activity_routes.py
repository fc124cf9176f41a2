"""Staff > Paramètres > Activités (administrators): create an activity, edit one, and set its
places per school.

Booking reads the days, hours, eligible levels, exclusive group, deadline rule and places;
billing reads `billable` and the tariffs set on the tariffs page (ecp.invoices). The code, the
group, the deadline rule and `billable` are chosen at creation and then fixed (see
ecp.backoffice.settings_services), so the edition form does not carry them.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from ecp.auth.guards import requires_role
from ecp.backoffice import settings_queries as queries
from ecp.backoffice import settings_services as services
from ecp.backoffice.settings_forms import (
    LEVEL_CHOICES,
    WEEKDAYS,
    ActivityForm,
    NewActivityForm,
)
from ecp.errors import Rejected
from ecp.web.forms import Form
from ecp.web.htmx import page_or_fragment, redirect

ADMIN = [requires_role("administrateur")]


def _activity_page(
    request: Request,
    page: dict,
    form: Form,
    status: int = 200,
    over_capacity: list | None = None,
) -> Template:
    return page_or_fragment(
        request,
        page="pages/backoffice/settings_activity.html",
        fragment="partials/backoffice/activity_form.html",
        context={
            "form": form,
            "activity": page["activity"],
            "schools": page["schools"],
            "weekdays": WEEKDAYS,
            "levels": LEVEL_CHOICES,
            "groups": page["groups"],
            "rules": services.DEADLINE_RULES,
            "rule_labels": services.DEADLINE_LABELS,
            "group_label": page["group_label"],
            # The days whose bookings exceed the places typed (the service's OverCapacity).
            "over_capacity": over_capacity,
        },
        status_code=status,
    )


async def _page_or_404(activity_id: int | None = None) -> dict:
    page = await queries.activity_page(activity_id)
    if page is None:
        raise NotFoundException()
    return page


def _bind(form_class: type[Form], data: dict, page: dict) -> Form:
    return form_class.bind(
        data, others=page["others"], groups=page["groups"], schools=page["schools"]
    )


def _has_route(request: Request, name: str) -> bool:
    """Tariffs belong to the invoices feature: sent there only when it is installed."""
    return any(
        handler.name == name
        for route in request.app.routes
        for handler in getattr(route, "route_handlers", [])
    )


def _overview(request: Request) -> str:
    return request.app.route_reverse("staff_settings") + "#activities-title"


# ---------------------------------------------------------------- creation


@get("/parametres/activites/nouvelle", name="staff_activity_new", guards=ADMIN)
async def staff_activity_new(request: Request) -> Template:
    page = await _page_or_404()
    return _activity_page(request, page, NewActivityForm.defaults(page["schools"]))


@post("/parametres/activites/nouvelle", name="staff_activity_create", guards=ADMIN, status_code=200)
async def staff_activity_create(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    page = await _page_or_404()
    form = _bind(NewActivityForm, data, page)
    if form.valid:
        values = form.activity()
        try:
            await services.create_activity(request.user, **values)
        except Rejected as error:
            form.reject(error)
        else:
            label = values["label"]
            if values["billable"] and _has_route(request, "staff_tariffs"):
                return redirect(
                    request,
                    request.app.route_reverse("staff_tariffs"),
                    f"L’activité « {label} » est créée. Fixez maintenant ses tarifs : "
                    "sans tarif en vigueur, ses jours ne sont pas facturés.",
                )
            return redirect(request, _overview(request), f"L’activité « {label} » est créée.")
    return _activity_page(request, page, form, status=422)


# ---------------------------------------------------------------- edition


@get("/parametres/activites/{activity_id:int}", name="staff_activity_edit", guards=ADMIN)
async def staff_activity_edit(request: Request, activity_id: FromPath[int]) -> Template:
    page = await _page_or_404(activity_id)
    form = ActivityForm.from_activity(page["activity"], page["capacities"], page["schools"])
    return _activity_page(request, page, form)


@post(
    "/parametres/activites/{activity_id:int}",
    name="staff_activity_save",
    guards=ADMIN,
    status_code=200,
)
async def staff_activity_save(
    request: Request, activity_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    page = await _page_or_404(activity_id)
    form = _bind(ActivityForm, data, page)
    if form.valid:
        values = form.activity()
        try:
            await services.update_activity(
                request.user, activity_id, **values, settings=request.app.state.settings
            )
        except services.Missing:
            raise NotFoundException() from None
        except services.OverCapacity as error:
            form.reject(error)
            return _activity_page(request, page, form, status=422, over_capacity=error.days)
        except Rejected as error:
            form.reject(error)
        else:
            return redirect(
                request,
                _overview(request),
                f"L’activité « {values['label']} » est enregistrée.",
            )
    return _activity_page(request, page, form, status=422)


def handlers() -> list:
    return [staff_activity_new, staff_activity_create, staff_activity_edit, staff_activity_save]
