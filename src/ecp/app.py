"""The application factory: plugins, templates, security, stores and every feature's routes."""

from __future__ import annotations

from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from litestar import Litestar, Router
from litestar.config.allowed_hosts import AllowedHostsConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.plugins.htmx import HTMXPlugin
from litestar.static_files import create_static_files_router
from litestar.stores.memory import MemoryStore
from litestar.template.config import TemplateConfig

from ecp import db
from ecp.accounts import routes as accounts
from ecp.auth import routes as auth
from ecp.auth.guards import requires_family, requires_staff
from ecp.auth.middleware import auth_middleware
from ecp.auth.passwords import Passwords
from ecp.backoffice import routes as backoffice
from ecp.booking import routes as booking
from ecp.finance import routes as finance
from ecp.invoices import routes as invoices
from ecp.mail import routes as mail
from ecp.ops import routes as ops
from ecp.ops.memory import tune_malloc
from ecp.pages import routes as pages
from ecp.payments import routes as payments
from ecp.payments.config import form_action_hosts
from ecp.resources import STATIC
from ecp.settings import Settings
from ecp.web import urls
from ecp.web.errors import http_exception_handler, internal_error_handler
from ecp.web.limits import MAX_BODY_BYTES, body_limits_middleware
from ecp.web.logs import configure_logging, request_middleware
from ecp.web.params import path_params_middleware, reject_odd_static_path
from ecp.web.security import fetch_metadata_middleware, make_before_send
from ecp.web.template_engine import AppTemplateEngine
from ecp.web.templating import environment

STORE_NAMES = ("login_rate", "reset_rate", "action_rate")

# Every feature, listed once. A feature's routes module builds one Router per side: public,
# family (mounted under /famille behind requires_family) and staff (under /agents behind
# requires_staff). Route names are global, so templates and redirects reverse them (url_for).
PUBLIC_ROUTERS = (
    pages.public_router,
    auth.public_router,
    accounts.public_router,
    booking.public_router,
    payments.public_router,
    ops.public_router,
)
FAMILY_ROUTERS = (
    pages.family_router,
    booking.family_router,
    invoices.family_router,
    payments.family_router,
    finance.family_router,
    accounts.family_router,
)
STAFF_ROUTERS = (
    backoffice.staff_router,
    booking.staff_router,
    invoices.staff_router,
    payments.staff_router,
    finance.staff_router,
    mail.staff_router,
)


def _routers(settings: Settings) -> list[Router]:
    family = Router(
        path="/famille",
        guards=[requires_family],
        route_handlers=[build(settings) for build in FAMILY_ROUTERS],
    )
    staff = Router(
        path="/agents",
        guards=[requires_staff],
        route_handlers=[build(settings) for build in STAFF_ROUTERS],
    )
    return [*(build(settings) for build in PUBLIC_ROUTERS), family, staff]


def _stores(settings: Settings) -> dict:
    if settings.redis_url:
        from ecp.web.stores import redis_stores

        # Shared across workers, and per process for as long as Redis is unavailable.
        return redis_stores(settings.redis_url, STORE_NAMES)
    return {name: MemoryStore() for name in STORE_NAMES}


def _allowed_hosts(settings: Settings) -> list[str]:
    """Litestar matches the Host header with its port, so both forms are listed."""
    if settings.allowed_hosts:
        return list(settings.allowed_hosts)
    parts = urlsplit(settings.base_url)
    names = [parts.hostname or "localhost"]
    if not settings.is_production:
        names += ["127.0.0.1", "localhost"]
    hosts = set(names)
    if parts.port:
        hosts |= {f"{name}:{parts.port}" for name in names}
    return sorted(hosts)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    problems = settings.production_problems()
    if problems:
        raise RuntimeError("Configuration refusée en production : " + " ".join(problems))

    configure_logging(settings)
    tune_malloc()
    # Filled in below; the shared environment's globals stay the same for every app.
    template_values = {
        "branding": {"commune": settings.commune_name, "logo": settings.logo_path},
        "accessibility_status": settings.accessibility_status,
    }
    passwords = Passwords(settings.password_profile, settings.hash_concurrency)

    @asynccontextmanager
    async def lifespan(app: Litestar):
        async with db.pool():
            runner = None
            if settings.jobs_enabled:
                from ecp.ops.jobs import JobRunner, default_jobs

                runner = JobRunner(settings, default_jobs(settings))
                app.state.job_runner = runner
                await runner.start()
            try:
                yield
            finally:
                if runner is not None:
                    await runner.stop()
                from ecp.invoices import pdf_process

                pdf_process.shutdown()

    app = Litestar(
        route_handlers=[
            *_routers(settings),
            create_static_files_router(
                path="/static",
                directories=[STATIC],
                name="static",
                include_in_schema=False,
                before_request=reject_odd_static_path,
            ),
        ],
        plugins=[HTMXPlugin()],
        template_config=TemplateConfig(
            instance=AppTemplateEngine(environment(auto_reload=settings.debug), template_values)
        ),
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name=settings.cookie_name("csrftoken"),
            cookie_secure=settings.https,
            cookie_samesite="lax",
            # A pattern is searched anywhere in the routed path: anchored, it names this one route.
            exclude=["^/paiement/paybox/ipn$"],
        ),
        # Size and field caps first: before CSRF parses the form, before anything else reads it.
        middleware=[
            body_limits_middleware,
            fetch_metadata_middleware,
            auth_middleware,
            path_params_middleware,
        ],
        request_max_body_size=MAX_BODY_BYTES,
        before_send=[make_before_send(settings, form_action_hosts(settings))],
        exception_handlers={
            HTTPException: http_exception_handler,
            Exception: internal_error_handler,
        },
        allowed_hosts=AllowedHostsConfig(allowed_hosts=_allowed_hosts(settings)),
        stores=_stores(settings),
        openapi_config=None,
        debug=settings.debug,
        # Ours (ecp.web.logs, JSON) instead of Litestar's, which would replace the root handler.
        logging_config=None,
        lifespan=[lifespan],
        state=State({"settings": settings, "passwords": passwords}),
    )
    # Outside Litestar's middleware stack so that unrouted requests (404, bad host) also get a
    # request id, an access-log line and a metric.
    app.asgi_handler = request_middleware(app.asgi_handler)
    urls.bind(app)
    return app
