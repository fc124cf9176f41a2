"""Test harness: the database is chosen BEFORE ecp is imported (Piccolo binds it at import).

ECP_TEST_ENGINE=sqlite (default) uses a temporary file; ECP_TEST_ENGINE=postgres creates a fresh
database on the server named by ECP_TEST_POSTGRES_URL, and drops it at the end of the session.
Each process has its own: under pytest-xdist (`make test` runs `-n 2`) every worker gets its own
file or database, its own temporary directories and its own shared app. `make test` runs both
passes.

One app serves every test that uses the default settings (building one costs most of a second),
and one every test with the same other settings (the payment tests'); each test still starts
clean: tables emptied, the app's stores and state as built, the process's caches cleared and the
clock unfrozen. A test marked `own_app`, or whose settings carry `extra`, gets an app of its own.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tempfile
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

ENGINE = os.environ.get("ECP_TEST_ENGINE", "sqlite")
TEST_DIR = tempfile.mkdtemp(prefix="ecp-tests-")
_PG_NAME = re.compile(r"^ecp_test_(\d+)$")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


async def _drop_database(conn, name: str) -> None:
    # DROP refuses while anyone is connected: a crashed run's pool, or a child process's.
    await conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid()",
        name,
    )
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _postgres_url() -> tuple[str, str]:
    """This process's database (each xdist worker is a process of its own, with its own
    database); created by the `migrated` fixture, so that a process that runs no test (xdist's
    controller) leaves none behind."""
    base = os.environ.get("ECP_TEST_POSTGRES_URL")
    if not base:
        raise pytest.UsageError("ECP_TEST_ENGINE=postgres needs ECP_TEST_POSTGRES_URL")
    name = f"ecp_test_{os.getpid()}"
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}")), name


async def _create_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(os.environ["ECP_TEST_POSTGRES_URL"])
    try:
        # Runs killed before their finaliser leave their database behind: drop those whose
        # process is gone (a pid still alive may be a run going on beside this one).
        for row in await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE 'ecp\\_test\\_%'"
        ):
            match = _PG_NAME.match(row["datname"])
            if match and (row["datname"] == name or not _pid_alive(int(match.group(1)))):
                try:
                    await _drop_database(conn, row["datname"])
                except asyncpg.PostgresError:
                    # Another worker starting at the same moment is dropping it too.
                    if row["datname"] == name:
                        raise
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


if ENGINE == "postgres":
    DATABASE_URL, PG_DATABASE = _postgres_url()
else:
    DATABASE_URL, PG_DATABASE = f"sqlite:///{TEST_DIR}/test.sqlite", None
os.environ["ECP_DATABASE_URL"] = DATABASE_URL
os.environ["ECP_PASSWORD_PROFILE"] = "test"
os.environ.pop("ECP_REDIS_URL", None)

import httpx  # noqa: E402

from ecp import clock  # noqa: E402
from ecp.db import migrate  # noqa: E402
from ecp.settings import Settings  # noqa: E402
from tests import support  # noqa: E402

BASE_URL = "https://testserver.local"


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "own_app: the test changes its app (registers a route, say), so it gets one of its own",
    )


def pytest_unconfigure(config):
    # After every fixture's teardown: this process's SQLite file goes with its directory (each
    # xdist worker, and the controller, made one).
    shutil.rmtree(TEST_DIR, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    """Engine-specific tests run in their own pass only (both passes run in CI)."""
    if ENGINE == "postgres":
        items[:] = [i for i in items if "sqlite_only" not in i.keywords]
    else:
        items[:] = [i for i in items if "postgres_only" not in i.keywords]


@pytest.fixture(scope="session", autouse=True)
async def migrated():
    from ecp import db

    if not PG_DATABASE:
        await migrate()
        yield
        return
    await _create_database(PG_DATABASE)
    graceful = True
    try:
        await migrate()
        # The app's lifespan is not run by the in-process transport: the pool lives in the
        # tests' loop, which the app shares.
        engine = db.engine()
        await engine.start_connection_pool(min_size=1, max_size=4)
        yield
        # Bounded (ecp.db.close_pool): a connection a test never gave back would hang the run.
        graceful = await db.close_pool(engine)
    finally:
        # After the pool has closed: this session's database goes with it, even when the
        # migration failed.
        import asyncpg

        conn = await asyncpg.connect(os.environ["ECP_TEST_POSTGRES_URL"])
        try:
            await _drop_database(conn, PG_DATABASE)
        finally:
            await conn.close()
    assert graceful, "a test kept a pooled PostgreSQL connection to the end of the session"


@pytest.fixture(autouse=True)
async def clean_db(migrated):
    yield
    clock.set_now(None)
    support.clear_process_caches()
    await support.truncate_all()


def default_settings() -> Settings:
    return Settings(
        database_url=DATABASE_URL,
        secret_key="test-secret-key-with-enough-length-0123456789",
        base_url=BASE_URL,
        password_profile="test",
        jobs_enabled=False,
    )


@pytest.fixture
def settings() -> Settings:
    return default_settings()


# The apps built so far, by the settings they were built with (see _sharing_key), with what each
# looked like when built: a test gets the one of its settings and leaves it as it found it.
_APPS: dict[Settings, tuple[Any, support.AppSnapshot]] = {}


def _sharing_key(settings: Settings) -> Settings | None:
    """What tells apps apart, or None when the settings cannot share an app.

    The Paybox spool directory is read from `app.state.settings` at each request
    (ecp.payments.routes, ecp.payments.notifications), never at build time: the payment tests,
    each with a spool of its own under tmp_path, share one app that is handed each test's
    settings. `extra` takes no part in Settings' equality: anything in it means an app of its
    own."""
    if settings.extra:
        return None
    return settings.with_(paybox=dataclasses.replace(settings.paybox, spool_dir=""))


def _app_for(settings: Settings) -> tuple[Any, support.AppSnapshot]:
    key = _sharing_key(settings)
    assert key is not None
    entry = _APPS.get(key)
    if entry is None:
        from ecp.app import create_app

        app = create_app(settings)
        entry = _APPS[key] = (app, support.AppSnapshot(app))
    return entry


@pytest.fixture(scope="session")
def shared_app():
    """The app of every test with the default settings, and what it looked like when built."""
    return _app_for(default_settings())


@pytest.fixture
async def app_for():
    """`app_for(settings)`: the app of other settings than the test's own (the simulator's, for
    a payment test), shared and put back after the test like `app`."""
    used: list[support.AppSnapshot] = []

    def get(settings: Settings):
        if _sharing_key(settings) is None:
            from ecp.app import create_app

            return create_app(settings)
        app, snapshot = _app_for(settings)
        app.state.settings = settings
        used.append(snapshot)
        return app

    yield get
    for snapshot in used:
        await snapshot.restore()


@pytest.fixture
async def app(settings, request):
    if request.node.get_closest_marker("own_app") or _sharing_key(settings) is None:
        from ecp.app import create_app

        yield create_app(settings)
        return
    shared, snapshot = _app_for(settings)
    # This test's own settings (its spool directory); the snapshot puts the built ones back.
    shared.state.settings = settings
    yield shared
    await snapshot.restore()


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
