"""Security headers on every response (errors included) and the cross-site request check."""

from __future__ import annotations

from urllib.parse import urlsplit

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
    """Every response's security headers, in one pass over the headers the handler set (this
    runs on every response: building a header map and searching it for each of ten names cost
    more than the rest of a /healthz)."""
    csp = content_security_policy(form_targets)
    if settings.https:
        csp += "; upgrade-insecure-requests"
    fixed = [
        (b"content-security-policy", csp.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    ]
    if settings.https:
        fixed.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
    # Ours replace a handler's; Content-Type and Cache-Control are decided below.
    replaced = {name for name, _value in fixed} | {b"content-type", b"cache-control"}
    textual = tuple(t.encode() for t in TEXTUAL)

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        kept = []
        content_type = cache = None
        referrer = False
        for key, value in message.get("headers") or ():
            name = key.lower()
            if name in replaced:
                if name == b"content-type":
                    content_type = value
                elif name == b"cache-control":
                    cache = value
                continue
            # A handler may be stricter (the reset page carries its token in the URL).
            referrer = referrer or name == b"referrer-policy"
            kept.append((key, value))
        if content_type is None:
            content_type = b"text/plain; charset=utf-8"
        elif content_type.startswith(textual) and b"charset" not in content_type:
            content_type += b"; charset=utf-8"
        kept += fixed
        kept.append((b"content-type", content_type))
        if not referrer:
            kept.append((b"referrer-policy", b"same-origin"))
        if scope.get("path", "").startswith("/static/"):
            kept.append((b"cache-control", cache or b"public, max-age=86400"))
        else:
            # Pages carry children's names and invoices: never stored by a browser or proxy.
            kept.append((b"cache-control", b"no-store"))
        message["headers"] = kept

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
