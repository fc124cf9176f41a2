"""The family's home page (/famille/)."""

from __future__ import annotations

from litestar import Request, Router, get
from litestar.response import Template

from ecp.auth.guards import requires_family
from ecp.families import queries
from ecp.web.htmx import page_or_fragment


@get("/", name="family_home")
async def family_home(request: Request) -> Template:
    family_id = request.user.family_id
    family, children = await queries.family_with_children(family_id)
    home = await queries.home_data(family_id)
    return page_or_fragment(request, page="pages/family/home.html",
                            context={"family": family, "children": children, **home})


def router(extra_handlers: list | None = None) -> Router:
    return Router(path="/famille", guards=[requires_family],
                  route_handlers=[family_home, *(extra_handlers or [])])
