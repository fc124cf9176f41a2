"""Forgotten password (public), and the family's own account: contact details, change requests,
deadline reminders, password change, 'mes données'."""

from __future__ import annotations

import json
import logging
from typing import Any

from litestar import Request, Router, get, post
from litestar.background_tasks import BackgroundTask
from litestar.exceptions import NotFoundException
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Response, Template

from ecp.accounts import contact, export, reset, services
from ecp.auth import services as auth_services
from ecp.auth.policy import password_problem
from ecp.auth.routes import attempt_for, fresh_session, log_login, too_many
from ecp.families.tables import Family
from ecp.web.forms import Form, raw, text
from ecp.web.htmx import page_or_fragment, redirect
from ecp.web.security import client_ip

log = logging.getLogger("ecp.accounts")

FORGOTTEN_DONE = (
    "Si ce code famille ou cette adresse correspond à un compte, un message "
    "vient d’être envoyé à l’adresse électronique de la famille. Il contient un "
    "lien valable une heure. Pensez à regarder dans les courriers indésirables."
)


def _identifier(request: Request) -> str:
    return client_ip(request.scope, request.app.state.settings.trusted_proxies)


def reset_rate_limit(per_minute: int) -> RateLimitConfig:
    return RateLimitConfig(
        rate_limit=("minute", per_minute), store="reset_rate", identifier_for_request=_identifier
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


async def _issue_quietly(settings, identifier: str) -> None:
    try:
        await reset.issue_for_identifier(settings, identifier)
    except Exception:  # noqa: BLE001 - the visitor already has the answer; keep it in the logs
        log.exception("password reset e-mail could not be queued")


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
        identifier = text(data, "identifiant", 200)
        if not identifier:
            form = Form()
            form.error("identifiant", "Saisissez votre code famille ou votre adresse électronique.")
            return _forgotten(request, form, sent=False, status=422)
        # The answer never depends on the account: the look-up runs after the response is sent.
        response = _forgotten(request, Form(), sent=True)
        response.background = BackgroundTask(_issue_quietly, request.app.state.settings, identifier)
        return response

    return password_forgotten_send


def _reset_page(request: Request, token: str, form: Form, valid: bool, status: int = 200):
    return page_or_fragment(
        request,
        page="pages/accounts/reset.html",
        fragment="partials/accounts/reset_form.html",
        context={"form": form, "valid": valid, "token": token, "action": f"{reset.PATH}{token}"},
        status_code=status,
        headers={"Referrer-Policy": "no-referrer"},
    )


@get(f"{reset.PATH}{{token:str}}", name="password_reset")
async def password_reset(request: Request, token: FromPath[str]) -> Template:
    valid = await reset.valid_token(token) is not None
    return _reset_page(request, token, Form(), valid, 200 if valid else 410)


def password_reset_post(per_minute: int):
    @post(
        f"{reset.PATH}{{token:str}}",
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
        new, confirmation = raw(data, "nouveau_mot_de_passe", 300), raw(data, "confirmation", 300)
        form = Form()
        code = await Family.select(Family.code).where(Family.id == row["family"]).first()
        problem = password_problem(new, forbidden=(code["code"],) if code else ())
        if not new:
            form.error("nouveau_mot_de_passe", "Choisissez un nouveau mot de passe.")
        elif problem:
            form.error("nouveau_mot_de_passe", problem)
        elif new != confirmation:
            form.error("confirmation", "Les deux mots de passe saisis sont différents.")
        if not form.valid:
            return _reset_page(request, token, form, True, 422)
        try:
            await reset.use_token(token, await request.app.state.passwords.hash(new))
        except reset.TokenInvalid:
            return _reset_page(request, token, Form(), False, 410)
        # Not logged in on purpose (OWASP Forgot Password): the family signs in with it now.
        return redirect(
            request,
            "/connexion",
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


async def _contact_context(request: Request) -> dict:
    family_id = request.user.family_id
    family = (
        await Family.select(Family.id, Family.code, Family.name, Family.email, Family.reminders)
        .where(Family.id == family_id)
        .first()
    )
    return {
        "family": family,
        "guardians": await services.guardians(family_id),
        "requests": await services.requests_for(family_id),
        "fields": contact.FIELDS,
    }


@get("/coordonnees", name="family_contact")
async def family_contact(request: Request) -> Template:
    return page_or_fragment(
        request,
        page="pages/accounts/contact.html",
        fragment="partials/accounts/contact_details.html",
        context=await _contact_context(request),
    )


async def _guardian_or_404(request: Request, guardian_id: int) -> dict:
    guardian = await services.guardian_of(request.user.family_id, guardian_id)
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
    form = Form(values={name: guardian.get(name) or "" for name in contact.FIELDS})
    return _change_form(request, guardian, form)


@post("/coordonnees/{guardian_id:int}/modifier", name="family_contact_submit", status_code=200)
async def family_contact_submit(
    request: Request, guardian_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    guardian = await _guardian_or_404(request, guardian_id)
    cleaned = contact.clean(data, guardian)
    form = Form(values=cleaned.values)
    for name, message in cleaned.errors.items():
        form.error(name, message)
    changes = contact.differences(cleaned.values, guardian) if form.valid else {}
    if form.valid and not changes:
        form.error(
            "address_line1",
            "Vous n’avez modifié aucune information : changez au moins "
            "un champ avant d’envoyer la demande.",
        )
    if not form.valid:
        return _change_form(request, guardian, form, status=422)
    await services.submit_change(request.user.family_id, guardian, changes)
    return redirect(
        request,
        "/famille/coordonnees",
        "Votre demande a été envoyée. Le service la vérifiera avant de modifier vos "
        "coordonnées ; vous serez prévenu par courriel.",
    )


@post("/coordonnees/rappels", name="family_reminders", status_code=200)
async def family_reminders(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    enabled = text(data, "rappels") == "oui"
    await services.set_reminders(request.user.family_id, enabled)
    message = (
        "Vous recevrez un rappel par courriel avant chaque date limite de réservation."
        if enabled
        else "Vous ne recevrez plus de rappel avant les dates limites."
    )
    return redirect(request, "/famille/coordonnees", message)


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
    row = await auth_services.account_row("family", user.code)
    attempt = attempt_for(request, "family", user.code, row)
    result = await auth_services.change_password(
        attempt,
        request.app.state.passwords,
        current=raw(data, "mot_de_passe_actuel", 300),
        new=raw(data, "nouveau_mot_de_passe", 300),
        confirmation=raw(data, "confirmation", 300),
    )
    if result.refusal is not None:
        raise too_many(request, result.refusal, "family", user.family_id)
    if not result.done:
        if result.outcome:
            log_login(request, "family", f"password_change_{result.outcome}", user.family_id)
        form = Form()
        for name in ("mot_de_passe_actuel", "nouveau_mot_de_passe", "confirmation"):
            if name in result.errors:
                form.error(name, result.errors[name])
        return _password_form(request, form, status=422)
    log_login(request, "family", "password_changed", user.family_id)
    response = redirect(
        request,
        "/famille/coordonnees",
        "Votre mot de passe a été changé. Vos autres connexions ont été fermées.",
    )
    await fresh_session(request, response, "family", user.family_id)
    return response


@get("/mes-donnees", name="family_data")
async def family_data(request: Request) -> Template:
    data = await export.family_data(request.user.family_id)
    return page_or_fragment(
        request,
        page="pages/accounts/my_data.html",
        fragment="partials/accounts/my_data.html",
        context={"data": data, "labels": export.SECTION_LABELS},
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
    data = await export.family_data(request.user.family_id)
    code = data["famille"].get("code", "famille")
    return Template(
        "pages/accounts/my_data_download.html",
        media_type="text/html",
        context={"data": data, "labels": export.SECTION_LABELS},
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
            family_data,
            family_data_json,
            family_data_html,
        ],
    )
