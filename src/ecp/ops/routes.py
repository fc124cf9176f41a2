"""/metrics in the Prometheus text format, for the configured addresses only (404 otherwise)."""

from __future__ import annotations

import ipaddress

from litestar import Request, Router, get
from litestar.exceptions import NotFoundException
from litestar.response import Response

from ecp.ops.queries import database_gauges
from ecp.web.metrics import REGISTRY
from ecp.web.security import client_ip

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def allowed(address: str, networks: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for network in networks:
        try:
            if ip in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


@get("/metrics", name="metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    settings = request.app.state.settings
    if not allowed(client_ip(request.scope, settings.trusted_proxies), settings.metrics_allowed):
        # 404, not 403: the endpoint's existence is nobody else's business.
        raise NotFoundException()
    body = REGISTRY.render(await database_gauges())
    return Response(body, media_type=CONTENT_TYPE)


def public_router(settings) -> Router:
    return Router(path="/", route_handlers=[metrics])
