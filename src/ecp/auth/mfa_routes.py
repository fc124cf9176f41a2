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

from ecp.auth import forms, login, mfa, queries, services, totp
from ecp.auth.guards import FIRST_PASSWORD_OK, requires_staff
from ecp.errors import Rejected
from ecp.web.forms import Form
from ecp.web.htmx import page_or_fragment, redirect

log = structlog.get_logger("ecp.auth")

PASSWORD_FRAGMENT = "partials/auth/staff_password_form.html"

RESTART = "La vérification a expiré : saisissez à nouveau votre identifiant et votre mot de passe."
CODE_LOCK_HINT = (
    "Après plusieurs codes erronés, le compte est bloqué quelques minutes. Téléphone "
    "perdu ou changé ? Demandez à un administrateur de réinitialiser votre double "
    "authentification."
)
STAFF = [requires_staff]


def _settings(request: Request):
    return request.app.state.settings


def _box(request: Request) -> totp.SecretBox:
    return mfa.box(_settings(request))


async def _pending(request: Request) -> mfa.Pending | None:
    return await mfa.load_pending(login.pending_token(request), _box(request))


def _restart(request: Request) -> Any:
    """No live pending step (expired, used, unknown): back to the password, nothing said
    about why beyond the delay."""
    response = redirect(request, request.app.route_reverse("staff_login_page"), RESTART, "warning")
    response.set_cookie(login.pending_cookie(request, "", 0))
    return response


def _log(request: Request, outcome: str, account_id: int | None) -> None:
    # A staff login succeeds here, once the code is accepted ("password_ok" came before it).
    login.log_login(request, "staff", outcome, account_id)


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
    return {"lock_hint": CODE_LOCK_HINT if form.errors.get("code") == mfa.GENERIC_CODE else ""}


async def _finish(request: Request, pending: mfa.Pending, enrolled_now: bool) -> Any:
    _log(request, "success", pending.staff_id)
    if enrolled_now:
        log.info("staff_totp_enrolled", account_id=pending.staff_id)
    response = await login.logged_in(request, staff_id=pending.staff_id, target=pending.next_path)
    response.set_cookie(login.pending_cookie(request, "", 0))
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


@get("/agents/connexion/code", name="staff_login_code_page")
async def staff_login_code_page(request: Request) -> Any:
    pending = await _pending(request)
    if pending is None:
        return _restart(request)
    if pending.enrol_secret is not None:
        return redirect(request, request.app.route_reverse("staff_login_activation_page"))
    return _code_page(request, Form())


async def _code_post(request: Request, data: dict) -> Any:
    """One POST for the second factor, at enrolment too (ecp.auth.mfa.verify_login_code)."""
    pending = await _pending(request)
    if pending is None:
        return _restart(request)
    form = forms.CodeForm.bind(data)
    attempt = await login.attempt_for_account(request, "staff", pending.staff_id)
    try:
        accepted = await mfa.verify_login_code(
            pending, form.cleaned.get("code"), attempt, _box(request)
        )
    except services.TooManyAttempts as error:
        raise login.too_many(request, error.refusal, "staff", pending.staff_id) from None
    except mfa.CodeRefused as refused:
        _log(request, refused.outcome, pending.staff_id)
        form.reject(refused)
    else:
        if accepted:
            return await _finish(request, pending, enrolled_now=pending.enrol_secret is not None)
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


@get("/agents/connexion/activation", name="staff_login_activation_page")
async def staff_login_activation_page(request: Request) -> Any:
    pending = await _pending(request)
    if pending is None:
        return _restart(request)
    if pending.enrol_secret is None:
        return redirect(request, request.app.route_reverse("staff_login_code_page"))
    return _activation_page(request, pending, Form())


@post("/agents/connexion/code", name="staff_login_code", status_code=200)
async def staff_login_code(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    return await _code_post(request, data)


# ---------------------------------------------------------------- the staff's own account


async def _account_page(
    request: Request,
    form: Form,
    status: int = 200,
    fragment: str = "partials/auth/staff_account.html",
) -> Template:
    return page_or_fragment(
        request,
        page="pages/auth/staff_account.html",
        fragment=fragment,
        context={**await queries.staff_account(request.user.staff_id), "form": form},
        status_code=status,
    )


@get("/agents/compte", name="staff_my_account", guards=STAFF)
async def staff_my_account(request: Request) -> Template:
    return await _account_page(request, Form())


@get("/agents/compte/mot-de-passe", name="staff_password", guards=STAFF)
async def staff_password(request: Request) -> Template:
    # The form lives on the account page; its own URL answers too (a reload after a no-JS
    # error, a bookmark), with the form alone for htmx.
    return await _account_page(request, Form(), fragment=PASSWORD_FRAGMENT)


@post("/agents/compte/mot-de-passe", name="staff_password_save", guards=STAFF, status_code=200)
async def staff_password_save(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    """The agent's own password. A wrong current password counts like a failed login from
    this browser (ecp.auth.throttle); on success every session of the agent ends, the change
    is journalled, and this browser gets a new session."""
    user = request.user
    form = forms.PasswordChangeForm.bind(data)
    attempt = await login.attempt_for_account(request, "staff", user.staff_id)
    try:
        result = await services.change_password(
            attempt,
            request.app.state.passwords,
            current=form.cleaned["mot_de_passe_actuel"],
            new=form.cleaned["nouveau_mot_de_passe"],
            confirmation=form.cleaned["confirmation"],
            actor=user,
        )
    except services.TooManyAttempts as error:
        raise login.too_many(request, error.refusal, "staff", user.staff_id) from None
    if not result.done:
        if result.outcome:
            login.log_login(request, "staff", f"password_change_{result.outcome}", user.staff_id)
        form.file(result.errors)
        return await _account_page(request, form, status=422, fragment=PASSWORD_FRAGMENT)
    login.log_login(request, "staff", "password_changed", user.staff_id)
    response = redirect(
        request,
        request.app.route_reverse("staff_my_account"),
        "Votre mot de passe a été changé. Vos autres connexions ont été fermées.",
    )
    await login.fresh_session(request, response, "staff", user.staff_id)
    return response


@get(
    "/agents/compte/premier-mot-de-passe",
    name="staff_first_password",
    guards=STAFF,
    opt=FIRST_PASSWORD_OK,
)
async def staff_first_password(request: Request) -> Any:
    return login.first_password_page(request, Form())


@post(
    "/agents/compte/premier-mot-de-passe",
    name="staff_first_password_save",
    guards=STAFF,
    status_code=200,
    opt=FIRST_PASSWORD_OK,
)
async def staff_first_password_save(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    """The agent's own password in place of the one an administrator gave, at first login."""
    return await login.first_password_post(request, data)


async def _setup_view(
    request: Request,
    form: Form,
    sealed: str | None = None,
    secret: str | None = None,
    status: int = 200,
) -> Template:
    staff_id = request.user.staff_id
    if secret is None:
        secret, sealed = mfa.new_candidate(_box(request), staff_id)
    setup = await queries.authenticator_setup(staff_id)
    context = {
        "form": form,
        "candidate": sealed,
        "replacing": setup["replacing"],
        **_setup_context(_settings(request), secret, setup["username"]),
    }
    return page_or_fragment(
        request,
        page="pages/auth/staff_mfa_setup.html",
        fragment="partials/auth/mfa_setup_form.html",
        context=context,
        status_code=status,
    )


@get("/agents/compte/double-authentification", name="staff_mfa_setup", guards=STAFF)
async def staff_mfa_setup(request: Request) -> Template:
    return await _setup_view(request, Form())


async def _setup_post(request: Request, data: dict) -> Any:
    user = request.user
    form = forms.AuthenticatorForm.bind(data)
    sealed = form.cleaned["cle"]
    secret = mfa.open_candidate(_box(request), sealed, user.staff_id)
    if secret is None:
        # Expired or altered: a new key is shown, to be added to the app before a code.
        return await _setup_view(
            request, forms.AuthenticatorForm.expired(mfa.EXPIRED_KEY), status=422
        )
    attempt = await login.attempt_for_account(request, "staff", user.staff_id)
    try:
        await mfa.add_authenticator(
            attempt,
            request.app.state.passwords,
            _box(request),
            staff_id=user.staff_id,
            keep_session_id=user.session_id,
            secret=secret,
            password=form.cleaned.get("mot_de_passe_actuel", ""),
            code=form.cleaned.get("code"),
        )
    except services.TooManyAttempts as error:
        raise login.too_many(request, error.refusal, "staff", user.staff_id) from None
    except Rejected as error:
        form.reject(error)
    if not form.valid:
        return await _setup_view(request, form, sealed=sealed, secret=secret, status=422)
    return redirect(
        request,
        request.app.route_reverse("staff_my_account"),
        "La double authentification est activée : à chaque "
        "connexion, le code de cette application vous sera demandé. Vos autres "
        "connexions ont été fermées.",
    )


@post(
    "/agents/compte/double-authentification",
    name="staff_mfa_setup_save",
    guards=STAFF,
    status_code=200,
)
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
        staff_first_password,
        staff_first_password_save,
        staff_mfa_setup,
        staff_mfa_setup_save,
    ]
