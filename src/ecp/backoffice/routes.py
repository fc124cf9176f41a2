"""The staff side (/agents/): dashboard, and the back office around families (familles,
demandes, journal, paramètres). Every handler sits under the staff router's requires_staff
guard; those that change accounts or settings add requires_role("administrateur")."""

from __future__ import annotations

from litestar import Request, Router, get
from litestar.response import Template

from ecp.backoffice import (
    activity_routes,
    family_record_routes,
    family_routes,
    journal_routes,
    queries,
    request_routes,
    settings_routes,
)
from ecp.web.htmx import page_or_fragment


@get("/", name="staff_home")
async def staff_home(request: Request) -> Template:
    figures = await queries.dashboard_figures()
    return page_or_fragment(
        request, page="pages/backoffice/home.html", context={"figures": figures}
    )


def staff_router(settings) -> Router:
    return Router(
        path="/",
        route_handlers=[
            staff_home,
            *family_routes.handlers(),
            *family_record_routes.handlers(),
            *request_routes.handlers(),
            *journal_routes.handlers(),
            *settings_routes.handlers(),
            *activity_routes.handlers(),
        ],
    )
