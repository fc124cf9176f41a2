"""Card payment routes: the family's pages, the Paybox notification, the local simulator and
the régisseur's reconciliation view, where an attempt without news is settled by hand."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Router, get, post, route
from litestar.background_tasks import BackgroundTask
from litestar.exceptions import NotFoundException
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Response, Template

from ecp.auth.guards import requires_role
from ecp.errors import Rejected
from ecp.payments import (
    counter_routes,
    mandate_routes,
    notifications,
    paybox,
    payfip,
    payfip_routes,
    regie_routes,
    services,
    simulator,
)
from ecp.payments.config import IPN_PATH, paybox_config
from ecp.payments.forms import (
    DEFAULT_PERIOD,
    PERIODS,
    RESULTS,
    AttemptResolutionForm,
    PaymentChoiceForm,
    ReconciliationForm,
    SimulatorCancelForm,
    SimulatorCardForm,
)
from ecp.payments.provider import provider_for, return_urls
from ecp.web.forms import Form, text
from ecp.web.htmx import page_or_fragment, redirect, wants_fragment
from ecp.web.security import client_ip
from ecp.web.templating import euros

RETURN_KINDS = {"effectue", "refuse", "annule", "attente"}
REFRESH_SECONDS = 3


def _settings(request: Request):
    return request.app.state.settings


def _config(request: Request):
    return paybox_config(_settings(request))


# --- Family: choose, start, follow ---------------------------------------------------------


async def _index_context(request: Request, form: Form) -> dict:
    family_id = request.user.family_id
    config = _config(request)
    invoices = await services.payable_invoices(family_id)
    providers = payfip.card_providers(_settings(request))
    return {
        "form": form,
        "invoices": invoices,
        "total_cents": sum(i["remaining_cents"] for i in invoices),
        "history": await services.history(family_id),
        "available": bool(providers),
        "providers": [(name, payfip.PROVIDER_LABELS[name]) for name in providers],
        "minimum_cents": config.minimum_cents,
    }


@get("/paiements", name="family_payments")
async def family_payments(request: Request) -> Template:
    context = await _index_context(request, PaymentChoiceForm())
    return page_or_fragment(
        request,
        page="pages/payments/index.html",
        fragment="partials/payments/invoice_choice.html",
        context=context,
    )


# Each start writes an attempt: a runaway client must not fill the table.
START_RATE = RateLimitConfig(rate_limit=("minute", 30), store="action_rate")


@post(
    "/paiements", name="family_payment_start", status_code=200, middleware=[START_RATE.middleware]
)
async def family_payment_start(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    family_id = request.user.family_id
    form = PaymentChoiceForm.bind(data)
    if len(form.cleaned["factures"]) != len(form.values["factures"]):
        raise NotFoundException()  # not an id: a forged form, not a typing mistake
    config = _config(request)
    try:
        reference, reused = await services.start_card_payment(
            family_id,
            form.cleaned["factures"],
            ready=config.ready,
            minimum_cents=config.minimum_cents,
            provider=form.cleaned["moyen"],
            providers=payfip.card_providers(_settings(request)),
        )
    except services.NotYours:
        raise NotFoundException() from None
    except Rejected as error:
        form.reject(error, "factures")
    else:
        message = (
            "Un paiement était déjà en cours pour ces factures : vous pouvez le poursuivre."
            if reused
            else None
        )
        return redirect(
            request,
            request.app.route_reverse("family_payment_attempt", reference=reference),
            message,
            kind="warning" if reused else "success",
        )
    context = await _index_context(request, form)
    return page_or_fragment(
        request,
        page="pages/payments/index.html",
        fragment="partials/payments/invoice_choice.html",
        context=context,
        status_code=422,
    )


def _return_path(reference: str) -> str:
    """The stem of family_payment_return's four addresses (ecp.payments.provider.return_urls
    adds the kind): written out because it is signed into the bank's form and checked as is by
    the simulator, not reversed from a route that has no such stem."""
    return f"/famille/paiements/{reference}/retour"


async def _attempt_or_404(request: Request, reference: str) -> dict:
    try:
        return await services.attempt_for_family(request.user.family_id, reference)
    except services.NotYours:
        raise NotFoundException() from None


@get("/paiements/{reference:str}", name="family_payment_attempt")
async def family_payment_attempt(request: Request, reference: FromPath[str]) -> Template:
    attempt = await _attempt_or_404(request, reference)
    redirect_form = None
    if attempt["open"] and attempt["provider"] != "payfip":  # PayFiP: family_payfip_go
        settings = _settings(request)
        payer = await services.payer_for(request.user.family_id)
        redirect_form = await provider_for(_config(request)).redirect(
            reference=reference,
            amount_cents=attempt["amount_cents"],
            payer=payer,
            base_url=settings.base_url,
            return_path=_return_path(reference),
        )
    return page_or_fragment(
        request,
        page="pages/payments/attempt.html",
        fragment="partials/payments/attempt_status.html",
        context={
            "attempt": attempt,
            "redirect_form": redirect_form,
            "polling": False,
            "status_url": request.app.route_reverse("family_payment_attempt", reference=reference),
        },
    )


@post("/paiements/{reference:str}/abandon", name="family_payment_abandon", status_code=200)
async def family_payment_abandon(request: Request, reference: FromPath[str]) -> Any:
    try:
        done = await services.abandon_attempt(request.user.family_id, reference)
    except services.NotYours:
        raise NotFoundException() from None
    message = (
        "Paiement abandonné. Aucune somme n’a été débitée."
        if done
        else "Ce paiement n’était plus en cours."
    )
    return redirect(
        request,
        request.app.route_reverse("family_payments"),
        message,
        kind="success" if done else "warning",
    )


@get("/paiements/{reference:str}/retour/{kind:str}", name="family_payment_return")
async def family_payment_return(
    request: Request, reference: FromPath[str], kind: FromPath[str]
) -> Any:
    """Where Paybox sends the browser back. Its query string is ignored on purpose: only the
    database, written by the signed notification, says whether anything was paid."""
    if kind not in RETURN_KINDS:
        raise NotFoundException()
    attempt = await _attempt_or_404(request, reference)
    url = request.app.route_reverse("family_payment_return", reference=reference, kind=kind)
    polling = attempt["status"] == paybox.PENDING and not attempt["overdue"]
    if polling and wants_fragment(request):
        # Nothing new: no swap, so screen readers do not hear the same sentence every poll.
        return Response(content=b"", status_code=204, headers={"Vary": "HX-Request"})
    return page_or_fragment(
        request,
        page="pages/payments/return.html",
        fragment="partials/payments/attempt_status.html",
        context={
            "attempt": attempt,
            "polling": polling,
            "status_url": url,
            "kind": kind,
            "refresh_seconds": REFRESH_SECONDS,
        },
    )


# --- Paybox notification -------------------------------------------------------------------


@route(IPN_PATH, http_method=["GET", "POST"], name="paybox_ipn", include_in_schema=False)
async def paybox_ipn(request: Request) -> Response:
    """Server to server, no session, no CSRF: its authenticity is the RSA signature alone
    (ecp.payments.notifications says what each answer means)."""
    settings = _settings(request)
    body = await request.body() if request.method == "POST" else b""
    answer = await notifications.receive(
        _config(request),
        method=request.method,
        raw_query=request.scope.get("query_string", b""),
        raw_body=body,
        source_ip=client_ip(request.scope, settings.trusted_proxies),
        throttle_store=request.app.stores.get("action_rate"),
    )
    headers = {"Retry-After": "60"} if answer.status in (429, 503) else None
    return Response(
        content=answer.body, status_code=answer.status, media_type="text/plain", headers=headers
    )


# --- Régisseur -----------------------------------------------------------------------------


@get("/paiements/rapprochement", name="staff_reconciliation", guards=[requires_role("regisseur")])
async def staff_reconciliation(request: Request, jours: FromQuery[str | None] = None) -> Template:
    form = ReconciliationForm.bind({"jours": jours or DEFAULT_PERIOD})
    status = 200 if form.valid else 422
    days = int(form.cleaned["jours"] if form.valid else DEFAULT_PERIOD)
    data = await services.reconciliation(days)
    return page_or_fragment(
        request,
        page="pages/payments/reconciliation.html",
        fragment="partials/payments/reconciliation_tables.html",
        context={"form": form, "periods": PERIODS, "data": data, "days": days},
        status_code=status,
    )


RESOLUTION_PAGE = "pages/payments/attempt_resolution.html"
RESOLUTION_FRAGMENT = "partials/payments/attempt_resolution.html"


async def _resolution_context(attempt_id: int, form: Form | None = None) -> dict:
    attempt = await services.attempt_for_resolution(attempt_id)
    if attempt is None:
        raise NotFoundException("Tentative introuvable")
    return {
        "attempt": attempt,
        "form": form
        or AttemptResolutionForm.initial(date=attempt["created_on"].strftime("%d/%m/%Y")),
        "results": RESULTS,
        "problem": None,
    }


@get(
    "/paiements/rapprochement/tentatives/{attempt_id:int}",
    name="staff_attempt_resolution",
    guards=[requires_role("regisseur")],
)
async def staff_attempt_resolution(request: Request, attempt_id: FromPath[int]) -> Template:
    return page_or_fragment(
        request,
        page=RESOLUTION_PAGE,
        fragment=RESOLUTION_FRAGMENT,
        context=await _resolution_context(attempt_id),
    )


@post(
    "/paiements/rapprochement/tentatives/{attempt_id:int}",
    name="staff_attempt_resolve",
    status_code=200,
    guards=[requires_role("regisseur")],
)
async def staff_attempt_resolve(
    request: Request, attempt_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    """The régisseur records what Paybox's back office shows for an attempt without news."""
    form = AttemptResolutionForm.bind(data)
    status, problem = 422, None
    if form.valid:
        try:
            result = await services.resolve_attempt(
                request.user,
                attempt_id,
                outcome=form.cleaned["resultat"],
                transaction=form.cleaned["transaction"],
                paid_on=form.cleaned["date"],
                note=form.cleaned["note"],
            )
        except services.AttemptNotFound:
            raise NotFoundException("Tentative introuvable") from None
        except services.AlreadySettled as error:
            status, problem = 409, error.message
        except Rejected as error:
            form.reject(error, default_field="resultat")
        else:
            return redirect(
                request,
                request.app.route_reverse("staff_reconciliation"),
                _resolved_message(result),
            )
    context = await _resolution_context(attempt_id, form)
    context["problem"] = problem
    return page_or_fragment(
        request,
        page=RESOLUTION_PAGE,
        fragment=RESOLUTION_FRAGMENT,
        context=context,
        status_code=status,
    )


def _resolved_message(result: dict) -> str:
    amount = euros(result["amount_cents"])
    if result["outcome"] == services.RESOLVED_FAILED:
        return f"Tentative {result['reference']} close en échec ({amount}) : rien n’a été encaissé."
    message = f"Paiement de {amount} enregistré pour la tentative {result['reference']}"
    if result["unallocated_cents"]:
        message += f", dont {euros(result['unallocated_cents'])} de trop-perçu à traiter"
    return message + " ; la famille reçoit son reçu par courriel."


# --- The simulator (never in production) ---------------------------------------------------


async def _own_form(request: Request, raw: bytes) -> dict[str, str] | None:
    """The PBX_* fields when they are a form this site made for one of its own attempts.

    The HMAC alone proves nothing here: the simulator's key is Paybox's published test key. So
    the simulator also requires an attempt of ours with that reference and amount, and return
    and notification URLs that are exactly ours; it then never signs a reply for anything else
    and only ever sends the browser back to this site.
    """
    config = _config(request)
    fields = paybox.check_form(raw, config.hmac_key)
    if fields is None:
        return None
    pbx = dict(fields)
    reference = pbx.get("PBX_CMD", "")
    amount = await services.attempt_amount(reference)
    if amount is None or pbx.get("PBX_TOTAL") != paybox.pbx_total(amount):
        return None
    base = _settings(request).base_url
    expected = return_urls(base, _return_path(reference))
    if any(pbx.get(name) != url for name, url in expected.items()):
        return None
    if pbx.get("PBX_REPONDRE_A") != base + IPN_PATH or pbx.get("PBX_RETOUR") != paybox.RETOUR:
        return None
    ours = {
        "PBX_SITE": config.site,
        "PBX_RANG": config.rang,
        "PBX_IDENTIFIANT": config.identifiant,
        "PBX_DEVISE": paybox.CURRENCY_EURO,
    }
    if any(pbx.get(name) != value for name, value in ours.items()):
        return None
    return pbx


def _simulator_page(
    request: Request, pbx: dict[str, str], raw: str, form: Form, status_code: int = 200
) -> Template:
    new_cookie = _ensure_csrf_token(request)
    response = Template(
        template_name="pages/payments/simulator.html",
        status_code=status_code,
        media_type="text/html",
        context={
            "pbx": pbx,
            "raw": raw,
            "form": form,
            "cards": simulator.CARDS,
            "ipn_modes": simulator.IPN_MODES,
            "amount_cents": int(pbx["PBX_TOTAL"]),
            "card_success": simulator.CARD_SUCCESS,
            "card_refused": simulator.CARD_REFUSED,
            "card_pending": simulator.CARD_PENDING,
            "late_seconds": simulator.LATE_SECONDS,
        },
    )
    if new_cookie:
        settings = _settings(request)
        response.set_cookie(
            key=settings.cookie_name("csrftoken"),
            value=new_cookie,
            path="/",
            secure=settings.https,
            samesite="lax",
            httponly=False,
        )
    return response


def _ensure_csrf_token(request: Request) -> str | None:
    """The entry route skips the CSRF middleware, which then leaves no token for the card form:
    reuse the portal's CSRF cookie (or mint one) so the card form is protected like any other."""
    from litestar.middleware.csrf import generate_csrf_token
    from litestar.utils.scope.state import ScopeState

    state = ScopeState.from_scope(request.scope)
    if isinstance(state.csrf_token, str) and state.csrf_token:
        return None
    settings = _settings(request)
    cookie = request.cookies.get(settings.cookie_name("csrftoken"))
    if cookie:
        state.csrf_token = cookie
        return None
    state.csrf_token = generate_csrf_token(secret=settings.secret_key)
    return state.csrf_token


def _refused_page() -> Template:
    return Template(
        template_name="pages/payments/simulator_refused.html",
        status_code=403,
        media_type="text/html",
        context={},
    )


@post(
    "/simulateur-paybox/paiement",
    name="simulator_entry",
    status_code=200,
    opt={"exclude_from_csrf": True},
    include_in_schema=False,
)
async def simulator_entry(request: Request) -> Template:
    """Receives the PBX_* form like Paybox: it only renders the card page (no state change),
    so, like the real bank page, it takes no CSRF token; see _own_form for what it checks."""
    raw = await request.body()
    pbx = await _own_form(request, raw)
    if pbx is None:
        return _refused_page()
    return _simulator_page(
        request, pbx, raw.decode("utf-8"), Form(values={"notification": "normal"})
    )


async def _deliver(config, reply: bytes, times: int = 1, delay: float = 0.0) -> None:
    """Calls the portal's notification logic in-process, as Paybox would call the IPN URL."""
    if delay:
        await asyncio.sleep(delay)
    provider = provider_for(config)
    for _ in range(times):
        note = provider.verify(method="GET", raw_query=reply, raw_body=b"")
        await services.handle_notification(note, source_ip="simulateur")


@post(
    "/simulateur-paybox/paiement/valider",
    name="simulator_pay",
    status_code=200,
    include_in_schema=False,
)
async def simulator_pay(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    config = _config(request)
    raw = text(data, "pbx", 20000)
    pbx = await _own_form(request, raw.encode("utf-8"))
    if pbx is None:
        return _refused_page()
    cancel = text(data, "action") == "annuler"
    form = (SimulatorCancelForm if cancel else SimulatorCardForm).bind(data)
    if not form.valid:
        return _simulator_page(request, pbx, raw, form, status_code=422)
    mode = form.cleaned["notification"]
    code = simulator.CANCEL_CODE if cancel else simulator.CARDS[form.cleaned["carte"]][0]
    # _own_form made sure this URL is one of ours; only its path and query are used, so the
    # redirect stays on this site (and works when the demo is browsed as localhost or
    # 127.0.0.1 whatever ECP_BASE_URL says).
    target = urlsplit(simulator.return_url(pbx, code))
    reply, browser = simulator.signed_replies(pbx, code, config.test_keys_dir, target.query)
    response = Redirect(path=f"{target.path}?{browser.decode('ascii')}", status_code=303)
    if mode == "normal":
        await _deliver(config, reply)
    elif mode == "double":
        await _deliver(config, reply, times=2)
    elif mode == "tardive":
        response.background = BackgroundTask(
            _deliver, config, reply, 1, float(simulator.LATE_SECONDS)
        )
    return response


# --- Registration --------------------------------------------------------------------------


def public_router(settings) -> Router:
    handlers = [paybox_ipn, *payfip_routes.public_handlers(settings)]
    if settings.payment_simulator and paybox_config(settings).simulator:
        handlers += [simulator_entry, simulator_pay]
    return Router(path="/", route_handlers=handlers)


def family_router(settings) -> Router:
    return Router(
        path="/",
        route_handlers=[
            family_payments,
            family_payment_start,
            family_payment_attempt,
            family_payment_abandon,
            family_payment_return,
            *payfip_routes.family_handlers(),
            *mandate_routes.family_handlers(),
        ],
    )


def staff_router(settings) -> Router:
    return Router(
        path="/",
        route_handlers=[
            staff_reconciliation,
            staff_attempt_resolution,
            staff_attempt_resolve,
            *counter_routes.handlers(),
            *regie_routes.handlers(),
            *mandate_routes.staff_handlers(),
        ],
    )
