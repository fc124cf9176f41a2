"""The application factory: plugins, templates, security, stores and every feature's routes."""

from __future__ import annotations

import importlib
import importlib.util
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from litestar import Litestar
from litestar.config.allowed_hosts import AllowedHostsConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.plugins.htmx import HTMXPlugin
from litestar.static_files import create_static_files_router
from litestar.stores.memory import MemoryStore
from litestar.template.config import TemplateConfig

from ecp import db
from ecp.auth import routes as auth_routes
from ecp.auth.middleware import auth_middleware
from ecp.auth.passwords import Passwords
from ecp.families import routes as family_routes
from ecp.ops.logs import configure_logging, request_middleware
from ecp.ops.memory import tune_malloc
from ecp.pages import routes as page_routes
from ecp.resources import STATIC
from ecp.settings import Settings
from ecp.staff import routes as staff_routes
from ecp.web.errors import http_exception_handler, internal_error_handler
from ecp.web.limits import MAX_BODY_BYTES, body_limits_middleware
from ecp.web.params import path_params_middleware, reject_odd_static_path
from ecp.web.security import fetch_metadata_middleware, make_before_send
from ecp.web.template_engine import AppTemplateEngine
from ecp.web.templating import environment

STORE_NAMES = ("login_rate", "reset_rate", "action_rate")

# Each feature's `routes` module may define public_handlers(settings), family_handlers(settings)
# (mounted under /famille, families only) and staff_handlers(settings) (under /agents, staff only).
FEATURES = ("ecp.booking", "ecp.invoices", "ecp.payments", "ecp.mail", "ecp.accounts",
            "ecp.staff", "ecp.ops")


def _feature_handlers(settings: Settings) -> tuple[list, list, list]:
    public, family, staff = [], [], []
    for feature in FEATURES:
        if importlib.util.find_spec(feature) is None or importlib.util.find_spec(
                f"{feature}.routes") is None:
            continue
        module = importlib.import_module(f"{feature}.routes")
        for bucket, name in ((public, "public_handlers"), (family, "family_handlers"),
                             (staff, "staff_handlers")):
            factory = getattr(module, name, None)
            if factory is not None:
                bucket.extend(factory(settings))
    return public, family, staff


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


def _form_targets(settings: Settings) -> tuple[str, ...]:
    """Hosts forms may post to besides our own (the card payment page), for the CSP."""
    if importlib.util.find_spec("ecp.payments.config") is None:
        return ()
    module = importlib.import_module("ecp.payments.config")
    return tuple(getattr(module, "form_action_hosts", lambda s: ())(settings))


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

    public, family, staff = _feature_handlers(settings)
    app = Litestar(
        route_handlers=[
            *page_routes.route_handlers,
            *auth_routes.route_handlers(settings),
            *public,
            family_routes.router(family),
            staff_routes.router(staff),
            create_static_files_router(path="/static", directories=[STATIC],
                                       name="static", include_in_schema=False,
                                       before_request=reject_odd_static_path),
        ],
        plugins=[HTMXPlugin()],
        template_config=TemplateConfig(instance=AppTemplateEngine(
            environment(auto_reload=settings.debug), template_values)),
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name=settings.cookie_name("csrftoken"),
            cookie_secure=settings.https,
            cookie_samesite="lax",
            # A pattern is searched anywhere in the routed path: anchored, it names this one route.
            exclude=["^/paiement/paybox/ipn$"],
        ),
        # Size and field caps first: before CSRF parses the form, before anything else reads it.
        middleware=[body_limits_middleware, fetch_metadata_middleware, auth_middleware,
                    path_params_middleware],
        request_max_body_size=MAX_BODY_BYTES,
        before_send=[make_before_send(settings, _form_targets(settings))],
        exception_handlers={HTTPException: http_exception_handler, Exception: internal_error_handler},
        allowed_hosts=AllowedHostsConfig(allowed_hosts=_allowed_hosts(settings)),
        stores=_stores(settings),
        openapi_config=None,
        debug=settings.debug,
        # Ours (ecp.ops.logs, JSON) instead of Litestar's, which would replace the root handler.
        logging_config=None,
        lifespan=[lifespan],
        state=State({"settings": settings, "passwords": passwords}),
    )
    # Outside Litestar's middleware stack so that unrouted requests (404, bad host) also get a
    # request id, an access-log line and a metric.
    app.asgi_handler = request_middleware(app.asgi_handler)
    # Navigation shows a section only once its routes exist.
    template_values["route_names"] = frozenset(
        handler.name for route in app.routes for handler in getattr(route, "route_handlers", [])
        if handler.name
    )
    return app
