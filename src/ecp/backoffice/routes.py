"""The staff side (/agents/): dashboard, and the back office around families (familles,
demandes, journal, paramètres). Every handler sits under the staff router's requires_staff
guard; those that change accounts or settings add requires_role("administrateur")."""

from __future__ import annotations

from litestar import Request, Router, get
from litestar.exceptions import NoRouteMatchFoundException
from litestar.response import Template

from ecp.auth.scope import school_scope
from ecp.backoffice import (
    activity_routes,
    charts,
    counter_routes,
    dashboard_queries,
    family_record_routes,
    family_routes,
    inscription_routes,
    journal_routes,
    messages_routes,
    request_routes,
    settings_routes,
    sheet_routes,
)
from ecp.web.htmx import page_or_fragment


def _route_exists(request: Request, name: str) -> bool:
    """Whether another feature's page exists (the unpaid list may not yet)."""
    try:
        request.app.route_reverse(name)
    except NoRouteMatchFoundException:
        return False
    return True


@get("/", name="staff_home")
async def staff_home(request: Request) -> Template:
    scope = await school_scope(request.user)
    data = await dashboard_queries.dashboard(school_ids=scope.ids)
    return page_or_fragment(
        request,
        page="pages/backoffice/home.html",
        fragment="partials/backoffice/dashboard.html",
        context={
            "data": data,
            "figures": data.figures,
            "charts": charts.dashboard_charts(data),
            "scope_schools": [s["name"] for s in data.schools] if scope.limited else None,
            "unpaid_list": "staff_overdue" if _route_exists(request, "staff_overdue") else None,
        },
    )


def staff_router(settings) -> Router:
    return Router(
        path="/",
        route_handlers=[
            staff_home,
            *family_routes.handlers(),
            *family_record_routes.handlers(),
            *request_routes.handlers(),
            *inscription_routes.handlers(),
            *counter_routes.handlers(),
            *journal_routes.handlers(),
            *settings_routes.handlers(),
            *activity_routes.handlers(),
            *sheet_routes.handlers(),
            *messages_routes.handlers(),
        ],
    )
