"""Structured JSON logs (structlog) with a request id, and the request middleware that writes
the access log and the HTTP metrics.

No personal data and no secret (docs/security.md H1-H3): the access log names the route *template*
(never the raw path, which may hold a reset or calendar token, nor the query string); values
under sensitive keys are dropped and e-mail addresses in any string are masked, as a net under
the rule that callers log ids, never codes, addresses or passwords.
"""

from __future__ import annotations

import logging
import re
import secrets
import sys
import time

import structlog
from structlog.contextvars import bind_contextvars, reset_contextvars

from ecp.web.metrics import REGISTRY

SENSITIVE_KEYS = frozenset(
    {
        "password",
        "mot_de_passe",
        "passwd",
        "secret",
        "token",
        "csrf",
        "_csrf_token",
        "cookie",
        "authorization",
        "code",
        "code_famille",
        "identifiant",
        "username",
        "email",
        "to",
        "to_address",
        "address",
        "phone",
        "signature",
    }
)
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_HANDLER_NAME = "ecp-json"


def _clean(value):
    if isinstance(value, str):
        # Masked addresses; control characters escaped so a value cannot forge a log line. The
        # plain tests first: every request logs a few strings, and almost none needs a regex
        # (an address needs an "@"; a control character is never printable).
        if "@" in value:
            value = EMAIL_RE.sub("[email]", value)
        if not value.isprintable():
            value = CONTROL_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
        return value
    if isinstance(value, dict):
        return {
            k: ("[masqué]" if str(k).lower() in SENSITIVE_KEYS else _clean(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def redact(_logger, _method, event_dict: dict) -> dict:
    return {
        k: ("[masqué]" if k.lower() in SENSITIVE_KEYS else _clean(v)) for k, v in event_dict.items()
    }


def _drop_formatter_leftovers(_logger, _method, event_dict: dict) -> dict:
    # Another handler's Formatter may have set these on the stdlib record already.
    event_dict.pop("message", None)
    event_dict.pop("asctime", None)
    return event_dict


def _shared_processors() -> list:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def formatter(log_format: str = "json") -> logging.Formatter:
    renderer = (
        structlog.dev.ConsoleRenderer(colors=False)
        if log_format == "console"
        else structlog.processors.JSONRenderer(ensure_ascii=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            *_shared_processors(),
            structlog.stdlib.ExtraAdder(),
            _drop_formatter_leftovers,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
    )


def configure_logging(settings) -> None:
    """Idempotent: every process (and every create_app in tests) ends with one JSON handler."""
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    # No record says where it was logged from, nor its thread or process: the JSON lines never
    # show them, and finding the caller's frame is a fair share of a request's logging.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stdout)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter(settings.log_format))
    root.addHandler(handler)
    root.setLevel(getattr(logging, settings.log_level, logging.INFO))
    # httpx logs every URL it calls at INFO (query strings included): warnings only.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


access_log = structlog.get_logger("ecp.access")


def actor(scope) -> str | None:
    """A pseudonymous actor: the account's numeric id, never its code or name."""
    user = scope.get("user")
    if user is None:
        return None
    if getattr(user, "family_id", None):
        return f"famille:{user.family_id}"
    if getattr(user, "staff_id", None):
        return f"agent:{user.staff_id}"
    return None


def request_middleware(app):
    """Wraps the whole ASGI handler (routing included, so 404s are counted too)."""

    async def middleware(scope, receive, send):
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        incoming = None
        for key, value in scope.get("headers", []):
            if key == b"x-request-id":
                incoming = value.decode("latin-1")
        request_id = (
            incoming if incoming and REQUEST_ID_RE.match(incoming) else (secrets.token_hex(8))
        )
        scope.setdefault("state", {})["request_id"] = request_id
        tokens = bind_contextvars(request_id=request_id)
        status = {"code": 500}
        start = time.perf_counter()

        echo = request_id == incoming

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                # The proxy's id goes back to it; an id of our own stays in the logs, so that
                # otherwise identical answers (login failures) do not differ by a header.
                if echo:
                    message["headers"] = [
                        *message.get("headers", []),
                        (b"x-request-id", request_id.encode()),
                    ]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("path_template") or "non_routee"
            if route.startswith("/static"):
                route = "/static"
            code = str(status["code"])
            REGISTRY.inc(
                "ecp_http_requests_total", route=route, method=scope["method"], status=code
            )
            REGISTRY.observe("ecp_http_request_duration_seconds", elapsed, route=route)
            access_log.info(
                "request",
                method=scope["method"],
                route=route,
                status=status["code"],
                duration_ms=round(elapsed * 1000, 1),
                actor=actor(scope),
            )
            reset_contextvars(**tokens)

    return middleware
