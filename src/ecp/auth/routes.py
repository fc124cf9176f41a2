"""Login and logout for families (/connexion) and staff (/agents/connexion)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import structlog
from litestar import MediaType, Request, Router, get, post
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Response, Template

from ecp.auth import forms, login, queue, services, sessions
from ecp.auth.passwords import Saturated
from ecp.web import flash
from ecp.web.forms import Form
from ecp.web.htmx import page_or_fragment, wants_fragment

log = structlog.get_logger("ecp.auth")

GENERIC_FAMILY = "Code famille ou mot de passe incorrect."
GENERIC_STAFF = "Identifiant ou mot de passe incorrect."
ENROL_OFFER = (
    "Protégez votre compte : activez la double authentification depuis « Mon compte » "
    "(un code de votre téléphone vous sera demandé à chaque connexion)."
)
LOCK_HINT = (
    "Après plusieurs essais infructueux, la connexion est suspendue quelques minutes : "
    "patientez avant de réessayer, ou utilisez « Mot de passe oublié »."
)


def _login_page(
    request: Request,
    template: str,
    form: Form,
    next_path: str,
    status: int = 200,
    lost: str = "",
    ticket: str = "",
):
    # The lock hint is shown on every failure, so it reveals nothing about the account.
    failed = form.errors.get("mot_de_passe") in (GENERIC_FAMILY, GENERIC_STAFF)
    # A browser still holding a session cookie that no longer opens anything: its session
    # ended (idle, or closed elsewhere). Said once, reassuringly, with where the login leads.
    ended = bool(request.scope.get("auth")) and request.scope.get("user") is None
    idle = request.app.state.settings.session_idle_minutes
    return page_or_fragment(
        request,
        page=template,
        status_code=status,
        context={
            "form": form,
            "next": next_path,
            "lock_hint": LOCK_HINT if failed else "",
            "lost": login.lost_route(lost),
            "lost_message": login.lost_message(lost),
            "session_ended": login.session_ended_message(idle) if ended and not failed else "",
            "ticket": ticket,
        },
    )


def _queue_url(request: Request, ticket: queue.Ticket, next_path: str) -> str:
    query = urlencode({"ticket": ticket.value, "next": next_path})
    return f"{request.app.route_reverse('login_queue')}?{query}"


def _queue_page(request: Request, ticket: queue.Ticket, next_path: str) -> Template:
    """« File d'attente »: a 200, not a 503. The login was taken in hand, not refused: a
    reverse proxy must not swap the page for its own error page, monitoring must not count
    parents waiting their turn as server errors, and no Retry-After is needed since the page
    reloads itself. It does so by the Refresh header (the HTML standard's equivalent of a
    <meta http-equiv="refresh">, which browsers follow with or without JavaScript and the CSP
    does not govern) rather than by the meta element, which axe flags as a time limit
    (WCAG 2.2.1): the page says that it reloads, how often, and offers the link to do it."""
    log.info("login_queued", kind=ticket.kind, wait_seconds=ticket.seconds_left())
    url = _queue_url(request, ticket, next_path)
    return Template(
        "pages/auth/login_queue.html",
        media_type=MediaType.HTML,
        headers={"Refresh": f"{ticket.refresh_seconds()}; url={url}"},
        context={
            "seconds": ticket.seconds_left(),
            "refresh": ticket.refresh_seconds(),
            "refresh_url": url,
        },
    )


@dataclass(frozen=True)
class LoginKind:
    """What differs between the family and the staff login; the rules are the same."""

    kind: str
    form: type[Form]
    generic: str
    template: str
    authenticate: Callable[..., Awaitable[services.LoginResult]]


FAMILY = LoginKind(
    "family",
    forms.FamilyLoginForm,
    GENERIC_FAMILY,
    "pages/auth/family_login.html",
    services.authenticate_family,
)
STAFF = LoginKind(
    "staff",
    forms.StaffLoginForm,
    GENERIC_STAFF,
    "pages/auth/staff_login.html",
    services.authenticate_staff,
)
LOGIN_FIELD = {"family": "code_famille", "staff": "identifiant"}


async def _login(request: Request, data: dict[str, Any], how: LoginKind) -> Any:
    s = request.app.state.settings
    form = how.form.bind(data)
    # Only a page of the same side: a family is not sent into the staff area, nor elsewhere.
    next_path = login.same_side(request, how.kind, form.cleaned.get("next"))
    # The route of a form post a session expiry lost, carried by the form (a route name or
    # nothing: ecp.auth.login.lost_route), to say it again after the login.
    lost = login.lost_route(data.get("perdu"))
    if form.valid:
        # Saturated password checks: the queue page, the family's place kept by its ticket.
        ticket = queue.read(s.secret_key, data.get("ticket"))
        if ticket is not None and ticket.kind != how.kind:
            ticket = None
        try:
            with request.app.state.passwords.admission(
                priority=ticket is not None and ticket.is_due()
            ):
                return await _check_login(request, form, how, next_path, lost)
        except Saturated:
            passwords = request.app.state.passwords
            return _queue_page(
                request,
                ticket or queue.issue(s.secret_key, how.kind, passwords.queue_wait()),
                next_path,
            )
    return _login_page(request, how.template, form, next_path, status=422, lost=lost)


async def _check_login(
    request: Request, form: Form, how: LoginKind, next_path: str, lost: str
) -> Any:
    s = request.app.state.settings
    name, password = form.cleaned[LOGIN_FIELD[how.kind]], form.cleaned["mot_de_passe"]
    extra = {"mfa_required": s.staff_mfa_required} if how is STAFF else {}
    attempt = await login.attempt_for_login(request, how.kind, name)
    result = await how.authenticate(attempt, password, request.app.state.passwords, **extra)
    if result.refusal is not None and result.refusal.reason == "rate":
        raise login.too_many(request, result.refusal, how.kind)
    if result.ok and result.second_factor:
        login.log_login(request, how.kind, "password_ok", result.account_id)
        return await login.second_step(request, result.account_id, result.second_factor, next_path)
    if result.ok:
        login.log_login(request, how.kind, "success", result.account_id)
        account = {"family_id" if how is FAMILY else "staff_id": result.account_id}
        response = await login.logged_in(request, target=next_path, **account)
        if login.lost_action(lost):
            # Said again where it can be done again; never replayed.
            message = login.lost_message(lost, after_login=True)
            flash.add(request, response, message, "warning")
        elif how is STAFF:
            # Only in the facultative mode (the demo) does a staff password alone get here.
            flash.add(request, response, ENROL_OFFER, "warning")
        return response
    # A lane in back-off gets the generic answer too (A8): the lock hint says to wait.
    login.log_login(request, how.kind, "refused" if result.refusal else "failure")
    form.error("mot_de_passe", how.generic)
    return _login_page(request, how.template, form, next_path, status=422, lost=lost)


@get("/connexion", name="family_login_page")
async def family_login_page(
    request: Request, next: FromQuery[str | None] = None, perdu: FromQuery[str | None] = None
) -> Template:
    home = login.home(request, "family")
    return _login_page(
        request, FAMILY.template, Form(), login.safe_next(next, home), lost=(perdu or "")[:60]
    )


@get("/agents/connexion", name="staff_login_page")
async def staff_login_page(
    request: Request, next: FromQuery[str | None] = None, perdu: FromQuery[str | None] = None
) -> Template:
    home = login.home(request, "staff")
    return _login_page(
        request, STAFF.template, Form(), login.safe_next(next, home), lost=(perdu or "")[:60]
    )


@get("/connexion/attente", name="login_queue")
async def login_queue(
    request: Request, ticket: FromQuery[str | None] = None, next: FromQuery[str | None] = None
) -> Any:
    """The queue page reloading itself; at the ticket's turn, the login form carrying it."""
    found = queue.read(request.app.state.settings.secret_key, ticket)
    if found is None:  # forged, or its turn long gone: the plain login page
        return Redirect(path=request.app.route_reverse("family_login_page"), status_code=303)
    how = FAMILY if found.kind == "family" else STAFF
    next_path = login.same_side(request, how.kind, next)
    if not found.is_due():
        return _queue_page(request, found, next_path)
    return _login_page(request, how.template, Form(), next_path, ticket=found.value)


@post("/session/prolonger", name="session_extend", status_code=200)
async def session_extend(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    """« Rester connecté »: the warning's button (htmx: 204, the new time left in a header) or,
    without JavaScript, a plain post (303 back to the page). An expired session is not
    revived: the login page, which leads back to the page."""
    form = forms.StayForm.bind(data)
    user = request.scope.get("user")
    times = request.scope.get(sessions.SCOPE_KEY)
    kind = user.kind if user is not None else login.side_of(request, form.cleaned["next"])
    next_path = login.same_side(request, kind, form.cleaned["next"])
    if user is None or times is None:
        return login.navigate(request, login.login_page(request, kind, next_path))
    times = await sessions.extend(user.session_id, times)
    request.scope[sessions.SCOPE_KEY] = times
    remaining = {"ECP-Session-Remaining": str(times.remaining_seconds())}
    if wants_fragment(request):
        return Response(content=None, status_code=204, headers=remaining)
    response = Redirect(path=next_path, status_code=303, headers=remaining)
    minutes = request.app.state.settings.session_idle_minutes
    flash.add(
        request,
        response,
        f"Vous restez connecté : la session se fermera après {minutes} minutes sans activité.",
    )
    return response


def login_posts() -> list:
    """Throttled inside the handlers (ecp.auth.throttle): the body says which account, and so
    which lane and whether the browser's device cookie is the account's."""

    @post("/connexion", name="family_login", status_code=200)
    async def family_login(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
        return await _login(request, data, FAMILY)

    @post("/agents/connexion", name="staff_login", status_code=200)
    async def staff_login(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
        return await _login(request, data, STAFF)

    return [family_login, staff_login]


@post("/deconnexion", name="logout", status_code=303)
async def logout(request: Request) -> Redirect:
    user = request.scope.get("user")
    await sessions.close_session(request.scope.get("auth"))
    request.scope[sessions.SCOPE_KEY] = None
    if user is not None:
        log.info("logout", kind=user.kind, account_id=user.family_id or user.staff_id)
    page = "staff_login_page" if user is not None and user.is_staff else "home"
    response = Redirect(
        path=request.app.route_reverse(page),
        status_code=303,
        headers={"Clear-Site-Data": '"cache", "storage"'},
    )
    response.set_cookie(login.session_cookie(request, "", max_age=0))
    flash.add(request, response, "Déconnexion effectuée. À bientôt !")
    return response


def public_router(settings) -> Router:
    from ecp.auth import mfa_routes

    return Router(
        path="/",
        route_handlers=[
            family_login_page,
            staff_login_page,
            login_queue,
            *login_posts(),
            logout,
            session_extend,
            *mfa_routes.route_handlers(),
        ],
    )
