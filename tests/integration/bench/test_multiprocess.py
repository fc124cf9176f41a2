"""Several app processes on one PostgreSQL database and one Redis: they share sessions and rate
limits, and nothing else. Two `ecp serve` processes run on two ports (PostgreSQL pass only)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.conftest import DATABASE_URL
from tests.factories import make_family

pytestmark = pytest.mark.postgres_only

ROOT = Path(__file__).resolve().parents[3]
# Its own Redis database (14) on the test server, so that flushing it touches nobody else's keys.
REDIS_URL = urlunsplit(
    urlsplit(os.environ.get("ECP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))._replace(path="/14")
)
CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')
RATE = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(port: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECP_")}
    env.update(
        {
            "ECP_DATABASE_URL": DATABASE_URL,
            "ECP_REDIS_URL": REDIS_URL,
            "ECP_BASE_URL": f"http://127.0.0.1:{port}",
            "ECP_PASSWORD_PROFILE": "test",
            "ECP_LOGIN_RATE_PER_MINUTE": str(RATE),
            "ECP_JOBS": "0",
            "PYTHONPATH": str(ROOT / "src"),
        }
    )
    with open(log, "w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ecp.cli", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def two_servers():
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    workdir = Path(tempfile.mkdtemp(prefix="ecp-multi-"))
    ports = [_free_port(), _free_port()]
    processes = [_start(port, workdir / f"server-{port}.log") for port in ports]
    try:
        for port, process in zip(ports, processes):
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    logs = (workdir / f"server-{port}.log").read_text()[-3000:]
                    raise RuntimeError(f"server on {port} did not start:\n{logs}")
                time.sleep(0.2)
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            _stop(process)
        redis.Redis.from_url(REDIS_URL).flushdb()
    assert all(p.poll() is not None for p in processes)


async def _post_login(client: httpx.AsyncClient, code: str, password: str) -> httpx.Response:
    page = await client.get("/connexion")
    token = CSRF_RE.search(page.text).group(1)
    return await client.post(
        "/connexion", data={"code_famille": code, "mot_de_passe": password, "_csrf_token": token}
    )


async def test_a_family_logged_in_on_one_process_is_logged_in_on_the_other(two_servers):
    await make_family(code="F00042", password="un-mot-de-passe-solide", name="Benali")
    first, second = two_servers
    async with httpx.AsyncClient(base_url=first) as a:
        response = await _post_login(a, "F00042", "un-mot-de-passe-solide")
        assert response.status_code == 303
        cookies = {c.name: c.value for c in a.cookies.jar}
    assert "ecp_session" in cookies

    async with httpx.AsyncClient(base_url=second, cookies=cookies) as b:
        home = await b.get("/famille/")
        assert home.status_code == 200
        assert "Benali" in home.text
        # Logging out on the second process ends the session on the first one too.
        token = CSRF_RE.search(home.text).group(1)
        out = await b.post("/deconnexion", data={"_csrf_token": token})
        assert out.status_code == 303

    async with httpx.AsyncClient(base_url=first, cookies=cookies) as a:
        again = await a.get("/famille/")
        assert again.status_code == 303
        assert again.headers["location"].startswith("/connexion")


async def test_the_login_rate_limit_counts_across_both_processes(two_servers):
    first, second = two_servers
    statuses = []
    async with httpx.AsyncClient(base_url=first) as a, httpx.AsyncClient(base_url=second) as b:
        # RATE attempts in all, alternating: each process alone stays under its limit.
        for i in range(RATE):
            response = await _post_login(a if i % 2 == 0 else b, "F99999", "mauvais-mot-de-passe")
            statuses.append(response.status_code)
        assert statuses == [422] * RATE
        for client in (a, b):
            blocked = await _post_login(client, "F99999", "mauvais-mot-de-passe")
            assert blocked.status_code == 429
            assert "Trop de tentatives" in blocked.text
