"""Login and logout for families (/connexion) and staff (/agents/connexion)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from litestar import Request, Router, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import TooManyRequestsException
from litestar.params import FromQuery, URLEncodedBody
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Template

from ecp.auth import mfa, services, sessions, throttle
from ecp.web import flash
from ecp.web.forms import Form, raw, text
from ecp.web.htmx import page_or_fragment, wants_fragment
from ecp.web.security import client_ip

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


def _identifier(request: Request) -> str:
    return client_ip(request.scope, request.app.state.settings.trusted_proxies)


def log_login(request: Request, kind: str, outcome: str, account_id: int | None = None) -> None:
    """H1: one event per attempt; the account's numeric id only, never the code, the username,
    the e-mail address or the password."""
    from ecp.web.metrics import REGISTRY

    REGISTRY.inc("ecp_logins_total", kind=kind, outcome=outcome)
    log.info("login", kind=kind, outcome=outcome, account_id=account_id, ip=_identifier(request))


def _throttle(request: Request) -> throttle.Throttle:
    # The rate-limit store: shared by every process when Redis is configured.
    return throttle.Throttle(request.app.stores.get(throttle.STORE), request.app.state.settings)


def attempt_for(request: Request, kind: str, login: str, row: dict | None) -> services.Attempt:
    """The login, code and change-password forms all check secrets through this."""
    s = request.app.state.settings
    return services.Attempt(
        kind,
        login,
        row,
        throttle=_throttle(request),
        devices=throttle.DeviceCookies(s),
        address=_identifier(request),
        device_cookie=request.cookies.get(s.cookie_name(throttle.DeviceCookies.name(kind))),
        account_threshold=s.lockout_account_threshold,
        max_minutes=s.lockout_max_minutes,
    )


def too_many(
    request: Request, refusal: throttle.Refusal, kind: str, account_id: int | None = None
) -> TooManyRequestsException:
    """The address's budget is spent: the French 429 page, as the rate limit always gave."""
    log_login(request, kind, "rate_limited", account_id)
    return TooManyRequestsException(headers=refusal.headers())


def device_cookie(request: Request, kind: str, account_id: int, password_hash: str) -> Cookie:
    s = request.app.state.settings
    return Cookie(
        key=s.cookie_name(throttle.DeviceCookies.name(kind)),
        value=throttle.DeviceCookies(s).issue(kind, account_id, password_hash),
        path="/",
        httponly=True,
        secure=s.https,
        samesite="lax",
        max_age=int(throttle.DEVICE_LIFETIME.total_seconds()),
    )


async def remember_device(request: Request, response: Any, kind: str, account_id: int) -> None:
    """After a full login (or a password change, which voids the old cookie)."""
    row = await services.account_row_by_id(kind, account_id)
    if row is not None:
        response.set_cookie(device_cookie(request, kind, account_id, row["password_hash"]))


def safe_next(value: str | None, default: str) -> str:
    """Only a local path: '//evil.example' and absolute URLs would make an open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def _session_cookie(request: Request, token: str, max_age: int | None) -> Cookie:
    s = request.app.state.settings
    return Cookie(
        key=s.cookie_name(sessions.COOKIE),
        value=token,
        path="/",
        httponly=True,
        secure=s.https,
        samesite="lax",
        max_age=max_age,
    )


async def _logged_in(request: Request, *, family_id=None, staff_id=None, target: str) -> Any:
    # Rotation: whatever session the browser came with is closed, a new token is issued.
    await sessions.close_session(request.scope.get("auth"))
    token = await sessions.open_session(family_id=family_id, staff_id=staff_id)
    # An htmx form (the TOTP step) is told to navigate; a plain form gets post/redirect/get.
    response = (
        ClientRedirect(redirect_to=target)
        if wants_fragment(request)
        else Redirect(path=target, status_code=303)
    )
    response.set_cookie(_session_cookie(request, token, max_age=None))
    await remember_device(
        request, response, "family" if family_id else "staff", family_id or staff_id
    )
    return response


async def fresh_session(request: Request, response: Any, kind: str, account_id: int) -> None:
    """After a password change has ended every session of the account: this browser gets a
    new one (a new token, as at login) and a device cookie signed with the new hash."""
    token = await sessions.open_session(**{f"{kind}_id": account_id})
    response.set_cookie(_session_cookie(request, token, max_age=None))
    await remember_device(request, response, kind, account_id)


def pending_cookie(request: Request, token: str, max_age: int) -> Cookie:
    """The TOTP step's cookie: the session cookie's attributes, and its own five minutes."""
    s = request.app.state.settings
    return Cookie(
        key=s.cookie_name(mfa.COOKIE),
        value=token,
        path="/",
        httponly=True,
        secure=s.https,
        samesite="lax",
        max_age=max_age,
    )


async def _second_step(request: Request, staff_id: int, factor: str, next_path: str) -> Any:
    """A correct staff password: no session yet, a pending step and the code (or enrolment)
    page."""
    s = request.app.state.settings
    token = await mfa.start_pending(staff_id, next_path, mfa.box(s), enrol=factor == "activation")
    target = "/agents/connexion/code" if factor == "code" else "/agents/connexion/activation"
    response = (
        ClientRedirect(redirect_to=target)
        if wants_fragment(request)
        else Redirect(path=target, status_code=303)
    )
    response.set_cookie(pending_cookie(request, token, int(mfa.PENDING_LIFETIME.total_seconds())))
    return response


def _login_page(request: Request, template: str, form: Form, next_path: str, status: int = 200):
    # The lock hint is shown on every failure, so it reveals nothing about the account.
    failed = form.errors.get("mot_de_passe") in (GENERIC_FAMILY, GENERIC_STAFF)
    return page_or_fragment(
        request,
        page=template,
        status_code=status,
        context={"form": form, "next": next_path, "lock_hint": LOCK_HINT if failed else ""},
    )


@dataclass(frozen=True)
class LoginKind:
    """What differs between the family and the staff login; the rules are the same."""

    kind: str
    field: str
    missing: str
    generic: str
    template: str
    home: str
    authenticate: Callable[..., Awaitable[services.LoginResult]]


FAMILY = LoginKind(
    "family",
    "code_famille",
    "Saisissez votre code famille.",
    GENERIC_FAMILY,
    "pages/auth/family_login.html",
    "/famille/",
    services.authenticate_family,
)
STAFF = LoginKind(
    "staff",
    "identifiant",
    "Saisissez votre identifiant.",
    GENERIC_STAFF,
    "pages/auth/staff_login.html",
    "/agents/",
    services.authenticate_staff,
)


async def _login(request: Request, data: dict[str, Any], how: LoginKind) -> Any:
    s = request.app.state.settings
    login, password = text(data, how.field, 60), raw(data, "mot_de_passe", 200)
    next_path = safe_next(text(data, "next"), how.home)
    if not next_path.startswith(how.home.rstrip("/")):
        next_path = how.home
    form = Form(values={how.field: login})
    if not login:
        form.error(how.field, how.missing)
    if not password:
        form.error("mot_de_passe", "Saisissez votre mot de passe.")
    if form.valid:
        extra = {"mfa_required": s.staff_mfa_required} if how is STAFF else {}
        attempt = attempt_for(request, how.kind, login, await services.account_row(how.kind, login))
        result = await how.authenticate(attempt, password, request.app.state.passwords, **extra)
        if result.refusal is not None and result.refusal.reason == "rate":
            raise too_many(request, result.refusal, how.kind)
        if result.ok and result.second_factor:
            log_login(request, how.kind, "password_ok", result.account_id)
            return await _second_step(request, result.account_id, result.second_factor, next_path)
        if result.ok:
            log_login(request, how.kind, "success", result.account_id)
            account = {"family_id" if how is FAMILY else "staff_id": result.account_id}
            response = await _logged_in(request, target=next_path, **account)
            if how is STAFF:
                # Only in the facultative mode (the demo) does a staff password alone get here.
                flash.add(request, response, ENROL_OFFER, "warning")
            return response
        # A lane in back-off gets the generic answer too (A8): the lock hint says to wait.
        log_login(request, how.kind, "refused" if result.refusal else "failure")
        form.error("mot_de_passe", how.generic)
    return _login_page(request, how.template, form, next_path, status=422)


@get("/connexion", name="family_login_page")
async def family_login_page(request: Request, next: FromQuery[str | None] = None) -> Template:
    return _login_page(request, FAMILY.template, Form(), safe_next(next, FAMILY.home))


@get("/agents/connexion", name="staff_login_page")
async def staff_login_page(request: Request, next: FromQuery[str | None] = None) -> Template:
    return _login_page(request, STAFF.template, Form(), safe_next(next, STAFF.home))


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
    if user is not None:
        log.info("logout", kind=user.kind, account_id=user.family_id or user.staff_id)
    target = "/agents/connexion" if user is not None and user.is_staff else "/"
    response = Redirect(
        path=target, status_code=303, headers={"Clear-Site-Data": '"cache", "storage"'}
    )
    response.set_cookie(_session_cookie(request, "", max_age=0))
    flash.add(request, response, "Déconnexion effectuée. À bientôt !")
    return response


def public_router(settings) -> Router:
    from ecp.auth import mfa_routes

    return Router(
        path="/",
        route_handlers=[
            family_login_page,
            staff_login_page,
            *login_posts(),
            logout,
            *mfa_routes.route_handlers(),
        ],
    )
