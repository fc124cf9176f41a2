"""Caps on what one request may send, checked before anything parses it; NUL bytes dropped.

Parsing a URL-encoded form costs about 2 µs a field and runs on the event loop: a few megabytes
of `a=&a=&…` would hold the only worker for seconds, before CSRF, authentication or any rate
limit had a say. Counting separators in the raw bytes costs a hundred times less, so the body is
read (up to the size cap), counted, then handed on.

A NUL byte cannot be typed in a form and PostgreSQL refuses it in any text value: it is removed
from the query string and from URL-encoded bodies here, once, rather than in every handler.
"""

from __future__ import annotations

import asyncio
import re

from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.types import ASGIApp, Message, Receive, Scope, Send

# The largest real forms: the pointage of one list (one radio group per child, about
# 22 bytes each: a list of every child of a 15,000-child commune stays under 400 kB and
# 15,005 fields), the week calendar (a few hundred boxes) and the Paybox notification (a dozen
# parameters). Both caps leave more than twice that room.
MAX_BODY_BYTES = 1_000_000
MAX_FIELDS = 20_000

# A refused body is still read (and thrown away, neither kept nor parsed) up to this size and
# for at most this long before the 413 goes out. A server that answers and closes while the
# client is still sending makes the client's kernel receive a reset, which discards the 413
# before the browser reads it: the parent would see « connexion interrompue » instead of the
# page that says what was too big. Reading costs the network, not the event loop; beyond these
# bounds the answer goes out at once and the client may indeed see a reset.
DRAIN_MAX_BYTES = 16_000_000
DRAIN_MAX_SECONDS = 5.0

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_NUL = re.compile(rb"%00|\x00")


def strip_nul(raw: bytes) -> bytes:
    return _NUL.sub(b"", raw) if b"%00" in raw or b"\x00" in raw else raw


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value
    return None


def _boundary(content_type: bytes) -> bytes | None:
    for part in content_type.split(b";")[1:]:
        key, _, value = part.strip().partition(b"=")
        if key.lower() == b"boundary" and value:
            return value.strip(b'"')
    return None


def count_fields(content_type: bytes, body: bytes) -> int:
    """How many fields the parser would build, counted without parsing."""
    media = content_type.split(b";")[0].strip().lower()
    if media == b"multipart/form-data":
        boundary = _boundary(content_type)
        # Each part opens with a delimiter line; the closing one is not a field.
        return max(body.count(b"--" + boundary) - 1, 0) if boundary else 0
    if media == b"application/x-www-form-urlencoded":
        # Litestar splits on "&" only (parse_qsl with separator="&").
        return body.count(b"&") + 1 if body else 0
    return 0


async def drain(receive: Receive, already: int, limit: int = DRAIN_MAX_BYTES) -> bool:
    """Read what is left of a refused body without keeping it, within the drain bounds.

    False when the client left meanwhile: nobody is waiting for the 413 then."""
    size = already
    try:
        async with asyncio.timeout(DRAIN_MAX_SECONDS):
            while size <= limit:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return False
                size += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return True
    except TimeoutError:
        pass
    return True


def body_limits_middleware(
    app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, max_fields: int = MAX_FIELDS
) -> ASGIApp:
    """413 for a body over `max_bytes` or a form (or query string) over `max_fields` fields."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        query = scope.get("query_string") or b""
        if query.count(b"&") + 1 > max_fields:
            raise RequestEntityTooLarge("Trop de paramètres")
        scope["query_string"] = strip_nul(query)
        if scope["method"] not in BODY_METHODS:
            await app(scope, receive, send)
            return
        announced = _header(scope, b"content-length")
        # An announced size over the cap is refused without a byte of the body being kept;
        # what is read is only drained so that the answer reaches the client.
        if (
            announced is not None
            and announced.isascii()
            and announced.isdigit()
            and int(announced) > max_bytes
        ):
            if int(announced) <= DRAIN_MAX_BYTES and not await drain(receive, 0):
                return
            raise RequestEntityTooLarge("Corps de requête trop volumineux")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left mid-body: nobody is waiting for an answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                chunks.clear()
                if message.get("more_body", False) and not await drain(receive, size):
                    return
                raise RequestEntityTooLarge("Corps de requête trop volumineux")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = _header(scope, b"content-type") or b""
        if count_fields(content_type, body) > max_fields:
            raise RequestEntityTooLarge("Trop de champs")
        if content_type.split(b";")[0].strip().lower() == b"application/x-www-form-urlencoded":
            body = strip_nul(body)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await app(scope, replay, send)

    return middleware
