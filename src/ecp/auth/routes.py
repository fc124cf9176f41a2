"""Login and logout for families (/connexion) and staff (/agents/connexion)."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request, get, post
from litestar.datastructures import Cookie
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from ecp.auth import services, sessions
from ecp.web import flash
from ecp.web.forms import Form, raw, text
from ecp.web.htmx import page_or_fragment
from ecp.web.security import client_ip

log = structlog.get_logger("ecp.auth")

GENERIC_FAMILY = "Code famille ou mot de passe incorrect."
GENERIC_STAFF = "Identifiant ou mot de passe incorrect."
LOCK_HINT = ("Après plusieurs essais infructueux, le compte est bloqué quelques minutes : "
             "patientez avant de réessayer, ou utilisez « Mot de passe oublié ».")


def _identifier(request: Request) -> str:
    return client_ip(request.scope, request.app.state.settings.trusted_proxies)


def _log_login(request: Request, kind: str, outcome: str, account_id: int | None = None) -> None:
    """H1: one event per attempt; the account's numeric id only, never the code, the username,
    the e-mail address or the password."""
    from ecp.ops.metrics import REGISTRY

    REGISTRY.inc("ecp_logins_total", kind=kind, outcome=outcome)
    log.info("login", kind=kind, outcome=outcome, account_id=account_id, ip=_identifier(request))


def login_rate_limit(per_minute: int) -> RateLimitConfig:
    # Its own store: a shared store would let one limit eat another's budget (SECURITY.md §9.5).
    return RateLimitConfig(rate_limit=("minute", per_minute), store="login_rate",
                           identifier_for_request=_identifier)


def safe_next(value: str | None, default: str) -> str:
    """Only a local path: '//evil.example' and absolute URLs would make an open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def _session_cookie(request: Request, token: str, max_age: int | None) -> Cookie:
    s = request.app.state.settings
    return Cookie(key=s.cookie_name(sessions.COOKIE), value=token, path="/", httponly=True,
                  secure=s.https, samesite="lax", max_age=max_age)


async def _logged_in(request: Request, *, family_id=None, staff_id=None, target: str) -> Redirect:
    # Rotation: whatever session the browser came with is closed, a new token is issued.
    await sessions.close_session(request.scope.get("auth"))
    token = await sessions.open_session(family_id=family_id, staff_id=staff_id)
    response = Redirect(path=target, status_code=303)
    response.set_cookie(_session_cookie(request, token, max_age=None))
    return response


def _login_page(request: Request, template: str, form: Form, next_path: str, status: int = 200):
    # The lock hint is shown on every failure, so it reveals nothing about the account.
    failed = form.errors.get("mot_de_passe") in (GENERIC_FAMILY, GENERIC_STAFF)
    return page_or_fragment(request, page=template, status_code=status, context={
        "form": form, "next": next_path, "lock_hint": LOCK_HINT if failed else ""})


@get("/connexion", name="family_login_page")
async def family_login_page(request: Request, next: FromQuery[str | None] = None) -> Template:
    return _login_page(request, "pages/auth/family_login.html", Form(), safe_next(next, "/famille/"))


def family_login_post(per_minute: int):
    @post("/connexion", name="family_login", status_code=200,
          middleware=[login_rate_limit(per_minute).middleware])
    async def family_login(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
        s = request.app.state.settings
        code, password = text(data, "code_famille", 20), raw(data, "mot_de_passe", 200)
        next_path = safe_next(text(data, "next"), "/famille/")
        form = Form(values={"code_famille": code})
        if not code:
            form.error("code_famille", "Saisissez votre code famille.")
        if not password:
            form.error("mot_de_passe", "Saisissez votre mot de passe.")
        if form.valid:
            result = await services.authenticate_family(
                code, password, request.app.state.passwords,
                threshold=s.lockout_threshold, max_minutes=s.lockout_max_minutes)
            if result.ok:
                _log_login(request, "family", "success", result.account_id)
                return await _logged_in(request, family_id=result.account_id, target=next_path)
            _log_login(request, "family", "failure")
            form.error("mot_de_passe", GENERIC_FAMILY)
        return _login_page(request, "pages/auth/family_login.html", form, next_path, status=422)

    return family_login


@get("/agents/connexion", name="staff_login_page")
async def staff_login_page(request: Request, next: FromQuery[str | None] = None) -> Template:
    return _login_page(request, "pages/auth/staff_login.html", Form(), safe_next(next, "/agents/"))


def staff_login_post(per_minute: int):
    @post("/agents/connexion", name="staff_login", status_code=200,
          middleware=[login_rate_limit(per_minute).middleware])
    async def staff_login(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
        s = request.app.state.settings
        username, password = text(data, "identifiant", 60), raw(data, "mot_de_passe", 200)
        next_path = safe_next(text(data, "next"), "/agents/")
        if not next_path.startswith("/agents"):
            next_path = "/agents/"
        form = Form(values={"identifiant": username})
        if not username:
            form.error("identifiant", "Saisissez votre identifiant.")
        if not password:
            form.error("mot_de_passe", "Saisissez votre mot de passe.")
        if form.valid:
            result = await services.authenticate_staff(
                username, password, request.app.state.passwords,
                threshold=s.lockout_threshold, max_minutes=s.lockout_max_minutes)
            if result.ok:
                _log_login(request, "staff", "success", result.account_id)
                return await _logged_in(request, staff_id=result.account_id, target=next_path)
            _log_login(request, "staff", "failure")
            form.error("mot_de_passe", GENERIC_STAFF)
        return _login_page(request, "pages/auth/staff_login.html", form, next_path, status=422)

    return staff_login


@post("/deconnexion", name="logout", status_code=303)
async def logout(request: Request) -> Redirect:
    user = request.scope.get("user")
    await sessions.close_session(request.scope.get("auth"))
    if user is not None:
        log.info("logout", kind=user.kind, account_id=user.family_id or user.staff_id)
    target = "/agents/connexion" if user is not None and user.is_staff else "/"
    response = Redirect(path=target, status_code=303,
                        headers={"Clear-Site-Data": '"cache", "storage"'})
    response.set_cookie(_session_cookie(request, "", max_age=0))
    flash.add(request, response, "Déconnexion effectuée. À bientôt !")
    return response


def route_handlers(settings) -> list:
    per_minute = settings.login_rate_per_minute
    return [family_login_page, family_login_post(per_minute), staff_login_page,
            staff_login_post(per_minute), logout]
