"""The commune's set-up cached per process, valid while the database's setup_version holds.

The session query of every request also reads `setup_version` (a row that database triggers
change with any change to the set-up, see migration 2026-11-29T21:40). The auth middleware
puts it in a context variable for the request; `get`/`put` use the cache only when it is set.
Safe requests trust it automatically; an unsafe one opts in (`trust`) only where it reads the
set-up before writing, as the booking toggle does. Outside a request (CLI, jobs, tests calling
services) nothing is cached.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

_VERSION: ContextVar[int | None] = ContextVar("ecp_setup_version", default=None)
_cached: tuple[int, Any] | None = None

SAFE_METHODS = frozenset({"GET", "HEAD"})


@contextmanager
def request_version(scope: dict, version: int | None) -> Iterator[None]:
    """For the duration of one request: the version the session query saw."""
    scope["setup_version"] = version
    token = _VERSION.set(version if scope.get("method") in SAFE_METHODS else None)
    try:
        yield
    finally:
        _VERSION.reset(token)


def trust(scope: dict) -> None:
    """An unsafe request that reads the set-up before it writes may use the cache too."""
    _VERSION.set(scope.get("setup_version"))


def get() -> Any | None:
    version = _VERSION.get()
    if version is None or _cached is None or _cached[0] != version:
        return None
    return _cached[1]


def put(value: Any) -> None:
    global _cached
    version = _VERSION.get()
    if version is not None:
        _cached = (version, value)
