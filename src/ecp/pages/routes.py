"""Public pages (home with the login form, legal pages, health check, the commune's theme) and
the family's Accueil (/famille/), which gathers bookings, invoices and requests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Response, Template

from ecp import clock
from ecp.booking import services as booking_services
from ecp.commune.queries import commune_settings as _commune_settings
from ecp.errors import Rejected
from ecp.families import queries as family_queries
from ecp.pages import queries
from ecp.pages.forms import IllnessForm
from ecp.web.branding import theme_css
from ecp.web.forms import Form
from ecp.web.htmx import page_or_fragment, redirect, wants_fragment
from ecp.web.stores import redis_health
from ecp.web.templating import heure


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
    "conformes": 60,
    "non_conformes": 5,
    "non_applicables": 41,
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
    cards = [queries.illness_card(c, home["today_by_child"].get(c["id"])) for c in children]
    return page_or_fragment(
        request,
        page="pages/family/home.html",
        context={
            "family": family,
            "children": children,
            "illness_cards": [c for c in cards if c["booked"] or c["ill"]],
            "illness_form": IllnessForm.initial(jour=home["today"].isoformat()),
            **home,
        },
    )


# « Mon enfant est malade aujourd'hui »: one child, the whole day. The Accueil's button opens
# the confirmation (the child, the activities, the cut-off), which declares; the result offers
# to take the declaration back until the cut-off. htmx swaps the child's card in place.
ILLNESS_PAGE = "pages/family/illness.html"
ILLNESS_CARD = "partials/family/illness_child.html"


async def _illness_or_404(request: Request, child_id: int) -> dict:
    data = await queries.illness_child(request.user.family_id, child_id)
    if data is None:
        raise NotFoundException()
    return data


def _illness_page(request: Request, data: dict, form: Form, **extra: Any) -> Template:
    return page_or_fragment(
        request,
        page=ILLNESS_PAGE,
        fragment=ILLNESS_CARD,
        context={**data, "form": form, **extra},
        status_code=422 if form.errors else 200,
    )


@get("/malade/{child_id:int}", name="family_illness_confirm")
async def family_illness_confirm(request: Request, child_id: FromPath[int]) -> Template:
    data = await _illness_or_404(request, child_id)
    form = IllnessForm.initial(jour=data["today"].isoformat())
    return _illness_page(request, data, form, confirm=True)


def _names(activities: list[str]) -> str:
    if len(activities) < 2:
        return "".join(activities)
    return ", ".join(activities[:-1]) + " et " + activities[-1]


async def _illness_action(request: Request, child_id: int, data: dict, undo: bool) -> Any:
    before = await _illness_or_404(request, child_id)
    form = IllnessForm.bind(data, today=clock.today())
    if form.valid:
        service = (
            booking_services.undo_day_illness if undo else booking_services.declare_day_illness
        )
        try:
            done = await service(child_id, request.user.family_id, form.cleaned["jour"])
        except booking_services.NotFound:
            raise NotFoundException() from None
        except Rejected as error:
            form.reject(error, "jour")
        else:
            what = _names(done.activities)
            if undo:
                message = (
                    f"Déclaration annulée : les réservations de {done.child_name} "
                    f"aujourd’hui sont rétablies ({what})."
                )
            else:
                message = (
                    f"Absence pour maladie signalée pour {done.child_name} aujourd’hui "
                    f"({what}) : la journée ne sera pas facturée. Vous pouvez annuler la "
                    f"déclaration jusqu’à {heure(done.cutoff)}."
                )
            if not wants_fragment(request):
                path = request.app.route_reverse("family_home") + f"#malade-{child_id}"
                return redirect(request, path, message)
            after = await _illness_or_404(request, child_id)
            return _illness_page(
                request,
                after,
                form,
                result=message,
                flash_messages=[{"kind": "success", "text": message}],
                flash_oob=True,
            )
    return _illness_page(request, before, form, confirm=not undo)


@post("/malade/{child_id:int}", name="family_illness_declare", status_code=200)
async def family_illness_declare(
    request: Request, child_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    return await _illness_action(request, child_id, data, undo=False)


@post("/malade/{child_id:int}/annuler", name="family_illness_undo", status_code=200)
async def family_illness_undo(
    request: Request, child_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    return await _illness_action(request, child_id, data, undo=True)


def public_router(settings) -> Router:
    return Router(path="/", route_handlers=[home, accessibility, legal, privacy, healthz, theme])


def family_router(settings) -> Router:
    return Router(
        path="/",
        route_handlers=[
            family_home,
            family_illness_confirm,
            family_illness_declare,
            family_illness_undo,
        ],
    )
