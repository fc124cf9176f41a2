"""Test helpers for booking: a query counter around the Piccolo engine."""

from __future__ import annotations

from contextlib import contextmanager

from ecp.db import engine


class QueryCounter:
    def __init__(self):
        self.queries: list[str] = []

    @property
    def count(self) -> int:
        return len(self.queries)


@contextmanager
def count_queries():
    """Counts every statement the app sends (ORM and raw) while the block runs."""
    cls = type(engine())  # the engine has __slots__: patch its class for the block
    original = cls.run_querystring
    counter = QueryCounter()

    async def counting(self, querystring, *args, **kwargs):
        counter.queries.append(str(querystring))
        return await original(self, querystring, *args, **kwargs)

    cls.run_querystring = counting
    try:
        yield counter
    finally:
        cls.run_querystring = original
