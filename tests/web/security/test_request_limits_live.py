"""Under granian, oversized forms are refused without holding the single worker: a page asked
for meanwhile still answers at once."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from ecp.web.limits import DRAIN_MAX_BYTES, MAX_BODY_BYTES
from tests.live_server import free_port, serving

ROOT = Path(__file__).resolve().parents[3]
FORM = {"content-type": "application/x-www-form-urlencoded"}
# The server runs on its own SQLite file whatever the pass: once is enough.
pytestmark = pytest.mark.sqlite_only


@pytest.fixture(scope="module")
def live_url():
    workdir = Path(tempfile.mkdtemp(prefix="ecp-limits-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "ECP_DATABASE_URL": f"sqlite:///{workdir}/live.sqlite",
        "ECP_BASE_URL": url,
        "ECP_PASSWORD_PROFILE": "test",
        "ECP_JOBS": "0",
        "PYTHONPATH": str(ROOT / "src"),
    }
    env.pop("ECP_REDIS_URL", None)
    log = workdir / "server.log"
    subprocess.run(
        [sys.executable, "-m", "ecp.cli", "migrate"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    with serving(port, env, log):
        yield url


def _many_fields(n: int) -> bytes:
    return b"a=&" * n


async def _timed_get(client: httpx.AsyncClient, path: str) -> float:
    start = time.perf_counter()
    response = await client.get(path)
    assert response.status_code == 200
    return time.perf_counter() - start


async def test_big_forms_get_413_while_the_home_page_stays_fast(live_url):
    # Multi-megabyte bodies (refused on their announced size) and bodies under the size cap
    # but with 300,000 fields (refused on their count, after being read): parsed, each would
    # hold the worker for most of a second.
    big = _many_fields(1_000_000)
    dense = _many_fields(300_000)
    assert len(big) > 2 * MAX_BODY_BYTES and len(dense) < MAX_BODY_BYTES
    async with (
        httpx.AsyncClient(base_url=live_url, timeout=30) as attacker,
        httpx.AsyncClient(base_url=live_url, timeout=30) as visitor,
    ):
        await _timed_get(visitor, "/")  # templates compiled, connection open

        async def post(body: bytes) -> tuple[int, bool]:
            response = await attacker.post("/connexion", content=body, headers=FORM)
            return response.status_code, "Envoi trop volumineux" in response.text

        async def visits() -> list[float]:
            times = []
            for _ in range(8):
                await asyncio.sleep(0.02)
                times.append(await _timed_get(visitor, "/"))
            return times

        posts = [post(body) for body in (big, dense, big, dense, big, dense)]
        *statuses, times = await asyncio.gather(*posts, visits())
    assert max(times) < 0.5, times
    assert statuses == [(413, True)] * 6


def _raw_post(url: str, head_only_length: int) -> bytes:
    """A POST whose headers announce `head_only_length` bytes and whose body never comes."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /connexion HTTP/1.1\r\nHost: %s\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n" % (host.encode(), head_only_length)
        )
        answer = b""
        while b"</html>" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer


def test_an_enormous_announced_body_is_refused_before_it_is_sent(live_url):
    # Over the drain bound the 413 goes out on the headers alone: nothing is waited for.
    answer = _raw_post(live_url, DRAIN_MAX_BYTES + 1)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"Envoi trop volumineux" in answer


async def test_a_browser_sized_oversized_post_reads_its_413_every_time(live_url):
    # The reset race: answering mid-upload used to lose the 413 now and then (ReadError).
    body = _many_fields(1_000_000)
    async with httpx.AsyncClient(base_url=live_url, timeout=30) as client:
        for _ in range(10):
            response = await client.post("/connexion", content=body, headers=FORM)
            assert response.status_code == 413
            assert "Envoi trop volumineux" in response.text
