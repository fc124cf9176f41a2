"""Puts the Principal (or None) in scope["user"] for every request that is not a static file."""

from __future__ import annotations

import datetime as dt

from litestar.types import ASGIApp, Receive, Scope, Send

from ecp.auth import sessions
from ecp.commune.setup_cache import SETUP

SKIP = ("/static/", "/healthz", "/theme.css", "/paiement/paybox/ipn")


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, _, v = part.strip().partition("=")
                if k == name:
                    return v
    return None


def auth_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        version = None
        if scope["type"] == "http":
            scope["auth"] = None
            scope["user"] = None
            if not scope.get("path", "").startswith(SKIP):
                settings = scope["litestar_app"].state.settings
                token = _cookie(scope, settings.cookie_name(sessions.COOKIE))
                scope["auth"] = token
                scope["user"], version = await sessions.resolve_with_setup_version(
                    token,
                    idle=dt.timedelta(minutes=settings.session_idle_minutes),
                    absolute=dt.timedelta(hours=settings.session_absolute_hours),
                )
        # The session query read the set-up version; the cache alone makes use of it.
        with SETUP.current(version, scope.get("method")):
            await app(scope, receive, send)

    return middleware
