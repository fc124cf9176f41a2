"""Counting the SQL queries a request makes (opt-in: ECP_COUNT_QUERIES=1).

`install()` wraps the Piccolo engine's `run_querystring`, through which every ORM and raw query
passes (inside or outside a transaction); BEGIN/COMMIT are not counted. The count is kept per
asyncio task tree in a context variable, so concurrent requests do not mix their counts.
`count_queries_middleware` puts the count in an `X-Query-Count` response header; the bench's probe
uses `counting()` in-process instead, so the app needs no change for the bench to count.
"""

from __future__ import annotations

import contextvars
import os
from contextlib import contextmanager

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

_counter: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "ecp_query_counter", default=None)
_installed: set[type] = set()


def install(engine=None) -> None:
    from ecp import db

    # Engines define __slots__: the method is wrapped on the class (every engine of that kind).
    cls = type(engine or db.engine())
    if cls in _installed:
        return
    original = cls.run_querystring

    async def run_querystring(self, querystring, *args, **kwargs):
        box = _counter.get()
        if box is not None:
            box[0] += 1
        return await original(self, querystring, *args, **kwargs)

    cls.run_querystring = run_querystring
    _installed.add(cls)


@contextmanager
def counting():
    """`with counting() as box: ...; box[0]` is the number of queries run meanwhile."""
    box = [0]
    token = _counter.set(box)
    try:
        yield box
    finally:
        _counter.reset(token)


def enabled() -> bool:
    return os.environ.get("ECP_COUNT_QUERIES", "") in ("1", "true", "yes")


def count_queries_middleware(app: ASGIApp) -> ASGIApp:
    """Adds X-Query-Count to every response when ECP_COUNT_QUERIES=1, else passes through."""
    if not enabled():
        return app
    install()

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        with counting() as box:
            async def counted_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    MutableScopeHeaders.from_message(message)["X-Query-Count"] = str(box[0])
                await send(message)

            await app(scope, receive, counted_send)

    return middleware
