"""Rate-limit stores on Redis that fall back to this process's memory while Redis is away.

The counters only slow down brute force: refusing a family's login or booking tap because Redis
restarted would be worse than counting, for a moment, per process instead of across workers.
So each store tries Redis first and, on a connection error or a timeout, answers from a
MemoryStore of its own; the warning is logged once per outage, not per request.

What reconnects at once when Redis comes back (checked against redis-py 8, see the tests):
redis-py keeps its pooled connections after Redis dies, and without a retry (the default of
Redis.from_url) the first command on each stale one fails with "Connection closed by server".
One immediate retry (Retry(NoBackoff(), 1)) reconnects that connection and succeeds, so the
first request after Redis returns counts in Redis again. health_check_interval does not help:
it only pings connections idle for longer than the interval.

Short socket timeouts keep a Redis that does not answer (host down, packets dropped) from
holding requests for redis-py's default 5 s per attempt; after such a timeout Redis is left
alone for COOLDOWN seconds, so only one request per cooldown pays it. A refused connection
costs nothing, so it is retried on every request: no cooldown, nothing to wait for when Redis
is back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from litestar.stores.base import NamespacedStore
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore

from ecp.web.metrics import REGISTRY

log = logging.getLogger("ecp.redis")

# Seconds. Redis answers in well under a millisecond on a LAN; a quarter of a second is a dead
# server, not a slow one. Twice per command at most (one retry).
TIMEOUT = 0.25
COOLDOWN = 5.0

REGISTRY.describe(
    "ecp_redis_errors_total",
    "counter",
    "Redis commands that failed (refused, reset or timed out), this process.",
)
REGISTRY.describe(
    "ecp_rate_limit_fallback_total",
    "counter",
    "Rate-limit store operations answered from this process's memory because "
    "Redis was unavailable.",
)


def _down_errors() -> tuple[type[BaseException], ...]:
    from redis.exceptions import RedisError

    # RedisError: connection, timeout, busy loading, read-only replica after a failover...
    # whatever Redis says, a rate limit is not worth refusing a family for.
    return (RedisError, OSError)


def _is_timeout(exc: BaseException) -> bool:
    from redis.exceptions import TimeoutError as RedisTimeout

    return isinstance(exc, (RedisTimeout, TimeoutError))


class RedisLink:
    """The process's Redis client for the rate-limit stores, and whether Redis is down."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = TIMEOUT,
        cooldown: float = COOLDOWN,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # Options in the URL (?socket_timeout=...) still win over these: redis-py lets the
        # URL's query override keyword arguments.
        self.client = Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 1)
        )
        self.cooldown = cooldown
        self.now = now
        self.down_since: float | None = None
        self._skip_until = 0.0
        self._memories: list[MemoryStore] = []

    def usable(self) -> bool:
        return self.now() >= self._skip_until

    def failed(self, exc: BaseException) -> None:
        timeout = _is_timeout(exc)
        REGISTRY.inc("ecp_redis_errors_total", kind="timeout" if timeout else "connexion")
        if timeout:
            self._skip_until = self.now() + self.cooldown
        if self.down_since is None:
            self.down_since = self.now()
            log.warning(
                "redis unavailable: rate limits counted in this process until it returns",
                extra={"error": type(exc).__name__},
            )

    async def succeeded(self) -> None:
        if self.down_since is None:
            return
        log.info(
            "redis available again", extra={"down_seconds": round(self.now() - self.down_since, 1)}
        )
        self.down_since = None
        self._skip_until = 0.0
        # Redis counts again from here; the outage's counters must not resurface at the next.
        for memory in self._memories:
            await memory.delete_all()

    async def available(self) -> bool:
        """For /healthz: a PING, unless a timeout just said Redis does not answer."""
        if not self.usable():
            return False
        try:
            await self.client.ping()
        except _down_errors() as exc:
            self.failed(exc)
            return False
        await self.succeeded()
        return True

    def memory(self) -> MemoryStore:
        memory = MemoryStore()
        self._memories.append(memory)
        return memory


class FallbackStore(NamespacedStore):
    """A RedisStore that answers from memory while Redis is unavailable."""

    __slots__ = ("link", "redis", "memory")

    def __init__(self, link: RedisLink, namespace: str) -> None:
        self.link = link
        self.namespace = namespace
        self.redis = RedisStore(link.client, namespace=namespace)
        self.memory = link.memory()

    async def _call(self, operation: str, *args, **kwargs):
        if self.link.usable():
            try:
                result = await getattr(self.redis, operation)(*args, **kwargs)
            except _down_errors() as exc:
                self.link.failed(exc)
            else:
                await self.link.succeeded()
                return result
        REGISTRY.inc("ecp_rate_limit_fallback_total", store=self.namespace)
        return await getattr(self.memory, operation)(*args, **kwargs)

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        await self._call("set", key, value, expires_in)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        return await self._call("get", key, renew_for)

    async def delete(self, key: str) -> None:
        await self._call("delete", key)

    async def delete_all(self) -> None:
        await self._call("delete_all")

    async def exists(self, key: str) -> bool:
        return await self._call("exists", key)

    async def expires_in(self, key: str) -> int | None:
        return await self._call("expires_in", key)

    def with_namespace(self, namespace: str) -> FallbackStore:
        return FallbackStore(self.link, f"{self.namespace}_{namespace}")


def redis_stores(url: str, names: tuple[str, ...]) -> dict[str, FallbackStore]:
    """One client (and one outage state) for all of them: one warning per outage."""
    link = RedisLink(url)
    return {name: FallbackStore(link, namespace=f"ecp:{name}") for name in names}


async def redis_health(app, store_name: str = "login_rate") -> str:
    """« ok », « indisponible », or « desactive » when the stores are in memory only."""
    store = app.stores.get(store_name)
    if not isinstance(store, FallbackStore):
        return "desactive"
    return "ok" if await store.link.available() else "indisponible"
