"""The staff home page (/agents/); features add their own routes to the staff router."""

from __future__ import annotations

from litestar import Request, Router, get
from litestar.response import Template

from ecp.auth.guards import requires_staff
from ecp.staff import queries
from ecp.web.htmx import page_or_fragment


@get("/", name="staff_home")
async def staff_home(request: Request) -> Template:
    figures = await queries.dashboard_figures()
    return page_or_fragment(request, page="pages/staff/home.html", context={"figures": figures})


def staff_handlers(settings) -> list:
    return [staff_home]


def router(extra_handlers: list | None = None) -> Router:
    return Router(path="/agents", guards=[requires_staff], route_handlers=list(extra_handlers or []))
