"""Staff two-factor authentication pages (docs/security.md A10): the code step of the login
(/agents/connexion/code), enrolment at login (/agents/connexion/activation, whose form posts to
the code step), and the staff's own account page (/agents/compte) where an authenticator is
added or replaced. Enrolments are logged (staff_totp_enrolled); an administrator's reset goes to
the journal (ecp.backoffice.settings_routes)."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request, get, post
from litestar.params import URLEncodedBody
from litestar.response import Template

from ecp import clock
from ecp.audit.services import record
from ecp.auth import mfa, services, totp
from ecp.auth.guards import requires_staff
from ecp.auth.principal import ROLE_LABELS
from ecp.auth.routes import (
    _logged_in,
    attempt_for,
    fresh_session,
    log_login,
    pending_cookie,
    too_many,
)
from ecp.auth.sessions import close_all_for
from ecp.auth.tables import StaffUser
from ecp.db import aware
from ecp.web.forms import Form, raw, text
from ecp.web.htmx import page_or_fragment, redirect

log = structlog.get_logger("ecp.auth")

CODE_PATH = "/agents/connexion/code"
ACTIVATION_PATH = "/agents/connexion/activation"
ACCOUNT_PATH = "/agents/compte"
SETUP_PATH = "/agents/compte/double-authentification"
PASSWORD_PATH = "/agents/compte/mot-de-passe"
PASSWORD_FRAGMENT = "partials/auth/staff_password_form.html"

GENERIC_CODE = (
    "Code incorrect ou expiré : saisissez le code affiché en ce moment par l’application."
)
MISSING_CODE = "Saisissez le code à 6 chiffres affiché par votre application d’authentification."
MALFORMED_CODE = "Le code comporte 6 chiffres, par exemple 123456."
RESTART = "La vérification a expiré : saisissez à nouveau votre identifiant et votre mot de passe."
CODE_LOCK_HINT = (
    "Après plusieurs codes erronés, le compte est bloqué quelques minutes. Téléphone "
    "perdu ou changé ? Demandez à un administrateur de réinitialiser votre double "
    "authentification."
)
STAFF = [requires_staff]


def _settings(request: Request):
    return request.app.state.settings


def _pending_token(request: Request) -> str | None:
    return request.cookies.get(_settings(request).cookie_name(mfa.COOKIE))


async def _pending(request: Request) -> mfa.Pending | None:
    return await mfa.load_pending(_pending_token(request), mfa.box(_settings(request)))


def _restart(request: Request) -> Any:
    """No live pending step (expired, used, unknown): back to the password, nothing said
    about why beyond the delay."""
    response = redirect(request, "/agents/connexion", RESTART, "warning")
    response.set_cookie(pending_cookie(request, "", 0))
    return response


def _code(data: dict, form: Form) -> str | None:
    """The typed code, cleaned; None (with the field's message) when it cannot be a code.
    A malformed code is not counted as a failure: it could not have been right."""
    code = totp.clean_code(text(data, "code", 20))
    if not code:
        form.error("code", MISSING_CODE)
        return None
    if not totp.is_well_formed(code):
        form.values["code"] = text(data, "code", 20)
        form.error("code", MALFORMED_CODE)
        return None
    return code


def _log(request: Request, outcome: str, account_id: int | None) -> None:
    # A staff login succeeds here, once the code is accepted ("password_ok" came before it).
    log_login(request, "staff", outcome, account_id)


def _setup_context(settings, secret: str, account: str) -> dict:
    uri = totp.provisioning_uri(secret, account, mfa.issuer(settings))
    return {
        "secret_groups": totp.grouped(secret),
        "otpauth_uri": uri,
        "qr_svg": totp.qr_svg(uri, "Code QR à scanner avec votre application d’authentification"),
        "issuer": mfa.issuer(settings),
        "account": account,
    }


def _failed(form: Form) -> dict:
    # The lock hint is shown on every failure, so it reveals nothing about the account.
    return {"lock_hint": CODE_LOCK_HINT if form.errors.get("code") == GENERIC_CODE else ""}


async def _finish(request: Request, pending: mfa.Pending, enrolled_now: bool) -> Any:
    _log(request, "success", pending.staff_id)
    if enrolled_now:
        log.info("staff_totp_enrolled", account_id=pending.staff_id)
    response = await _logged_in(request, staff_id=pending.staff_id, target=pending.next_path)
    response.set_cookie(pending_cookie(request, "", 0))
    return response


# ---------------------------------------------------------------- login: code


def _code_page(request: Request, form: Form, status: int = 200) -> Template:
    return page_or_fragment(
        request,
        page="pages/auth/staff_code.html",
        fragment="partials/auth/code_form.html",
        status_code=status,
        context={"form": form, **_failed(form)},
    )


@get(CODE_PATH, name="staff_login_code_page")
async def staff_login_code_page(request: Request) -> Any:
    pending = await _pending(request)
    if pending is None:
        return _restart(request)
    if pending.enrol_secret is not None:
        return redirect(request, ACTIVATION_PATH)
    return _code_page(request, Form())


async def _code_post(request: Request, data: dict) -> Any:
    """One POST for the second factor, at enrolment too: the pending step knows which secret
    the code must come from. A code is checked like a password (ecp.auth.throttle): the
    agent's lane from this browser, the address budget, the account-wide ceiling."""
    pending = await _pending(request)
    if pending is None:
        return _restart(request)
    row = await services.account_row_by_id("staff", pending.staff_id)
    attempt = attempt_for(request, "staff", pending.username, row)
    refusal = await attempt.refusal()
    if refusal is not None and refusal.reason == "rate":
        raise too_many(request, refusal, "staff", pending.staff_id)
    form = Form()
    code = _code(data, form)
    if code is None:
        # Could not have been right: no lane failure, but it spends the address budget.
        await attempt.failed(checked=False)
    elif refusal is not None:
        await attempt.failed(checked=False)
        _log(request, "code_refused", pending.staff_id)
        form.error("code", GENERIC_CODE)
    else:
        if await mfa.check_login_code(pending, code, mfa.box(_settings(request)), attempt):
            return await _finish(request, pending, enrolled_now=pending.enrol_secret is not None)
        _log(request, "code_failure", pending.staff_id)
        form.error("code", GENERIC_CODE)
    if pending.enrol_secret is not None:
        return _activation_page(request, pending, form, status=422)
    return _code_page(request, form, status=422)


# ---------------------------------------------------------------- login: enrolment


def _activation_page(
    request: Request, pending: mfa.Pending, form: Form, status: int = 200
) -> Template:
    context = {
        "form": form,
        **_failed(form),
        **_setup_context(_settings(request), pending.enrol_secret, pending.username),
    }
    return page_or_fragment(
        request,
        page="pages/auth/staff_activation.html",
        fragment="partials/auth/activation_form.html",
        status_code=status,
        context=context,
    )


@get(ACTIVATION_PATH, name="staff_login_activation_page")
async def staff_login_activation_page(request: Request) -> Any:
    pending = await _pending(request)
    if pending is None:
        return _restart(request)
    if pending.enrol_secret is None:
        return redirect(request, CODE_PATH)
    return _activation_page(request, pending, Form())


@post(CODE_PATH, name="staff_login_code", status_code=200)
async def staff_login_code(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    return await _code_post(request, data)


# ---------------------------------------------------------------- the staff's own account


async def _account_page(
    request: Request,
    form: Form,
    status: int = 200,
    fragment: str = "partials/auth/staff_account.html",
) -> Template:
    user = request.user
    row = (
        await StaffUser.select(
            StaffUser.username, StaffUser.display_name, StaffUser.email, StaffUser.role
        )
        .where(StaffUser.id == user.staff_id)
        .first()
    )
    row["role_label"] = ROLE_LABELS.get(row["role"], row["role"])
    enrolment = await mfa.enrolment(user.staff_id)
    if enrolment:
        enrolment["enrolled_at"] = aware(enrolment["enrolled_at"])
    return page_or_fragment(
        request,
        page="pages/auth/staff_account.html",
        fragment=fragment,
        context={"account": row, "enrolment": enrolment, "form": form},
        status_code=status,
    )


@get(ACCOUNT_PATH, name="staff_my_account", guards=STAFF)
async def staff_my_account(request: Request) -> Template:
    return await _account_page(request, Form())


@get(PASSWORD_PATH, name="staff_password", guards=STAFF)
async def staff_password(request: Request) -> Template:
    # The form lives on the account page; its own URL answers too (a reload after a no-JS
    # error, a bookmark), with the form alone for htmx.
    return await _account_page(request, Form(), fragment=PASSWORD_FRAGMENT)


@post(PASSWORD_PATH, name="staff_password_save", guards=STAFF, status_code=200)
async def staff_password_save(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    """The agent's own password. A wrong current password counts like a failed login from
    this browser (ecp.auth.throttle); on success every session of the agent ends and this
    browser gets a new one."""
    user = request.user
    row = await services.account_row_by_id("staff", user.staff_id)
    attempt = attempt_for(request, "staff", row["login"], row)
    result = await services.change_password(
        attempt,
        request.app.state.passwords,
        current=raw(data, "mot_de_passe_actuel", 300),
        new=raw(data, "nouveau_mot_de_passe", 300),
        confirmation=raw(data, "confirmation", 300),
        staff=True,
    )
    if result.refusal is not None:
        raise too_many(request, result.refusal, "staff", user.staff_id)
    if not result.done:
        if result.outcome:
            log_login(request, "staff", f"password_change_{result.outcome}", user.staff_id)
        form = Form()
        for name in ("mot_de_passe_actuel", "nouveau_mot_de_passe", "confirmation"):
            if name in result.errors:
                form.error(name, result.errors[name])
        return await _account_page(request, form, status=422, fragment=PASSWORD_FRAGMENT)
    log_login(request, "staff", "password_changed", user.staff_id)
    await record(
        user,
        "staff_password_changed",
        target=f"agent {row['login']}",
        details={"autres_connexions": "fermées"},
    )
    response = redirect(
        request,
        ACCOUNT_PATH,
        "Votre mot de passe a été changé. Vos autres connexions ont été fermées.",
    )
    await fresh_session(request, response, "staff", user.staff_id)
    return response


async def _setup_view(
    request: Request,
    form: Form,
    sealed: str | None = None,
    secret: str | None = None,
    status: int = 200,
) -> Template:
    user = request.user
    s = _settings(request)
    if secret is None:
        secret = totp.new_secret()
        sealed = mfa.box(s).seal_candidate(
            secret, user.staff_id, clock.now() + mfa.CANDIDATE_LIFETIME
        )
    row = await StaffUser.select(StaffUser.username).where(StaffUser.id == user.staff_id).first()
    context = {
        "form": form,
        "candidate": sealed,
        "replacing": await mfa.enrolled(user.staff_id),
        **_setup_context(s, secret, row["username"]),
    }
    return page_or_fragment(
        request,
        page="pages/auth/staff_mfa_setup.html",
        fragment="partials/auth/mfa_setup_form.html",
        context=context,
        status_code=status,
    )


@get(SETUP_PATH, name="staff_mfa_setup", guards=STAFF)
async def staff_mfa_setup(request: Request) -> Template:
    return await _setup_view(request, Form())


async def _setup_post(request: Request, data: dict) -> Any:
    user = request.user
    s = _settings(request)
    box = mfa.box(s)
    sealed = text(data, "cle", 500)
    secret = box.open_candidate(sealed, user.staff_id, clock.now())
    if secret is None:
        # Expired or altered: a new key is shown, to be added to the app before a code.
        form = Form()
        form.error(
            "code",
            "La clé proposée a expiré : une nouvelle clé est affichée. Ajoutez-la "
            "à votre application, puis saisissez son code.",
        )
        return await _setup_view(request, form, status=422)
    form = Form()
    password = raw(data, "mot_de_passe_actuel", 300)
    row = await services.account_row_by_id("staff", user.staff_id)
    # Guessing here costs the same lane and ceiling as at login (ecp.auth.throttle).
    attempt = attempt_for(request, "staff", row["login"], row)
    if not password:
        form.error("mot_de_passe_actuel", "Saisissez votre mot de passe actuel.")
    else:
        ok, refusal = await services.check_current_password(
            attempt, password, request.app.state.passwords
        )
        if refusal is not None and refusal.reason == "rate":
            raise too_many(request, refusal, "staff", user.staff_id)
        if refusal is not None:
            form.error("mot_de_passe_actuel", refusal.wait_message())
        elif not ok:
            form.error("mot_de_passe_actuel", "Le mot de passe actuel est incorrect.")
    code = _code(data, form)
    if form.valid and not await mfa.replace_authenticator(user.staff_id, secret, code, box):
        form.error(
            "code",
            "Code incorrect : saisissez le code que l’application affiche pour cette nouvelle clé.",
        )
        await attempt.failed()
    if not form.valid:
        return await _setup_view(request, form, sealed=sealed, secret=secret, status=422)
    await attempt.succeeded()
    # Sessions opened with the old authenticator end; this one stays.
    await close_all_for(staff_id=user.staff_id, keep_session_id=user.session_id)
    log.info("staff_totp_enrolled", account_id=user.staff_id)
    return redirect(
        request,
        ACCOUNT_PATH,
        "La double authentification est activée : à chaque "
        "connexion, le code de cette application vous sera demandé. Vos autres "
        "connexions ont été fermées.",
    )


@post(SETUP_PATH, name="staff_mfa_setup_save", guards=STAFF, status_code=200)
async def staff_mfa_setup_save(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    # Behind a session; wrong passwords and codes here count in the account's back-off.
    return await _setup_post(request, data)


def route_handlers() -> list:
    return [
        staff_login_code_page,
        staff_login_activation_page,
        staff_login_code,
        staff_my_account,
        staff_password,
        staff_password_save,
        staff_mfa_setup,
        staff_mfa_setup_save,
    ]
