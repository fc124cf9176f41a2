"""Test harness: the database is chosen BEFORE ecp is imported (Piccolo binds it at import).

ECP_TEST_ENGINE=sqlite (default) uses a temporary file; ECP_TEST_ENGINE=postgres creates a fresh
database on the server named by ECP_TEST_POSTGRES_URL. `make test` runs both passes.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from urllib.parse import urlsplit, urlunsplit

import pytest

ENGINE = os.environ.get("ECP_TEST_ENGINE", "sqlite")
TEST_DIR = tempfile.mkdtemp(prefix="ecp-tests-")


def _postgres_url() -> str:
    base = os.environ.get("ECP_TEST_POSTGRES_URL")
    if not base:
        raise pytest.UsageError("ECP_TEST_ENGINE=postgres needs ECP_TEST_POSTGRES_URL")
    import asyncpg

    name = f"ecp_test_{os.getpid()}"

    async def create():
        conn = await asyncpg.connect(base)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}"))


DATABASE_URL = _postgres_url() if ENGINE == "postgres" else f"sqlite:///{TEST_DIR}/test.sqlite"
os.environ["ECP_DATABASE_URL"] = DATABASE_URL
os.environ["ECP_PASSWORD_PROFILE"] = "test"
os.environ.pop("ECP_REDIS_URL", None)

import httpx  # noqa: E402

from ecp import clock  # noqa: E402
from ecp.db import migrate  # noqa: E402
from ecp.settings import Settings  # noqa: E402
from tests import support  # noqa: E402

BASE_URL = "https://testserver.local"


def pytest_collection_modifyitems(config, items):
    """Engine-specific tests run in their own pass only (both passes run in CI)."""
    if ENGINE == "postgres":
        items[:] = [i for i in items if "sqlite_only" not in i.keywords]
    else:
        items[:] = [i for i in items if "postgres_only" not in i.keywords]


@pytest.fixture(scope="session", autouse=True)
async def migrated():
    from ecp import db

    await migrate()
    # The app's lifespan is not run by the in-process transport: the pool lives in the tests'
    # loop, which the app shares.
    async with db.pool(min_size=1, max_size=4):
        yield


@pytest.fixture(autouse=True)
async def clean_db(migrated):
    yield
    clock.set_now(None)
    await support.truncate_all()


@pytest.fixture
def settings() -> Settings:
    return Settings(
        database_url=DATABASE_URL,
        secret_key="test-secret-key-with-enough-length-0123456789",
        base_url=BASE_URL,
        password_profile="test",
        jobs_enabled=False,
    )


@pytest.fixture
def app(settings):
    from ecp.app import create_app

    return create_app(settings)


def make_client(app, client_ip: str = "127.0.0.1") -> httpx.AsyncClient:
    """In-process client on the tests' own event loop (Litestar's AsyncTestClient runs the
    app in a portal thread, whose loop cannot share the asyncpg pool)."""
    transport = httpx.ASGITransport(app=app, client=(client_ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


@pytest.fixture
async def client(app):
    async with make_client(app) as c:
        yield c


@pytest.fixture
async def other_client(app):
    async with make_client(app, "127.0.0.2") as c:
        yield c
