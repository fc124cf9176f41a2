"""db.is_database_unavailable: which exceptions mean "the database is away for a moment" (a
503 with Retry-After, a notification kept for later) and which are bugs (a 500). Real errors
from the servers where we can provoke them, built ones for the rest."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import asyncpg.exceptions as pg
import pytest

from ecp.db import database_unavailable_cause, is_database_unavailable


def _pg(sqlstate: str, message: str, **fields: str) -> pg.PostgresError:
    """What asyncpg builds from a server ErrorResponse (fields by their protocol letter)."""
    return pg.PostgresError.new({"S": "FATAL", "C": sqlstate, "M": message, **fields})


@pytest.mark.parametrize(
    "exc",
    [
        _pg("57P03", "the database system is starting up"),
        _pg("57P01", "terminating connection due to administrator command"),
        _pg("57P02", "terminating connection because of crash of another server process"),
        _pg("53300", "sorry, too many clients already"),
        _pg("3D000", 'database "ecp" does not exist'),
        _pg("55000", 'database "ecp" is not currently accepting connections', R="CheckMyDatabase"),
        _pg("08006", "connection failure"),
        pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        pg.InterfaceError("pool is closed"),
        pg.InterfaceError("cannot call Connection.fetch(): connection is closed"),
        pg.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
        ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
        ConnectionResetError(104, "Connection reset by peer"),
        sqlite3.OperationalError("database is locked"),
        sqlite3.OperationalError("disk I/O error"),
        sqlite3.OperationalError("unable to open database file"),
    ],
    ids=lambda e: f"{type(e).__name__}:{str(e)[:30]}",
)
def test_unavailable(exc):
    assert is_database_unavailable(exc)
    assert database_unavailable_cause(exc) is exc


@pytest.mark.parametrize(
    "exc",
    [
        # Same SQLSTATE as ALLOW_CONNECTIONS false, but a query's mistake.
        _pg("55000", 'currval of sequence "s" is not yet defined in this session', R="currval_oid"),
        _pg("55P03", 'could not obtain lock on row in relation "booking"'),
        # 08P01 sits under PostgresConnectionError, but it is a malformed query.
        _pg("08P01", "bind message supplies 1 parameters, but prepared statement requires 2"),
        _pg("57014", "canceling statement due to statement timeout"),
        _pg("23505", "duplicate key value violates unique constraint"),
        pg.InterfaceError("cannot perform operation: another operation is in progress"),
        sqlite3.OperationalError("no such table: booking"),
        sqlite3.IntegrityError("UNIQUE constraint failed: booking.id"),
        FileNotFoundError(2, "No such file or directory", "templates/x.html"),
        ValueError("bad input"),
        KeyError("famille"),
    ],
    ids=lambda e: f"{type(e).__name__}:{str(e)[:30]}",
)
def test_not_unavailable(exc):
    assert not is_database_unavailable(exc)
    assert database_unavailable_cause(exc) is None


def test_timeouts_and_os_errors_count_only_when_they_come_from_the_database_code():
    def pdf_render():
        raise TimeoutError("the renderer did not answer")

    with pytest.raises(TimeoutError) as outside:
        pdf_render()
    assert not is_database_unavailable(outside.value)


async def test_a_refused_connection_raised_by_asyncpg():
    with pytest.raises(OSError) as refused:
        await asyncpg.connect("postgresql://postgres@127.0.0.1:1/ecp", timeout=2)
    assert is_database_unavailable(refused.value)


def test_the_cause_or_context_of_a_wrapping_error_counts():
    try:
        try:
            raise pg.CannotConnectNowError("the database system is shutting down")
        except pg.CannotConnectNowError as exc:
            raise RuntimeError("query failed") from exc
    except RuntimeError as wrapped:
        assert isinstance(database_unavailable_cause(wrapped), pg.CannotConnectNowError)

    try:
        try:
            raise sqlite3.OperationalError("database is locked")
        except sqlite3.OperationalError:
            raise LookupError("while handling")  # noqa: B904 - the implicit __context__ is the point
    except LookupError as wrapped:
        assert is_database_unavailable(wrapped)

    looped = ValueError("a")
    other = ValueError("b")
    looped.__context__, other.__context__ = other, looped
    assert not is_database_unavailable(looped)  # and it returns


# ----------------------------------------------------------------- real SQLite errors


def test_real_sqlite_unopenable_file(tmp_path):
    with pytest.raises(sqlite3.OperationalError) as unopenable:
        sqlite3.connect(tmp_path / "absent" / "ecp.sqlite")
    assert is_database_unavailable(unopenable.value)


async def test_real_aiosqlite_unopenable_file(tmp_path):
    import aiosqlite

    with pytest.raises(sqlite3.OperationalError) as unopenable:
        connection = aiosqlite.connect(tmp_path / "absent" / "ecp.sqlite")
        connection._thread.daemon = True
        await connection
    assert is_database_unavailable(unopenable.value)


def test_real_sqlite_locked(tmp_path):
    path = tmp_path / "ecp.sqlite"
    holder = sqlite3.connect(path, timeout=0, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(path, timeout=0)
    try:
        with pytest.raises(sqlite3.OperationalError) as locked:
            other.execute("INSERT INTO t VALUES (1)")
        assert "locked" in str(locked.value)
        assert is_database_unavailable(locked.value)
    finally:
        other.close()
        holder.execute("ROLLBACK")
        holder.close()


# ----------------------------------------------------------------- real PostgreSQL errors


def _url(database: str, user: str = "postgres") -> str:
    parts = urlsplit(os.environ["ECP_TEST_POSTGRES_URL"])
    netloc = f"{user}@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit(parts._replace(netloc=netloc, path=f"/{database}"))


@pytest.fixture
async def throwaway():
    """A database of its own, so that refusing its connections touches nothing else."""
    name = f"ecp_outage_{os.getpid()}"
    admin = await asyncpg.connect(os.environ["ECP_TEST_POSTGRES_URL"])
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin, name
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.close()


@pytest.mark.postgres_only
async def test_real_allow_connections_false(throwaway):
    admin, name = throwaway
    await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    with pytest.raises(pg.ObjectNotInPrerequisiteStateError) as refused:
        await asyncpg.connect(_url(name))
    assert is_database_unavailable(refused.value)


@pytest.mark.postgres_only
async def test_real_missing_database():
    with pytest.raises(pg.InvalidCatalogNameError) as missing:
        await asyncpg.connect(_url(f"ecp_absent_{os.getpid()}"))
    assert is_database_unavailable(missing.value)


@pytest.mark.postgres_only
async def test_real_terminated_connection(throwaway):
    admin, name = throwaway
    connection = await asyncpg.connect(_url(name))
    pid = await connection.fetchval("SELECT pg_backend_pid()")
    try:
        query = asyncio.ensure_future(connection.fetchval("SELECT pg_sleep(5)"))
        # Killed while the server runs it, not before it arrives.
        for _ in range(500):
            if await admin.fetchval(
                "SELECT state = 'active' FROM pg_stat_activity WHERE pid = $1", pid
            ):
                break
            await asyncio.sleep(0.01)
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        with pytest.raises(pg.PostgresError) as terminated:
            await query
        assert isinstance(terminated.value, (pg.ConnectionDoesNotExistError, pg.AdminShutdownError))
        assert is_database_unavailable(terminated.value)
        with pytest.raises(pg.InterfaceError) as closed:
            await connection.fetchval("SELECT 1")
        assert is_database_unavailable(closed.value)
    finally:
        connection.terminate()


@pytest.mark.postgres_only
async def test_real_too_many_connections(throwaway):
    admin, name = throwaway
    role = f"ecp_limited_{os.getpid()}"
    await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
    # Superusers are exempt from connection limits: a role of its own, allowed none.
    await admin.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0')
    try:
        with pytest.raises(pg.TooManyConnectionsError) as too_many:
            await asyncpg.connect(_url(name, role))
        assert is_database_unavailable(too_many.value)
    finally:
        await admin.execute(f'DROP ROLE "{role}"')


@pytest.mark.postgres_only
async def test_real_pool_closed_and_acquire_timeout(throwaway):
    _admin, name = throwaway
    pool = await asyncpg.create_pool(_url(name), min_size=1, max_size=1)
    async with pool.acquire():
        with pytest.raises(TimeoutError) as timed_out:
            await pool.acquire(timeout=0.05)
        assert is_database_unavailable(timed_out.value)
    await pool.close()
    with pytest.raises(pg.InterfaceError) as closed:
        await pool.fetchval("SELECT 1")
    assert is_database_unavailable(closed.value)


@pytest.mark.postgres_only
async def test_real_query_errors_are_bugs_not_outages(throwaway):
    _admin, name = throwaway
    connection = await asyncpg.connect(_url(name))
    try:
        await connection.execute("CREATE SEQUENCE s")
        with pytest.raises(pg.ObjectNotInPrerequisiteStateError) as currval:
            await connection.fetchval("SELECT currval('s')")
        assert not is_database_unavailable(currval.value)
        with pytest.raises(pg.UndefinedTableError) as missing:
            await connection.fetchval("SELECT * FROM absent")
        assert not is_database_unavailable(missing.value)
        with pytest.raises(pg.InterfaceError) as arguments:
            await connection.fetchval("SELECT $1::int")
        assert not is_database_unavailable(arguments.value)
    finally:
        await connection.close()


# ----------------------------------------------------------------- asyncpg's own warnings


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def pool_log():
    logger = logging.getLogger("asyncpg.pool")
    handler = _Keep()
    logger.addHandler(handler)
    try:
        yield logger, handler.records
    finally:
        logger.removeHandler(handler)


def test_asyncpg_pool_reconnect_warnings_lose_their_traceback_during_an_outage(pool_log):
    logger, records = pool_log
    outage = _pg(
        "55000", 'database "ecp" is not currently accepting connections', R="CheckMyDatabase"
    )
    logger.warning(
        "Failed to restore the pool connection floor; retrying",
        exc_info=(type(outage), outage, None),
    )
    bug = pg.InterfaceError("cannot perform operation: another operation is in progress")
    logger.warning("something else", exc_info=(type(bug), bug, None))
    quiet, loud = records
    assert quiet.exc_info is None and quiet.levelno == logging.WARNING
    assert quiet.getMessage() == (
        "Failed to restore the pool connection floor; retrying (ObjectNotInPrerequisiteStateError)"
    )
    assert loud.exc_info is not None and loud.exc_info[1] is bug
