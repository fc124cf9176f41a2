"""The database away for a moment (restart, failover, ALLOW_CONNECTIONS false, terminated
connections, an unopenable SQLite file): every page answers the French 503 with Retry-After,
one warning line each and no traceback, and the portal recovers by itself."""

from __future__ import annotations

import json
import os
from urllib.parse import urlsplit

import pytest

from tests.conftest import DATABASE_URL
from tests.factories import make_family
from tests.support import login_family, soup

TITLE = "Service momentanément indisponible"


def _assert_unavailable_page(response, *, fragment: bool = False) -> None:
    assert response.status_code == 503, response.text[:300]
    assert response.headers["retry-after"] == "5"
    page = soup(response.text)
    assert TITLE in page.get_text(" ", strip=True)
    assert "Vous pourrez réessayer dans 5 secondes." in page.get_text(" ", strip=True)
    if fragment:
        assert "<html" not in response.text
        assert page.select_one("main#main") is not None
        assert response.headers["hx-retarget"] == "#main"
        assert response.headers["hx-reswap"] == "outerHTML"
    else:
        assert page.title is not None and TITLE in page.title.get_text()


def _error_records(lines: list[str]) -> list[dict]:
    records = [json.loads(line) for line in lines]
    return [r for r in records if r.get("logger") == "ecp.errors"]


def _assert_one_warning_per_request_and_no_traceback(lines: list[str], requests: int) -> None:
    records = _error_records(lines)
    assert [r["event"] for r in records] == ["database unavailable"] * requests, records
    assert all(r["level"] == "warning" for r in records)
    assert not any("exception" in r or "exc_info" in r for r in records)
    assert not any("Traceback" in line for line in lines)


# --------------------------------------------------------------------------- PostgreSQL


class Outage:
    """Refuses new connections to the tests' database and ends the live ones, as a real
    outage would: the app's pool may hold connections that ALLOW_CONNECTIONS leaves alive."""

    def __init__(self) -> None:
        self.name = urlsplit(DATABASE_URL).path.lstrip("/")
        self.admin = None

    async def open(self) -> None:
        import asyncpg

        # The server's maintenance database, never the one under test.
        self.admin = await asyncpg.connect(os.environ["ECP_TEST_POSTGRES_URL"])

    async def terminate(self) -> int:
        return await self.admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            self.name,
        )

    async def refuse(self) -> None:
        await self.admin.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false')
        await self.terminate()

    async def allow(self) -> None:
        await self.admin.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')

    async def close(self) -> None:
        await self.allow()
        await self.admin.close()


@pytest.fixture
async def outage():
    o = Outage()
    await o.open()
    try:
        yield o
    finally:
        # Whatever the test did, the next ones (and clean_db) need their database back.
        await o.close()


@pytest.mark.postgres_only
async def test_connections_refused_gives_the_french_503_then_the_portal_recovers(
    client, outage, captured_logs
):
    await make_family("F00001")
    await login_family(client)
    assert (await client.get("/famille/")).status_code == 200
    captured_logs.clear()

    await outage.refuse()
    _assert_unavailable_page(await client.get("/"))
    _assert_unavailable_page(await client.get("/famille/"))
    _assert_unavailable_page(
        await client.get("/famille/", headers={"HX-Request": "true"}), fragment=True
    )
    health = await client.get("/healthz")
    assert health.status_code == 503 and health.json()["database"] == "indisponible"
    _assert_one_warning_per_request_and_no_traceback(captured_logs, 3)
    warnings = _error_records(captured_logs)
    # The first request may meet a terminated connection, the next ones the refusal itself.
    assert {r["error"] for r in warnings} <= {
        "ObjectNotInPrerequisiteStateError",
        "InternalClientError",
        "ConnectionDoesNotExistError",
    }
    assert warnings[0]["route"] == "/"

    await outage.allow()
    # The very first request after the database is back: the pool reconnects by itself.
    assert (await client.get("/")).status_code == 200
    family_home = await client.get("/famille/")
    assert family_home.status_code == 200 and "<html" in family_home.text
    assert (await client.get("/healthz")).status_code == 200


@pytest.mark.postgres_only
async def test_terminated_connections_give_a_503_or_a_page_never_a_500(
    client, outage, captured_logs
):
    await make_family("F00001")
    await login_family(client)
    for _ in range(3):
        statuses = []
        killed = await outage.terminate()
        assert killed >= 1  # the pool held at least one live connection
        for _ in range(6):
            response = await client.get("/famille/")
            statuses.append(response.status_code)
            if response.status_code == 503:
                _assert_unavailable_page(response)
        assert set(statuses) <= {200, 503}, statuses
        assert statuses[-1] == 200, statuses
    assert not [r for r in _error_records(captured_logs) if r["level"] == "error"]


@pytest.mark.postgres_only
async def test_terminated_connections_mid_burst_of_concurrent_requests_never_500(client, outage):
    import asyncio

    await make_family("F00001")
    await login_family(client)

    async def hit():
        return (await client.get("/famille/")).status_code

    first = asyncio.gather(*[hit() for _ in range(8)])
    await outage.terminate()
    statuses = list(await first) + list(await asyncio.gather(*[hit() for _ in range(8)]))
    assert set(statuses) <= {200, 503}, statuses
    assert (await client.get("/famille/")).status_code == 200


# --------------------------------------------------------------------------- SQLite


@pytest.mark.sqlite_only
async def test_an_unopenable_sqlite_file_gives_the_french_503(
    client, monkeypatch, tmp_path, captured_logs
):
    from ecp import db

    engine = db.engine()
    # A file in a folder that does not exist: what a missing volume or a bad path gives.
    monkeypatch.setitem(
        engine.connection_kwargs, "database", str(tmp_path / "volume-absent" / "ecp.sqlite")
    )
    # The shared reader opened before the outage would still answer the SELECTs.
    monkeypatch.setattr(engine, "_readers", {})
    _assert_unavailable_page(await client.get("/"))
    _assert_unavailable_page(await client.get("/", headers={"HX-Request": "true"}), fragment=True)
    _assert_one_warning_per_request_and_no_traceback(captured_logs, 2)
    assert _error_records(captured_logs)[0]["error"] == "OperationalError"
    health = await client.get("/healthz")
    assert health.status_code == 503 and health.json()["database"] == "indisponible"

    monkeypatch.undo()
    assert (await client.get("/")).status_code == 200
