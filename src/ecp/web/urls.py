"""Internal addresses by route name, for code that runs outside a request.

Handlers reverse a route with `request.app.route_reverse(name, **params)` and templates with
`url_for(name, **params)`; mail notices, reminders and jobs have no request, so they ask this
module, which reads the routes of the app that create_app built last (every app of a process
has the same routes). A command-line run that never built an app builds one here, once."""

from __future__ import annotations

from typing import Any

from litestar import Litestar

_app: Litestar | None = None


def bind(app: Litestar) -> None:
    global _app
    _app = app


def path(name: str, /, **params: Any) -> str:
    """The path of a named route, e.g. path("family_invoice", ref="F-2026-000123")."""
    global _app
    if _app is None:
        from ecp.app import create_app

        _app = create_app()
    return _app.route_reverse(name, **params)


def absolute(base_url: str, name: str, /, **params: Any) -> str:
    """The address as a family opens it from an e-mail: the portal's base URL and the path."""
    return base_url.rstrip("/") + path(name, **params)
