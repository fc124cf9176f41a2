"""Puts the Principal (or None) in scope["user"] for every request that is not a static file,
and the session's times in scope[sessions.SCOPE_KEY]: base.html tells the page how long the
session has left (it warns before the end), and each response says it again in the
ECP-Session-Remaining header, for the script to follow what htmx requests did to it."""

from __future__ import annotations

import datetime as dt

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from ecp.auth import sessions
from ecp.commune.setup_cache import SETUP

SKIP = ("/static/", "/healthz", "/theme.css", "/paiement/paybox/ipn")
REMAINING_HEADER = b"ecp-session-remaining"


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, _, v = part.strip().partition("=")
                if k == name:
                    return v
    return None


def _with_remaining(scope: Scope, send: Send) -> Send:
    async def sending(message: Message) -> None:
        times = scope.get(sessions.SCOPE_KEY)
        if message["type"] == "http.response.start" and times is not None:
            headers = list(message.get("headers") or [])
            # A handler that moved the session (« Rester connecté ») said it itself.
            if not any(key.lower() == REMAINING_HEADER for key, _ in headers):
                headers.append((REMAINING_HEADER, str(times.remaining_seconds()).encode()))
                message = {**message, "headers": headers}
        await send(message)

    return sending


def auth_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        version = None
        if scope["type"] == "http":
            scope["auth"] = None
            scope["user"] = None
            scope[sessions.SCOPE_KEY] = None
            if not scope.get("path", "").startswith(SKIP):
                settings = scope["litestar_app"].state.settings
                token = _cookie(scope, settings.cookie_name(sessions.COOKIE))
                scope["auth"] = token
                found = await sessions.resolve_session(
                    token,
                    idle=dt.timedelta(minutes=settings.session_idle_minutes),
                    absolute=dt.timedelta(hours=settings.session_absolute_hours),
                )
                scope["user"], version = found.principal, found.setup_version
                scope[sessions.SCOPE_KEY] = found.times
                send = _with_remaining(scope, send)
        # The session query read the set-up version; the cache alone makes use of it.
        with SETUP.current(version, scope.get("method")):
            await app(scope, receive, send)

    return middleware
