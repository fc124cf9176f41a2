"""Redis stopped under the rate limits (ECP_REDIS_URL set): logins, booking taps and reset
requests still work, counted in this process's memory; /healthz says Redis is down but stays a
200; the very first request after Redis is back counts in Redis again. Against a redis-server
this test starts, kills and restarts itself on the same port."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time

import pytest
import redis

from ecp import clock
from ecp.web.metrics import REGISTRY
from tests import booking_factories as bf
from tests.conftest import make_client
from tests.support import post_form

URL = "/famille/reservations"
WRONG_PASSWORD = 422  # the login form back with its error
CYCLES = 7


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        assert self.binary, "redis-server is installed on the CI machine"
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:  # ready when it answers, not after a guessed delay
            try:
                if self.client.ping():
                    return
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.01)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.client.connection_pool.disconnect()

    def keys(self, store: str) -> list[bytes]:
        return self.client.keys(f"ecp:{store}:*")


@pytest.fixture
def redis_server():
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def redis_app(settings, redis_server):
    from ecp.app import create_app

    # Generous limits: this test counts where the counters go, not when they trip.
    return create_app(
        settings.with_(
            redis_url=redis_server.url, login_rate_per_minute=1000, reset_rate_per_minute=1000
        )
    )


def _fallbacks() -> dict[str, float]:
    return {
        store: REGISTRY.value("ecp_rate_limit_fallback_total", store=f"ecp:{store}")
        for store in ("login_rate", "action_rate", "reset_rate")
    }


def _records(lines: list[str], logger: str) -> list[dict]:
    return [r for r in map(json.loads, lines) if r.get("logger") == logger]


async def _login(client):
    return await post_form(
        client, "/connexion", {"code_famille": "F00001", "mot_de_passe": "demo-famille-1"}
    )


async def _reset_request(client) -> None:
    reset = await post_form(
        client, "/mot-de-passe-oublie", {"identifiant": "F00001"}, from_page="/mot-de-passe-oublie"
    )
    assert reset.status_code == 200 and "un message vient d’être envoyé" in reset.text


async def _family_actions(client, commune, lea) -> None:
    """Log in, tap a booking, ask for a reset link: what the outage refused to families."""
    login = await _login(client)
    assert login.status_code == 303 and login.headers["location"] == "/famille/"
    cantine = commune.activities["restauration"].id
    for action in ("reserver", "annuler"):
        tap = await post_form(
            client,
            URL,
            {
                "enfant": lea.id,
                "activite": cantine,
                "jour": bf.MONDAY.isoformat(),
                "action": action,
                "semaine": bf.WEEK,
            },
            from_page=f"{URL}?semaine={bf.WEEK}",
            headers={"HX-Request": "true"},
        )
        assert tap.status_code == 200, tap.text[:300]
        assert "<html" not in tap.text
    await _reset_request(client)


async def test_redis_killed_and_restarted_seven_times(redis_app, redis_server, captured_logs):
    clock.set_now(bf.NOW)
    commune = await bf.make_commune()
    _family, (lea, _hugo) = await bf.make_family_with_children(commune)

    async with make_client(redis_app) as client:
        for cycle in range(CYCLES):
            redis_server.client.flushdb()
            await _family_actions(client, commune, lea)
            # Requests at the same time: several pooled connections, all stale after a restart.
            await asyncio.gather(*[_reset_request(client) for _ in range(4)])
            for store in ("login_rate", "action_rate", "reset_rate"):
                assert redis_server.keys(store), (cycle, store)
            health = await client.get("/healthz")
            assert health.status_code == 200 and health.json()["redis"] == "ok"

            # A quick restart (systemd, a failover) with no request meanwhile: the pooled
            # connections are all stale, none has failed yet.
            redis_server.kill()
            redis_server.start()
            fallbacks = _fallbacks()
            await asyncio.gather(*[_reset_request(client) for _ in range(4)])
            first = await _login(client)
            assert first.status_code == 303, (cycle, first.status_code)
            assert redis_server.keys("reset_rate"), f"cycle {cycle}: resets not in Redis"
            assert redis_server.keys("login_rate"), f"cycle {cycle}: login not in Redis"
            assert _fallbacks() == fallbacks, f"cycle {cycle}: a stale connection failed"

            # A longer outage, with families using the portal meanwhile.
            redis_server.kill()
            fallback_before = REGISTRY.value(
                "ecp_rate_limit_fallback_total", store="ecp:login_rate"
            )
            await _family_actions(client, commune, lea)
            assert (
                REGISTRY.value("ecp_rate_limit_fallback_total", store="ecp:login_rate")
                > fallback_before
            )
            health = await client.get("/healthz")
            assert health.status_code == 200, health.text
            assert health.json()["redis"] == "indisponible"
            assert health.json()["status"] == "degrade"
            assert health.json()["database"] == "ok"

            redis_server.start()  # same port, empty: every key in it is new
            assert not redis_server.keys("login_rate")
            fallbacks = _fallbacks()
            first = await _login(client)
            assert first.status_code == 303, (cycle, first.status_code)
            assert redis_server.keys("login_rate"), f"cycle {cycle}: first login not in Redis"
            assert _fallbacks() == fallbacks, f"cycle {cycle}: first login counted in memory"
            health = await client.get("/healthz")
            assert health.status_code == 200 and health.json()["redis"] == "ok"
            assert health.json()["status"] == "ok"

    # One warning per outage, not one per request, and never a traceback.
    redis_lines = _records(captured_logs, "ecp.redis")
    warnings = [r for r in redis_lines if r["level"] == "warning"]
    assert len(warnings) == CYCLES
    assert {r["error"] for r in warnings} <= {"ConnectionError"}
    assert [r["event"] for r in redis_lines if r["level"] == "info"] == [
        "redis available again"
    ] * CYCLES
    assert not any("exception" in r for r in map(json.loads, captured_logs))
    assert not _records(captured_logs, "ecp.errors")


async def test_rate_limit_still_trips_per_process_while_redis_is_down(settings, redis_server):
    from ecp.app import create_app

    app = create_app(settings.with_(redis_url=redis_server.url, login_rate_per_minute=3))
    redis_server.kill()
    async with make_client(app) as client:
        statuses = []
        for _ in range(4):
            response = await post_form(
                client, "/connexion", {"code_famille": "F99999", "mot_de_passe": "faux"}
            )
            statuses.append(response.status_code)
    # Families are not refused because of Redis, brute force still is.
    assert statuses == [WRONG_PASSWORD] * 3 + [429]
    assert "Trop de tentatives" in response.text


class _Silent:
    """A server that accepts connections and never answers: a hung Redis or a host whose
    packets vanish. redis-py would wait 5 s per attempt by default."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)  # the kernel completes the handshakes; nobody reads
        self.url = f"redis://127.0.0.1:{self.socket.getsockname()[1]}/0"

    def close(self) -> None:
        self.socket.close()


@pytest.fixture
def silent_redis():
    server = _Silent()
    try:
        yield server
    finally:
        server.close()


async def test_a_redis_that_does_not_answer_costs_one_short_timeout_per_cooldown(
    settings, silent_redis
):
    from ecp.app import create_app
    from ecp.web import stores

    app = create_app(settings.with_(redis_url=silent_redis.url))
    link = app.stores.get("login_rate").link
    now = [1000.0]
    link.now = lambda: now[0]  # the cooldown's clock, in our hands

    def timeouts() -> float:
        return REGISTRY.value("ecp_redis_errors_total", kind="timeout")

    async def login():
        return await post_form(
            client, "/connexion", {"code_famille": "F99999", "mot_de_passe": "faux"}
        )

    async with make_client(app) as client:
        before = timeouts()
        started = time.monotonic()
        first = await login()
        elapsed = time.monotonic() - started
        assert first.status_code == WRONG_PASSWORD
        assert timeouts() == before + 1
        # Two attempts of TIMEOUT each at most, far from redis-py's default 5 s per attempt.
        assert elapsed < 4 * stores.TIMEOUT + 1.0, elapsed

        # Inside the cooldown: nobody waits for Redis, /healthz included.
        assert (await login()).status_code == WRONG_PASSWORD
        health = await client.get("/healthz")
        assert health.status_code == 200 and health.json()["redis"] == "indisponible"
        assert timeouts() == before + 1

        now[0] += stores.COOLDOWN + 0.1
        assert (await login()).status_code == WRONG_PASSWORD
        assert timeouts() == before + 2
