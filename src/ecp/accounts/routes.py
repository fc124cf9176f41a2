"""Forgotten password (public), and the family's own account: contact details, change requests,
deadline reminders, password change, 'mes données'."""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, Router, get, post
from litestar.background_tasks import BackgroundTask
from litestar.exceptions import NotFoundException
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Response, Template

from ecp.accounts import contact, export, queries, reset, services
from ecp.accounts.forms import ContactChangeForm, ForgottenForm, RemindersForm
from ecp.auth import login
from ecp.auth import services as auth_services
from ecp.auth.forms import NewPasswordForm, PasswordChangeForm
from ecp.auth.guards import FIRST_PASSWORD_OK
from ecp.web.forms import Form
from ecp.web.htmx import page_or_fragment, redirect

FORGOTTEN_DONE = (
    "Si ce code famille ou cette adresse correspond à un compte, un message "
    "vient d’être envoyé à l’adresse électronique de la famille. Il contient un "
    "lien valable une heure. Pensez à regarder dans les courriers indésirables."
)


def reset_rate_limit(per_minute: int) -> RateLimitConfig:
    return RateLimitConfig(
        rate_limit=("minute", per_minute),
        store="reset_rate",
        identifier_for_request=login.client_identifier,
    )


# ---------------------------------------------------------------- forgotten password (public)


def _forgotten(request: Request, form: Form, sent: bool, status: int = 200) -> Template:
    return page_or_fragment(
        request,
        page="pages/accounts/forgotten.html",
        fragment="partials/accounts/forgotten_form.html",
        context={"form": form, "sent": sent, "message": FORGOTTEN_DONE},
        status_code=status,
    )


@get("/mot-de-passe-oublie", name="password_forgotten")
async def password_forgotten(request: Request) -> Template:
    return _forgotten(request, Form(), sent=False)


def password_forgotten_post(per_minute: int):
    @post(
        "/mot-de-passe-oublie",
        name="password_forgotten_send",
        status_code=200,
        middleware=[reset_rate_limit(per_minute).middleware],
    )
    async def password_forgotten_send(
        request: Request, data: URLEncodedBody[dict[str, Any]]
    ) -> Template:
        form = ForgottenForm.bind(data)
        if not form.valid:
            return _forgotten(request, form, sent=False, status=422)
        # The answer never depends on the account: the look-up runs after the response is sent.
        response = _forgotten(request, Form(), sent=True)
        response.background = BackgroundTask(
            reset.issue_quietly, request.app.state.settings, form.cleaned["identifiant"]
        )
        return response

    return password_forgotten_send


def _reset_page(request: Request, token: str, form: Form, valid: bool, status: int = 200):
    return page_or_fragment(
        request,
        page="pages/accounts/reset.html",
        fragment="partials/accounts/reset_form.html",
        context={"form": form, "valid": valid, "token": token},
        status_code=status,
        headers={"Referrer-Policy": "no-referrer"},
    )


@get("/mot-de-passe-oublie/nouveau/{token:str}", name="password_reset")
async def password_reset(request: Request, token: FromPath[str]) -> Template:
    valid = await reset.valid_token(token) is not None
    return _reset_page(request, token, Form(), valid, 200 if valid else 410)


def password_reset_post(per_minute: int):
    @post(
        "/mot-de-passe-oublie/nouveau/{token:str}",
        name="password_reset_save",
        status_code=200,
        middleware=[reset_rate_limit(per_minute).middleware],
    )
    async def password_reset_save(
        request: Request, token: FromPath[str], data: URLEncodedBody[dict[str, Any]]
    ) -> Any:
        row = await reset.valid_token(token)
        if row is None:
            return _reset_page(request, token, Form(), False, 410)
        code = row["family_code"]
        form = NewPasswordForm.bind(data, forbidden=(code,) if code else ())
        if not form.valid:
            return _reset_page(request, token, form, True, 422)
        try:
            await reset.set_password(
                token, form.cleaned["nouveau_mot_de_passe"], request.app.state.passwords
            )
        except reset.TokenInvalid:
            return _reset_page(request, token, Form(), False, 410)
        # Not logged in on purpose (OWASP Forgot Password): the family signs in with it now.
        return redirect(
            request,
            request.app.route_reverse("family_login_page"),
            "Votre mot de passe a été changé. Connectez-vous avec le nouveau.",
        )

    return password_reset_save


def public_router(settings) -> Router:
    per_minute = settings.reset_rate_per_minute
    return Router(
        path="/",
        route_handlers=[
            password_forgotten,
            password_forgotten_post(per_minute),
            password_reset,
            password_reset_post(per_minute),
        ],
    )


# ---------------------------------------------------------------- family side


def _contact_page(request: Request) -> str:
    return request.app.route_reverse("family_contact")


@get("/coordonnees", name="family_contact")
async def family_contact(request: Request) -> Template:
    return page_or_fragment(
        request,
        page="pages/accounts/contact.html",
        fragment="partials/accounts/contact_details.html",
        context=await queries.contact_page(request.user.family_id),
    )


async def _guardian_or_404(request: Request, guardian_id: int) -> dict:
    guardian = await queries.guardian_of(request.user.family_id, guardian_id)
    if guardian is None:
        raise NotFoundException()
    return guardian


def _change_form(request: Request, guardian: dict, form: Form, status: int = 200) -> Template:
    return page_or_fragment(
        request,
        page="pages/accounts/contact_change.html",
        fragment="partials/accounts/contact_form.html",
        context={"guardian": guardian, "form": form, "fields": contact.FIELDS},
        status_code=status,
    )


@get("/coordonnees/{guardian_id:int}/modifier", name="family_contact_change")
async def family_contact_change(request: Request, guardian_id: FromPath[int]) -> Template:
    guardian = await _guardian_or_404(request, guardian_id)
    return _change_form(request, guardian, ContactChangeForm.of(guardian))


@post("/coordonnees/{guardian_id:int}/modifier", name="family_contact_submit", status_code=200)
async def family_contact_submit(
    request: Request, guardian_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    guardian = await _guardian_or_404(request, guardian_id)
    form = ContactChangeForm.bind(data, current=guardian)
    if not form.valid:
        return _change_form(request, guardian, form, status=422)
    await services.submit_change(request.user.family_id, guardian, form.cleaned)
    return redirect(
        request,
        _contact_page(request),
        "Votre demande a été envoyée. Le service la vérifiera avant de modifier vos "
        "coordonnées ; vous serez prévenu par courriel.",
    )


@post("/coordonnees/rappels", name="family_reminders", status_code=200)
async def family_reminders(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    enabled = RemindersForm.bind(data).cleaned["rappels"]
    await services.set_reminders(request.user.family_id, enabled)
    message = (
        "Vous recevrez un rappel par courriel avant chaque date limite de réservation."
        if enabled
        else "Vous ne recevrez plus de rappel avant les dates limites."
    )
    return redirect(request, _contact_page(request), message)


def _password_form(request: Request, form: Form, status: int = 200) -> Template:
    return page_or_fragment(
        request,
        page="pages/accounts/password.html",
        fragment="partials/accounts/password_form.html",
        context={"form": form},
        status_code=status,
    )


@get("/mot-de-passe", name="family_password")
async def family_password(request: Request) -> Template:
    return _password_form(request, Form())


@post("/mot-de-passe", name="family_password_save", status_code=200)
async def family_password_save(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    """A wrong current password counts like a failed login of the account, from this browser
    (ecp.auth.throttle): after a few, no password is checked until the wait is over."""
    user = request.user
    form = PasswordChangeForm.bind(data)
    attempt = await login.attempt_for_account(request, "family", user.family_id)
    try:
        result = await auth_services.change_password(
            attempt,
            request.app.state.passwords,
            current=form.cleaned["mot_de_passe_actuel"],
            new=form.cleaned["nouveau_mot_de_passe"],
            confirmation=form.cleaned["confirmation"],
        )
    except auth_services.TooManyAttempts as error:
        raise login.too_many(request, error.refusal, "family", user.family_id) from None
    if not result.done:
        if result.outcome:
            login.log_login(request, "family", f"password_change_{result.outcome}", user.family_id)
        form.file(result.errors)
        return _password_form(request, form, status=422)
    login.log_login(request, "family", "password_changed", user.family_id)
    response = redirect(
        request,
        _contact_page(request),
        "Votre mot de passe a été changé. Vos autres connexions ont été fermées.",
    )
    await login.fresh_session(request, response, "family", user.family_id)
    return response


@get("/premier-mot-de-passe", name="family_first_password", opt=FIRST_PASSWORD_OK)
async def family_first_password(request: Request) -> Any:
    return login.first_password_page(request, Form())


@post(
    "/premier-mot-de-passe",
    name="family_first_password_save",
    status_code=200,
    opt=FIRST_PASSWORD_OK,
)
async def family_first_password_save(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    """The family's own password in place of the welcome letter's, at the first login."""
    return await login.first_password_post(request, data)


@get("/mes-donnees", name="family_data")
async def family_data(request: Request) -> Template:
    data = await export.readable_data(request.user.family_id)
    return page_or_fragment(
        request,
        page="pages/accounts/my_data.html",
        fragment="partials/accounts/my_data.html",
        context={"data": data},
    )


@get("/mes-donnees.json", name="family_data_json")
async def family_data_json(request: Request) -> Response:
    data = await export.family_data(request.user.family_id)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    code = data["famille"].get("code", "famille")
    return Response(
        body,
        media_type="application/json; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="mes-donnees-{code}.json"'},
    )


@get("/mes-donnees.html", name="family_data_html")
async def family_data_html(request: Request) -> Template:
    """The same content as a standalone document to keep (no menu, no script)."""
    data = await export.readable_data(request.user.family_id)
    code = data["family"]["code"] or "famille"
    return Template(
        "pages/accounts/my_data_download.html",
        media_type="text/html",
        context={"data": data},
        headers={"Content-Disposition": f'attachment; filename="mes-donnees-{code}.html"'},
    )


def family_router(settings) -> Router:
    return Router(
        path="/",
        route_handlers=[
            family_contact,
            family_contact_change,
            family_contact_submit,
            family_reminders,
            family_password,
            family_password_save,
            family_first_password,
            family_first_password_save,
            family_data,
            family_data_json,
            family_data_html,
        ],
    )
