"""Counting the SQL queries a request makes (the bench's probe, in-process).

`install()` wraps the Piccolo engine's `run_querystring`, through which every ORM and raw query
passes (inside or outside a transaction); BEGIN/COMMIT are not counted. The count is kept per
asyncio task tree in a context variable, so concurrent requests do not mix their counts.
The bench's probe uses `counting()` around each request, so the app needs no change for the
bench to count.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager

_counter: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "ecp_query_counter", default=None
)
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
