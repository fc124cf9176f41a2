"""PayFiP routes: going to PayFiP's page for an attempt, the browser's return, PayFiP's
notification, and the local simulator (SOAP endpoint with its WSDL, payment page).

Nothing here marks anything paid by itself: the return and the notification only make the
portal ask PayFiP, server to server (ecp.payments.payfip_services).
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
from litestar import Request, get, post, route
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Response, Template

from ecp.errors import Rejected
from ecp.payments import payfip, payfip_services, payfip_simulator, refusals, services
from ecp.payments.forms import PayfipSimulatorForm
from ecp.web.forms import Form, text
from ecp.web.htmx import redirect
from ecp.web.security import client_ip

log = logging.getLogger("ecp.payments")


def _settings(request: Request):
    return request.app.state.settings


@asynccontextmanager
async def _client(request: Request):
    settings = _settings(request)
    http = payfip.http_client(settings, request.app)
    client = payfip.Client(payfip.payfip_config(settings), http)
    try:
        yield client
    finally:
        client.close()
        await http.aclose()


# --- Family --------------------------------------------------------------------------------


@post("/paiements/{reference:str}/payfip", name="family_payfip_go", status_code=200)
async def family_payfip_go(request: Request, reference: FromPath[str]) -> Any:
    """Opens (or reuses) the PayFiP operation of this attempt and sends the browser to
    PayFiP's page; PayFiP unreachable: back to the attempt page, saying nothing was paid."""
    settings = _settings(request)
    attempt_url = request.app.route_reverse("family_payment_attempt", reference=reference)
    try:
        async with _client(request) as client:
            id_op = await payfip_services.open_operation(
                client,
                client.config,
                request.user.family_id,
                reference,
                base_url=settings.base_url,
                commune=settings.commune_name,
            )
    except services.NotYours:
        raise NotFoundException() from None
    except Rejected as error:
        return redirect(request, attempt_url, error.message, kind="error")
    except (payfip.PayfipFault, httpx.HTTPError) as error:
        log.warning("PayFiP creerPaiementSecurise failed: %s", error)
        return redirect(request, attempt_url, payfip_services.UNAVAILABLE, kind="error")
    target = payfip.payment_page(client.config, id_op)
    if request.headers.get("HX-Request"):
        from litestar.plugins.htmx import ClientRedirect

        return ClientRedirect(redirect_to=target)
    return Redirect(path=target, status_code=303)


@get("/paiements/{reference:str}/payfip/retour", name="family_payfip_return")
async def family_payfip_return(request: Request, reference: FromPath[str]) -> Any:
    """PayFiP's urlredirect. Whatever the browser brings is ignored: the portal asks PayFiP
    about the attempt's operation, then shows the same return page as for Paybox."""
    try:
        async with _client(request) as client:
            kind = await payfip_services.settle_attempt(client, request.user.family_id, reference)
    except services.NotYours:
        raise NotFoundException() from None
    except (payfip.PayfipFault, httpx.HTTPError) as error:
        log.warning("PayFiP detail on return failed: %s", error)
        kind = "attente"
    return Redirect(
        path=request.app.route_reverse("family_payment_return", reference=reference, kind=kind),
        status_code=303,
    )


# --- PayFiP's notification -----------------------------------------------------------------


def _id_op(request: Request, body: bytes) -> str:
    from urllib.parse import parse_qs

    for raw in (body, request.scope.get("query_string", b"")):
        values = parse_qs(raw.decode("ascii", errors="replace")[:2000])
        for name in ("idop", "idOp", "IDOP"):
            if values.get(name):
                return values[name][0][:64]
    return ""


@route(
    payfip.NOTIFY_PATH,
    http_method=["GET", "POST"],
    name="payfip_notification",
    opt={"exclude_from_csrf": True},
    include_in_schema=False,
)
async def payfip_notification(request: Request) -> Response:
    """Server to server, no session, no CSRF: it only names an idOp, which the portal then
    looks up with PayFiP itself. 200 once applied; 403 for an idOp this site never opened;
    503 when PayFiP cannot be asked (the return page or a later notification will ask again)."""
    settings = _settings(request)
    body = await request.body() if request.method == "POST" else b""
    source = client_ip(request.scope, settings.trusted_proxies)

    async def throttled() -> bool:
        return await refusals.over_limit(request.app.stores.get("action_rate"), source)

    try:
        async with _client(request) as client:
            settled = await payfip_services.settle_operation(
                client, _id_op(request, body), source_ip=source, throttle=throttled
            )
    except httpx.HTTPError as error:
        log.warning("PayFiP detail failed after a notification: %s", error)
        return Response(content="indisponible", status_code=503, headers={"Retry-After": "60"})
    status = settled.http_status
    headers = {"Retry-After": "60"} if status == 429 else None
    return Response(
        content="OK" if status == 200 else "refused", status_code=status, headers=headers
    )


# --- The simulator (never in production) ---------------------------------------------------


def _xml(content: bytes, status: int = 200) -> Response:
    return Response(content=content, status_code=status, media_type="text/xml")


@route(
    payfip.SIMULATOR_SERVICE_PATH,
    http_method=["GET", "POST"],
    name="payfip_simulator_service",
    opt={"exclude_from_csrf": True},
    include_in_schema=False,
)
async def payfip_simulator_service(request: Request) -> Response:
    """The simulator's SOAP endpoint: `?wsdl` gives the WSDL; a POST is a SOAP call."""
    settings = _settings(request)
    config = payfip.payfip_config(settings)
    if request.method == "GET":
        return _xml(payfip_simulator.wsdl_text(config.service_url))
    try:
        operation, fields = payfip_simulator.read_request(await request.body())
    except payfip_simulator.SoapRequestError as error:
        return _xml(payfip_simulator.fault("format", str(error)), 500)
    try:
        if operation == "creerPaiementSecurise":
            id_op = await payfip_simulator.create(config, settings.base_url, fields)
            return _xml(payfip_simulator.answer(operation, {"idOp": id_op}))
        if operation == "recupererDetailPaiementSecurise":
            values = await payfip_simulator.detail(fields.get("idOp", ""))
            return _xml(payfip_simulator.answer(operation, values))
    except payfip_simulator.Refused as refused:
        return _xml(payfip_simulator.fault(refused.code, refused.label), 500)
    return _xml(payfip_simulator.fault("format", "opération inconnue"), 500)


def _page(request: Request, operation: dict, form: Form, status_code: int = 200) -> Template:
    return Template(
        template_name="pages/payments/payfip_simulator.html",
        status_code=status_code,
        media_type="text/html",
        context={
            "operation": operation,
            "form": form,
            "notify_modes": payfip_simulator.NOTIFY_MODES,
            "return_path": urlsplit(operation["urlredirect"]).path,
        },
    )


def _unknown() -> Template:
    return Template(
        template_name="pages/payments/payfip_simulator_refused.html",
        status_code=404,
        media_type="text/html",
        context={},
    )


@get(payfip.SIMULATOR_PAGE_PATH, name="payfip_simulator_page", include_in_schema=False)
async def payfip_simulator_page(request: Request, idop: FromQuery[str] = "") -> Template:
    operation = await payfip_simulator.operation(idop)
    if operation is None:
        return _unknown()
    return _page(request, operation, Form(values={"notification": "normal"}))


@post(
    payfip.SIMULATOR_PAGE_PATH,
    name="payfip_simulator_decide",
    status_code=200,
    include_in_schema=False,
)
async def payfip_simulator_decide(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    """The tester's choice: the operation's result is set, PayFiP's notification is delivered
    in process (the portal then asks this simulator's SOAP endpoint, as it would DGFiP), and
    the browser goes back to the portal (path only: never to another site)."""
    id_op = text(data, "idop", 64)
    operation = await payfip_simulator.operation(id_op)
    if operation is None:
        return _unknown()
    form = PayfipSimulatorForm.bind(data)
    if not form.valid:
        return _page(request, operation, form, status_code=422)
    operation = await payfip_simulator.decide(id_op, form.cleaned["choix"])
    times = {"normal": 1, "double": 2, "aucune": 0}[form.cleaned["notification"]]
    if times:
        async with _client(request) as client:
            for _ in range(times):
                await payfip_services.settle_operation(client, id_op, source_ip="simulateur")
    return Redirect(path=urlsplit(operation["urlredirect"]).path, status_code=303)


def family_handlers() -> list:
    return [family_payfip_go, family_payfip_return]


def public_handlers(settings) -> list:
    """PayFiP's notification URL only when the commune offers PayFiP; the simulator only with
    the simulator on (never in production: Settings.production_problems)."""
    if "payfip" not in settings.payment_providers:
        return []
    handlers = [payfip_notification]
    if settings.payment_simulator:
        handlers += [payfip_simulator_service, payfip_simulator_page, payfip_simulator_decide]
    return handlers
