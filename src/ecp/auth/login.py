"""What the login, code, password and account pages share over HTTP: the client's address, the
login events (H1), the throttled Attempt of a request, the cookies (session, device, pending
step), the answer after a full login and the `next` address.

The rules are in ecp.auth.services and ecp.auth.mfa; this module only carries them over HTTP,
so that every routes module (ecp.auth's and ecp.accounts') uses one copy of them."""

from __future__ import annotations

import re
from typing import Any

import structlog
from litestar import Request
from litestar.datastructures import Cookie
from litestar.exceptions import TooManyRequestsException
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect

from ecp.auth import mfa, services, sessions, throttle
from ecp.web.htmx import wants_fragment
from ecp.web.security import client_ip

log = structlog.get_logger("ecp.auth")

# The home page of each side, by route name.
HOME_ROUTES = {"family": "family_home", "staff": "staff_home"}


def client_identifier(request: Request) -> str:
    """The client's address, as the rate limits and the login events know it."""
    return client_ip(request.scope, request.app.state.settings.trusted_proxies)


def log_login(request: Request, kind: str, outcome: str, account_id: int | None = None) -> None:
    """H1: one event per attempt; the account's numeric id only, never the code, the username,
    the e-mail address or the password."""
    from ecp.web.metrics import REGISTRY

    REGISTRY.inc("ecp_logins_total", kind=kind, outcome=outcome)
    log.info(
        "login", kind=kind, outcome=outcome, account_id=account_id, ip=client_identifier(request)
    )


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
        address=client_identifier(request),
        device_cookie=request.cookies.get(s.cookie_name(throttle.DeviceCookies.name(kind))),
        account_threshold=s.lockout_account_threshold,
        max_minutes=s.lockout_max_minutes,
    )


async def attempt_for_login(request: Request, kind: str, login: str) -> services.Attempt:
    """An attempt on the account a login form names (None behind it: no such account)."""
    return attempt_for(request, kind, login, await services.account_row(kind, login))


async def attempt_for_account(request: Request, kind: str, account_id: int) -> services.Attempt:
    """An attempt on an account already known (a session, a pending code step)."""
    row = await services.account_row_by_id(kind, account_id)
    return attempt_for(request, kind, row["login"] if row else "", row)


def too_many(
    request: Request, refusal: throttle.Refusal, kind: str, account_id: int | None = None
) -> TooManyRequestsException:
    """The address's budget is spent: the French 429 page, as the rate limit always gave."""
    log_login(request, kind, "rate_limited", account_id)
    return TooManyRequestsException(headers=refusal.headers())


def _cookie(request: Request, name: str, value: str, max_age: int | None) -> Cookie:
    s = request.app.state.settings
    return Cookie(
        key=s.cookie_name(name),
        value=value,
        path="/",
        httponly=True,
        secure=s.https,
        samesite="lax",
        max_age=max_age,
    )


def device_cookie(request: Request, kind: str, account_id: int, password_hash: str) -> Cookie:
    s = request.app.state.settings
    return _cookie(
        request,
        throttle.DeviceCookies.name(kind),
        throttle.DeviceCookies(s).issue(kind, account_id, password_hash),
        int(throttle.DEVICE_LIFETIME.total_seconds()),
    )


async def remember_device(request: Request, response: Any, kind: str, account_id: int) -> None:
    """After a full login (or a password change, which voids the old cookie)."""
    row = await services.account_row_by_id(kind, account_id)
    if row is not None:
        response.set_cookie(device_cookie(request, kind, account_id, row["password_hash"]))


# A form post that found its session expired is never replayed: the login page says which one
# was not saved (web/errors.py names it by its route), and the person does it again. Route
# names only, from the family side (an agent is told the generic words).
LOST_ACTIONS = {
    "booking_change": "la réservation, l’annulation ou l’absence demandée dans le calendrier",
    "booking_pattern_apply": "la semaine type",
    "family_inscription_request": "la demande d’inscription",
    "family_contact_submit": "la demande de changement de coordonnées",
    "family_reminders": "votre choix de rappels avant les dates limites",
    "family_paperless": "votre choix de recevoir les factures par courriel",
    "family_password_save": "le changement de mot de passe",
    "family_payment_start": "le passage au paiement par carte (rien n’a été payé)",
    "family_payment_abandon": "l’abandon du paiement en cours",
    "family_ics": "la création du lien d’agenda",
}
LOST_DEFAULT = "le formulaire que vous veniez d’envoyer"


def lost_route(value: str | None) -> str:
    """The lost post's route name as carried by the login form: a route name, or nothing."""
    if not isinstance(value, str):
        return ""
    value = value.strip()
    return value if re.fullmatch(r"[a-z_]{1,60}", value) else ""


def lost_action(route_name: str | None) -> str:
    """The French words for the form post a session expiry lost ('' when none was)."""
    if not lost_route(route_name):
        return ""
    return LOST_ACTIONS.get(route_name, LOST_DEFAULT)


def lost_message(route_name: str | None, *, after_login: bool = False) -> str:
    what = lost_action(route_name)
    if not what:
        return ""
    then = (
        "Vous pouvez la refaire maintenant."
        if after_login
        else "Connectez-vous, puis refaites-la : vous reviendrez sur la page où vous étiez."
    )
    return f"Votre dernière action n’a pas été enregistrée : {what}. {then}"


def session_ended_message(idle_minutes: int) -> str:
    return (
        f"Votre session s’est fermée : sans activité pendant {idle_minutes} minutes, la "
        "connexion se ferme pour protéger vos données. Reconnectez-vous : vous reviendrez "
        "sur la page où vous étiez."
    )


def same_side(request: Request, kind: str, value: str | None) -> str:
    """`value` when it is a local page of this side (the family's, or the staff's), else the
    side's home: a family is not sent into the staff area after login, nor elsewhere."""
    side_home = home(request, kind)
    target, base = safe_next(value, side_home), side_home.rstrip("/")
    if target == base or target.startswith((base + "/", base + "?")):
        return target
    return side_home


def side_of(request: Request, path: str) -> str:
    """'staff' for a page of the staff area, else 'family'."""
    return "staff" if path.startswith(home(request, "staff").rstrip("/")) else "family"


def login_page(request: Request, kind: str, next_path: str) -> str:
    """The login page of a side, asked to come back to `next_path` afterwards."""
    from urllib.parse import quote

    page = "staff_login_page" if kind == "staff" else "family_login_page"
    return f"{request.app.route_reverse(page)}?next={quote(next_path, safe='/')}"


def safe_next(value: str | None, default: str) -> str:
    """Only a local path: '//evil.example' and absolute URLs would make an open redirect, and
    so would '/\t/evil.example' (browsers drop tabs and line breaks from addresses)."""
    if (
        value
        and value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
        and not any(c < " " or c == "\x7f" for c in value)
    ):
        return value
    return default


def home(request: Request, kind: str) -> str:
    """The home page of a side, with the trailing slash its links and the login's redirect
    have always had: Litestar reverses Router("/famille") + "/" without it, and both serve it."""
    return request.app.route_reverse(HOME_ROUTES[kind]).rstrip("/") + "/"


def session_cookie(request: Request, token: str, max_age: int | None) -> Cookie:
    return _cookie(request, sessions.COOKIE, token, max_age)


def pending_cookie(request: Request, token: str, max_age: int) -> Cookie:
    """The TOTP step's cookie: the session cookie's attributes, and its own five minutes."""
    return _cookie(request, mfa.COOKIE, token, max_age)


def pending_token(request: Request) -> str | None:
    return request.cookies.get(request.app.state.settings.cookie_name(mfa.COOKIE))


def navigate(request: Request, target: str) -> Any:
    # An htmx form (the TOTP step) is told to navigate; a plain form gets post/redirect/get.
    if wants_fragment(request):
        return ClientRedirect(redirect_to=target)
    return Redirect(path=target, status_code=303)


async def logged_in(
    request: Request, *, family_id: int | None = None, staff_id: int | None = None, target: str
) -> Any:
    """A full login: a new session (and device cookie) for this browser, and its next page."""
    # Rotation: whatever session the browser came with is closed, a new token is issued.
    await sessions.close_session(request.scope.get("auth"))
    request.scope[sessions.SCOPE_KEY] = None
    token = await sessions.open_session(family_id=family_id, staff_id=staff_id)
    response = navigate(request, target)
    response.set_cookie(session_cookie(request, token, max_age=None))
    await remember_device(
        request, response, "family" if family_id else "staff", family_id or staff_id
    )
    return response


async def fresh_session(request: Request, response: Any, kind: str, account_id: int) -> None:
    """After a password change has ended every session of the account: this browser gets a
    new one (a new token, as at login) and a device cookie signed with the new hash."""
    token = await sessions.open_session(**{f"{kind}_id": account_id})
    response.set_cookie(session_cookie(request, token, max_age=None))
    await remember_device(request, response, kind, account_id)


async def second_step(request: Request, staff_id: int, factor: str, next_path: str) -> Any:
    """A correct staff password: no session yet, a pending step and the code (or enrolment)
    page."""
    s = request.app.state.settings
    token = await mfa.start_pending(staff_id, next_path, mfa.box(s), enrol=factor == "activation")
    page = "staff_login_code_page" if factor == "code" else "staff_login_activation_page"
    response = navigate(request, request.app.route_reverse(page))
    response.set_cookie(pending_cookie(request, token, int(mfa.PENDING_LIFETIME.total_seconds())))
    return response


# ---------------------------------------------------------------- first login

FIRST_PASSWORD_SAVE = {"family": "family_first_password_save", "staff": "staff_first_password_save"}
FIRST_PASSWORD_DONE = (
    "Votre mot de passe est enregistré : utilisez-le désormais pour vous connecter."
)


def first_password_page(request: Request, form: Any, status: int = 200) -> Any:
    """« Choisir votre mot de passe »: where a provisional password sends every page of the
    account (ecp.auth.guards); an account without one goes home."""
    from ecp.web.htmx import page_or_fragment, redirect

    user = request.user
    if not user.must_change_password:
        return redirect(request, request.app.route_reverse(HOME_ROUTES[user.kind]))
    return page_or_fragment(
        request,
        page="pages/auth/first_password.html",
        fragment="partials/auth/first_password_form.html",
        context={
            "form": form,
            "side": user.kind,
            "save_route": FIRST_PASSWORD_SAVE[user.kind],
            "password_min": 15 if user.is_staff else 12,
        },
        status_code=status,
    )


async def first_password_post(request: Request, data: dict[str, Any]) -> Any:
    """The chosen password (ecp.auth.services.choose_first_password): 422 with the messages,
    or the home page in a fresh session (every other session of the account has ended)."""
    from ecp.auth.forms import PasswordChangeForm
    from ecp.web.htmx import redirect

    user = request.user
    kind = user.kind
    account_id = user.family_id if kind == "family" else user.staff_id
    form = PasswordChangeForm.bind(data)
    errors = await services.choose_first_password(
        kind,
        account_id,
        request.app.state.passwords,
        new=form.cleaned["nouveau_mot_de_passe"],
        confirmation=form.cleaned["confirmation"],
        actor=user,
    )
    home = request.app.route_reverse(HOME_ROUTES[kind])
    if errors is None:
        return redirect(request, home)
    if errors:
        form.file(errors)
        return first_password_page(request, form, status=422)
    log_login(request, kind, "first_password_chosen", account_id)
    response = redirect(request, home, FIRST_PASSWORD_DONE)
    await fresh_session(request, response, kind, account_id)
    return response
