"""Security headers on every response (errors included) and the cross-site request check."""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import PermissionDeniedException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
TEXTUAL = (
    "text/",
    "application/json",
    "application/javascript",
    "application/xml",
    "image/svg+xml",
)
# Paybox calls this server to server: its authenticity is its RSA signature, not a cookie.
CROSS_SITE_ALLOWED = ("/paiement/paybox/ipn",)


def content_security_policy(form_targets: tuple[str, ...] = ()) -> str:
    form_action = " ".join(("'self'", *form_targets))
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        f"frame-ancestors 'none'; form-action {form_action}"
    )


def make_before_send(settings, form_targets: tuple[str, ...] = ()):
    csp = content_security_policy(form_targets)
    if settings.https:
        csp += "; upgrade-insecure-requests"

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        headers["Content-Security-Policy"] = csp
        content_type = headers.get("Content-Type")
        if content_type is None:
            headers["Content-Type"] = "text/plain; charset=utf-8"
        elif content_type.startswith(TEXTUAL) and "charset" not in content_type:
            headers["Content-Type"] = f"{content_type}; charset=utf-8"
        headers["X-Content-Type-Options"] = "nosniff"
        # A handler may be stricter (the reset page carries its token in the URL: no-referrer).
        headers.setdefault("Referrer-Policy", "same-origin")
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
        if settings.https:
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        path = scope.get("path", "")
        if path.startswith("/static/"):
            headers.setdefault("Cache-Control", "public, max-age=86400")
        else:
            # Pages carry children's names and invoices: never stored by a browser or proxy.
            headers["Cache-Control"] = "no-store"

    return before_send


def fetch_metadata_middleware(app: ASGIApp) -> ASGIApp:
    """Refuse unsafe requests that a browser says come from another site (defence in depth)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE:
            path = scope.get("path", "")
            # The routed path (trailing slash already stripped): only this exact route.
            if path not in CROSS_SITE_ALLOWED:
                headers = {
                    k.decode("latin-1").lower(): v.decode("latin-1")
                    for k, v in scope.get("headers", [])
                }
                site = headers.get("sec-fetch-site")
                if site == "cross-site":
                    raise PermissionDeniedException("Requête intersite refusée")
                origin = headers.get("origin")
                if origin and origin != "null":
                    host = headers.get("host", "")
                    if urlsplit(origin).netloc != host:
                        raise PermissionDeniedException("Origine refusée")
        await app(scope, receive, send)

    return middleware


def client_ip(scope: Scope, trusted_proxies: tuple[str, ...] = ()) -> str:
    """The peer address; X-Forwarded-For is believed only from a configured proxy."""
    peer = (scope.get("client") or ("unknown", 0))[0]
    if peer in trusted_proxies:
        for key, value in scope.get("headers", []):
            if key.lower() == b"x-forwarded-for":
                hops = [h.strip() for h in value.decode("latin-1").split(",") if h.strip()]
                if hops:
                    return hops[-1]
    return peer
