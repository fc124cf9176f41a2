"""The commune's set-up cached per process, valid while the database's setup_version holds.

`setup_version` is one row that database triggers change with any change to the set-up (see
migration 2026-11-29T21:40). `SETUP` is its only reader: the session query every request runs
carries the version as one more column (VERSION_COLUMN, so no query of its own), and the auth
middleware hands it straight to `SETUP.current(version, method)` for the request. `get`/`put`
use the cache only while a request holds a version it may trust: a safe request (GET, HEAD)
trusts it at once; an unsafe one opts in (`trust()`) only where it reads the set-up before
writing, as the booking toggle does. Outside a request (CLI, jobs, tests calling services)
nothing is cached and the set-up is always read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

SAFE_METHODS = frozenset({"GET", "HEAD"})


class SetupCache:
    """One cached value per process, keyed by the set-up version the current request saw."""

    # The version as a scalar subquery: a column any statement can carry.
    VERSION_COLUMN = "(SELECT v.version FROM setup_version v WHERE v.id = 1)"

    def __init__(self, name: str = "ecp_setup") -> None:
        self._seen: ContextVar[int | None] = ContextVar(f"{name}_seen", default=None)
        self._trusted: ContextVar[bool] = ContextVar(f"{name}_trusted", default=False)
        self._entry: tuple[int, Any] | None = None

    @contextmanager
    def current(self, version: int | None, method: str | None) -> Iterator[None]:
        """For the duration of one request: the version its session query read (None without
        a session), trusted at once when the request is safe."""
        seen = self._seen.set(version)
        trusted = self._trusted.set(method in SAFE_METHODS)
        try:
            yield
        finally:
            self._trusted.reset(trusted)
            self._seen.reset(seen)

    def trust(self) -> None:
        """An unsafe request that reads the set-up before it writes may use the cache too: the
        version is as fresh as at the request's start, and the writes re-check what matters."""
        self._trusted.set(True)

    def version(self) -> int | None:
        """The version get/put work under now, or None (read the database)."""
        return self._seen.get() if self._trusted.get() else None

    def get(self) -> Any | None:
        version, entry = self.version(), self._entry
        if version is None or entry is None or entry[0] != version:
            return None
        return entry[1]

    def put(self, value: Any) -> None:
        version = self.version()
        if version is not None:
            self._entry = (version, value)


SETUP = SetupCache()
