"""Public pages (home with the login form, legal pages, health check, the commune's theme) and
the family's Accueil (/famille/), which gathers bookings, invoices and requests."""

from __future__ import annotations

import datetime as dt

from litestar import Request, Router, get
from litestar.response import Response, Template

from ecp.commune.queries import commune_settings as _commune_settings
from ecp.families import queries as family_queries
from ecp.pages import queries
from ecp.web.branding import theme_css
from ecp.web.forms import Form
from ecp.web.htmx import page_or_fragment
from ecp.web.stores import redis_health


@get("/", name="home")
async def home(request: Request) -> Template:
    commune = await _commune_settings()
    # Where the login sends a family by default (ecp.auth's family home, with its slash), so
    # logging in here or at /connexion lands on the same address; family_home reverses to
    # "/famille", which serves the same page.
    return page_or_fragment(
        request,
        page="pages/public/home.html",
        context={"form": Form(), "next": "/famille/", "commune": commune},
    )


# The self-evaluation of the 106 RGAA 4.1.2 criteria, criterion by criterion in docs/rgaa.md
# (tests/unit/web/test_rgaa_self_audit.py checks that these counts are that file's). It is not
# an audit: the status stays Settings.accessibility_status, « non conforme », until one exists.
SELF_AUDIT = {
    "date": dt.date(2026, 12, 1),
    "conformes": 57,
    "non_conformes": 9,
    "non_applicables": 40,
}


@get("/accessibilite", name="accessibility")
async def accessibility(request: Request) -> Template:
    commune = await _commune_settings()
    settings = request.app.state.settings
    applicable = SELF_AUDIT["conformes"] + SELF_AUDIT["non_conformes"]
    audit = {
        **SELF_AUDIT,
        "applicables": applicable,
        "taux": round(100 * SELF_AUDIT["conformes"] / applicable),
    }
    return page_or_fragment(
        request,
        page="pages/public/accessibility.html",
        context={
            "commune": commune,
            "audit": audit,
            "base_url": settings.base_url,
            "idle_minutes": settings.session_idle_minutes,
            "session_hours": settings.session_absolute_hours,
        },
    )


@get("/mentions-legales", name="legal")
async def legal(request: Request) -> Template:
    commune = await _commune_settings()
    return page_or_fragment(request, page="pages/public/legal.html", context={"commune": commune})


@get("/donnees-personnelles", name="privacy")
async def privacy(request: Request) -> Template:
    commune = await _commune_settings()
    return page_or_fragment(request, page="pages/public/privacy.html", context={"commune": commune})


@get("/healthz", name="healthz", media_type="application/json")
async def healthz(request: Request) -> Response:
    """For the load balancer: 503 when the database is unreachable or the job runner died.

    Redis unavailable is reported (« redis » : « indisponible », status « degrade ») but stays
    a 200: the rate limits fall back to each process's memory and the portal still serves
    families, so a load balancer must not pull every worker at once because of Redis."""
    body: dict = {"status": "ok"}
    try:
        await queries.ping()
        body["database"] = "ok"
    except Exception:  # noqa: BLE001 - any database failure is "unavailable" here
        body.update(status="error", database="indisponible")
    body["redis"] = await redis_health(request.app)
    if body["redis"] == "indisponible" and body["status"] == "ok":
        body["status"] = "degrade"
    runner = getattr(request.app.state, "job_runner", None)
    if runner is None:
        body["jobs"] = {"status": "desactive"}
    else:
        body["jobs"] = runner.status()
        if body["jobs"]["status"] != "ok":
            body["status"] = "error"
    return Response(
        body, status_code=503 if body["status"] == "error" else 200, media_type="application/json"
    )


@get("/theme.css", name="theme", media_type="text/css")
async def theme(request: Request) -> Response:
    return Response(
        theme_css(request.app.state.settings),
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@get("/", name="family_home")
async def family_home(request: Request) -> Template:
    family_id = request.user.family_id
    family, children = await family_queries.family_with_children(family_id)
    home = await queries.home_data(family_id)
    return page_or_fragment(
        request,
        page="pages/family/home.html",
        context={"family": family, "children": children, **home},
    )


def public_router(settings) -> Router:
    return Router(path="/", route_handlers=[home, accessibility, legal, privacy, healthz, theme])


def family_router(settings) -> Router:
    return Router(path="/", route_handlers=[family_home])
