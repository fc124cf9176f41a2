"""SetupCache: the one object that reads setup_version and decides when the cached set-up may
serve (the request-level behaviour is in tests/web/booking/test_setup_cache.py)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from ecp.auth.sessions import RESOLVE_SQL
from ecp.commune.setup_cache import SETUP, SetupCache

SRC = Path(__file__).resolve().parents[3] / "src" / "ecp"


def test_a_value_serves_only_requests_that_saw_its_version():
    cache = SetupCache("unit_a")
    with cache.current(3, "GET"):
        assert cache.version() == 3 and cache.get() is None
        cache.put("set-up v3")
        assert cache.get() == "set-up v3"
    with cache.current(3, "HEAD"):
        assert cache.get() == "set-up v3"
    with cache.current(4, "GET"):  # the set-up changed since: read again, then keep the new one
        assert cache.get() is None
        cache.put("set-up v4")
    with cache.current(3, "GET"):  # a request that started before the change
        assert cache.get() is None
    with cache.current(None, "GET"):  # no session, so no version: never cached
        cache.put("anonymous")
        assert cache.version() is None and cache.get() is None
    with cache.current(4, "GET"):
        assert cache.get() == "set-up v4"


def test_an_unsafe_request_trusts_only_after_opting_in_and_only_for_itself():
    cache = SetupCache("unit_b")
    with cache.current(5, "POST"):
        assert cache.version() is None
        cache.trust()
        assert cache.version() == 5
    with cache.current(5, "POST"):  # the next one starts untrusted again
        assert cache.version() is None
    cache.trust()  # outside a request there is no version to trust
    assert cache.version() is None


async def test_concurrent_requests_keep_their_own_version():
    cache = SetupCache("unit_c")
    seen: dict[str, int | None] = {}

    async def request(name: str, version: int, method: str) -> None:
        with cache.current(version, method):
            await asyncio.sleep(0)  # let the other request run in between
            seen[name] = cache.version()

    await asyncio.gather(request("get", 1, "GET"), request("post", 2, "POST"))
    assert seen == {"get": 1, "post": None}


def test_setup_cache_is_the_only_reader_of_setup_version():
    readers = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if re.search(
            r"from\s+setup_version|SetupVersion\.(select|objects|raw)",
            path.read_text(),
            re.IGNORECASE,
        )
    ]
    assert readers == ["commune/setup_cache.py"]
    # The session query carries the version only as the cache's own column.
    assert f"{SetupCache.VERSION_COLUMN} AS setup_version" in RESOLVE_SQL
    assert isinstance(SETUP, SetupCache)
