"""Database engines and transactions: the only module that knows SQLite from PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any

from piccolo.engine import sqlite as piccolo_sqlite
from piccolo.engine.base import Engine
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType, dict_factory
from piccolo.querystring import QueryString

# The versions SQLiteSharedReadsEngine was written and tested against: it overrides a private
# method of Piccolo's SQLiteEngine, lends queued writers one aiosqlite connection through its
# get_connection (aiosqlite's, or _InlineConnection, which mimics the part of aiosqlite's
# interface Piccolo's transactions use), and re-registers its column converters memoised
# (aiosqlite stays pinned: Piccolo's other writes go through it).
# pyproject.toml pins both; tests/integration/core/test_library_internals.py fails on any other
# version and says what to re-check.
PINNED_VERSIONS = {"piccolo": "1.38.0", "aiosqlite": "0.22.1"}


# SQLite hands each DATE, TIME, INTEGER... cell of a result to the converter Piccolo registered
# for its declared type (PARSE_DECLTYPES): about a microsecond each (bytes decoded, parsed), and
# a page's rows repeat the same few values (the week's five days, the same ids, the same
# hours). The same converters, memoised on the raw bytes: every value they return is immutable
# (int, bool, date, time, datetime, Decimal, UUID), so sharing one object is safe. Registered
# after Piccolo's own (imported above), for every sqlite3 connection of the process.
CACHED_CONVERTERS = {
    "INTEGER": piccolo_sqlite.convert_int_out,
    "BOOLEAN": piccolo_sqlite.convert_boolean_out,
    "DATE": piccolo_sqlite.convert_date_out,
    "TIME": piccolo_sqlite.convert_time_out,
    "TIMESTAMP": piccolo_sqlite.convert_timestamp_out,
    "TIMESTAMPTZ": piccolo_sqlite.convert_timestamptz_out,
    "NUMERIC": piccolo_sqlite.convert_numeric_out,
    "UUID": piccolo_sqlite.convert_uuid_out,
}
CONVERTER_CACHE_SIZE = 4096


def _register_cached_converters() -> None:
    for declared, converter in CACHED_CONVERTERS.items():
        sqlite3.register_converter(declared, lru_cache(maxsize=CONVERTER_CACHE_SIZE)(converter))


_register_cached_converters()


# Set by fetch_tuples around its query: the shared reader hands back plain tuples.
_TUPLE_ROWS: ContextVar[bool] = ContextVar("ecp_tuple_rows", default=False)


class SQLiteSharedReadsEngine(SQLiteEngine):
    """Piccolo's SQLite engine, with one long-lived connection per event loop for plain SELECTs,
    run on the event loop's own thread.

    Relies on library internals (pinned in PINNED_VERSIONS): Piccolo's run_querystring and
    run_ddl call `_run_in_new_connection(query, args, query_type, table)` outside a transaction.

    Piccolo opens a connection (and an aiosqlite thread) for every query outside a transaction:
    about 2 ms each against 0.1 ms on an open connection, most of a page's time (the benchmark's
    profile). Even on an open aiosqlite connection each query is a round trip to its thread (a
    queue, a future, a wake-up of the loop): 0.1 to 0.3 ms of CPU and GIL hand-overs for a
    lookup that takes SQLite a few microseconds, four times per page. So SELECTs outside a
    transaction run synchronously on a plain sqlite3 connection of the loop's thread: the
    indexed reads of a page take less time than the hop did, and the loop could not have served
    another request's SELECT meanwhile anyway (one reader per loop, as before). Reads only: in
    WAL mode a reader never waits for a writer, so it cannot block behind a transaction; writes
    and transactions keep Piccolo's own path (aiosqlite). Each SELECT runs in autocommit and
    sees all that was committed.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._readers: dict[int, sqlite3.Connection] = {}
        self._writers: dict[int, _WriterQueue] = {}
        self._inline: dict[int, _InlineConnection] = {}

    def writer_queue(self) -> _WriterQueue:
        key = id(asyncio.get_running_loop())
        queue = self._writers.get(key)
        if queue is None:
            queue = self._writers[key] = _WriterQueue()
        return queue

    def writer_lock(self) -> asyncio.Lock:
        """One write transaction at a time per process, queued in order. SQLite allows one writer
        anyway; left to its busy handler, writers poll with sleeps of up to 100 ms and the unlucky
        ones starve (booking toggle p95 1.9 s under 32 connections in the benchmark)."""
        return self.writer_queue().lock

    async def get_connection(self):
        """Piccolo's transactions ask here for their connection: the queued writer's own while it
        holds the writer lock (see _queued_sqlite_transaction), else a new one (Piccolo's)."""
        lent = _LENT_WRITER.get()
        if lent is not None:
            return lent
        return await super().get_connection()

    def _reader(self) -> sqlite3.Connection:
        key = id(asyncio.get_running_loop())
        connection = self._readers.get(key)
        if connection is None:
            # The loop's thread only; the same converters as Piccolo's (PARSE_DECLTYPES).
            connection = sqlite3.connect(**self.connection_kwargs)
            connection.row_factory = dict_factory
            connection.execute("PRAGMA foreign_keys = 1")
            self._readers[key] = connection
        return connection

    def inline_writer(self) -> _InlineConnection:
        """The loop's connection for short write transactions (write_transaction(short=True)),
        opened on first use; only ever used under the writer lock."""
        key = id(asyncio.get_running_loop())
        connection = self._inline.get(key)
        if connection is None:
            # No busy timeout: waiting inside sqlite3 would stop the event loop. BEGIN retries
            # asynchronously instead (_InlineConnection.begin).
            raw = sqlite3.connect(**{**self.connection_kwargs, "timeout": 0})
            raw.row_factory = dict_factory
            raw.execute("PRAGMA foreign_keys = 1")
            connection = self._inline[key] = _InlineConnection(raw, self.busy_seconds())
        return connection

    def drop_inline_writer(self) -> None:
        """Closes the loop's inline writer (after a failure that left it unusable)."""
        connection = self._inline.pop(id(asyncio.get_running_loop()), None)
        if connection is not None:
            connection.raw.close()

    def busy_seconds(self) -> float:
        return float(self.connection_kwargs.get("timeout", 5))

    def close_reader(self) -> None:
        """Closes this loop's reader and inline writer (the app's lifespan ends; the next
        query opens others)."""
        connection = self._readers.pop(id(asyncio.get_running_loop()), None)
        if connection is not None:
            connection.close()
        self.drop_inline_writer()

    async def _run_in_new_connection(self, query, args=None, query_type="generic", table=None):
        if query.lstrip()[:6].upper() != "SELECT":
            return await super()._run_in_new_connection(query, args, query_type, table)
        cursor = self._reader().cursor()
        if _TUPLE_ROWS.get():  # fetch_tuples: the driver's own rows
            cursor.row_factory = None
        try:
            return cursor.execute(query, args or []).fetchall()
        finally:
            cursor.close()


class DatabaseConfigError(ValueError):
    """ECP_DATABASE_URL cannot be used; the message is French, for the operator."""


def engine_from_url(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            from ecp.failures import os_reason

            raise DatabaseConfigError(
                f"Dossier de la base SQLite impossible à créer ({os_reason(exc)}) : {path.parent}"
            ) from exc
        # timeout -> busy_timeout (ms): writers wait for the lock instead of failing at once.
        return SQLiteSharedReadsEngine(path=str(path), timeout=30)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresEngine(config={"dsn": url})
    raise DatabaseConfigError(
        f"ECP_DATABASE_URL non pris en charge ({url.split(':', 1)[0]}) : "
        "sqlite:///chemin ou postgresql://… attendu."
    )


_engine: Engine | None = None


def engine() -> Engine:
    # Found once: the Table classes bound this very engine at import, and finding it again
    # (importing piccolo_conf by name) costs about 20 µs, a fair share of a raw query.
    global _engine
    if _engine is None:
        found = engine_finder()
        assert found is not None, "piccolo_conf.py defines DB"
        _engine = found
    return _engine


def is_sqlite() -> bool:
    return engine().engine_type == "sqlite"


def write_transaction(*, short: bool = False):
    """A transaction for read-then-write rules.

    SQLite: IMMEDIATE takes the write lock at BEGIN; a deferred transaction that reads then
    writes fails with SQLITE_BUSY even with a busy timeout (sqlite.org/lang_transaction.html).
    PostgreSQL: pair it with lock_for_update() on the row that serialises the rule.

    `short`: a few indexed statements (a booking tap, a session's change). On SQLite they run
    on the loop's own connection, like the reads, instead of through aiosqlite's thread; see
    _InlineConnection. Never for a transaction that reads or writes in bulk (billing, exports,
    imports): it would hold the event loop for as long as it runs.
    """
    db = engine()
    if isinstance(db, SQLiteSharedReadsEngine) and db.current_transaction.get() is None:
        return _queued_sqlite_transaction(db, short=short)
    if isinstance(db, SQLiteEngine):
        return db.transaction(transaction_type=TransactionType.immediate)
    return _postgres_transaction(db)


@asynccontextmanager
async def _postgres_transaction(db: PostgresEngine) -> AsyncIterator[object]:
    """Piccolo's transaction, which takes a pooled connection and then sends BEGIN: when BEGIN
    fails, or ROLLBACK does (the server ended the connection in an outage), Piccolo never gives
    the connection back. Each outage would keep one for good until the pool was exhausted (and
    closing the pool would wait for them for ever)."""
    transaction = db.transaction(allow_nested=True)
    try:
        entered = await transaction.__aenter__()
    except BaseException:
        await _give_back(db, transaction)
        raise
    try:
        yield entered
    except BaseException as exc:
        try:
            await transaction.__aexit__(type(exc), exc, exc.__traceback__)
        except BaseException:
            await _give_back(db, transaction)
        raise
    try:
        await transaction.__aexit__(None, None, None)
    except BaseException:
        await _give_back(db, transaction)
        raise


async def _give_back(db: PostgresEngine, transaction) -> None:
    connection = getattr(transaction, "connection", None)
    if connection is None or getattr(transaction, "_parent", None) is not None:
        return
    context = getattr(transaction, "context", None)
    if context is not None:
        try:  # what __aexit__ would have done: this task's queries leave the dead transaction
            db.current_transaction.reset(context)
        except ValueError:
            pass
    # Its protocol may be stuck mid-operation ("another operation is in progress"): it must
    # not be handed out again. Closed, then released, the pool replaces it with a new one.
    connection.terminate()
    if db.pool:
        try:
            await db.pool.release(connection)
        except Exception:  # noqa: BLE001 - released already (asyncpg frees closed ones)
            pass


class _WriterQueue:
    """A loop's queue of SQLite write transactions: the lock, how many wait for it, and the
    connection the last one left open for the next."""

    __slots__ = ("lock", "waiting", "connection")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.waiting = 0
        self.connection: Any = None


class _LentConnection:
    """The queued writer's aiosqlite connection as Piccolo's transaction sees it: everything
    passes through, except close(), which the queue does (or not) once the transaction ends."""

    __slots__ = ("_connection",)

    def __init__(self, connection: Any) -> None:
        object.__setattr__(self, "_connection", connection)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._connection, name, value)

    async def close(self) -> None:
        return None


_LENT_WRITER: ContextVar[_LentConnection | None] = ContextVar("ecp_lent_writer", default=None)


@asynccontextmanager
async def _queued_sqlite_transaction(
    db: SQLiteSharedReadsEngine, *, short: bool = False
) -> AsyncIterator[None]:
    """The write lock, then Piccolo's IMMEDIATE transaction on the queue's connection.

    Piccolo opens an aiosqlite connection per transaction (a thread started, the file opened,
    the schema parsed on the first statement): most of a booking toggle's CPU. Writers queued
    behind this one reuse its connection instead: it is kept only while another writer waits
    and only after a clean commit (a failure, or a connection left inside a transaction, closes
    it). The last writer of a burst closes it, so no connection (and no aiosqlite thread, which
    would keep the process from exiting) outlives the queue, and none is shared outside the
    lock: it is lent to this task's transaction only, through a context variable."""
    queue = db.writer_queue()
    queue.waiting += 1
    try:
        await queue.lock.acquire()
    except BaseException:  # cancelled while waiting: the connection kept for it is closed
        queue.waiting -= 1
        if not queue.waiting and not queue.lock.locked() and queue.connection is not None:
            stale, queue.connection = queue.connection, None
            await stale.close()
        raise
    queue.waiting -= 1
    if short:
        try:
            async with _inline_transaction(db) as transaction:
                yield transaction
        finally:
            queue.lock.release()
        return
    try:
        connection, queue.connection = queue.connection, None
        if connection is None:
            connection = await SQLiteEngine.get_connection(db)
        token = _LENT_WRITER.set(_LentConnection(connection))
        clean = False
        try:
            async with db.transaction(transaction_type=TransactionType.immediate) as transaction:
                yield transaction
            clean = True
        finally:
            _LENT_WRITER.reset(token)
            if clean and queue.waiting and not connection.in_transaction:
                queue.connection = connection
            else:
                await connection.close()
    finally:
        queue.lock.release()


@asynccontextmanager
async def _inline_transaction(db: SQLiteSharedReadsEngine) -> AsyncIterator[object]:
    """Piccolo's IMMEDIATE transaction on the loop's inline writer (the caller holds the lock)."""
    connection = db.inline_writer()
    token = _LENT_WRITER.set(connection)  # type: ignore[arg-type]
    clean = False
    try:
        async with db.transaction(transaction_type=TransactionType.immediate) as transaction:
            yield transaction
        clean = True
    finally:
        _LENT_WRITER.reset(token)
        if not clean and connection.in_transaction:
            # Piccolo's ROLLBACK failed too: this connection cannot be trusted any more.
            db.drop_inline_writer()


class _InlineCursor:
    """A sqlite3 cursor behind the awaitable methods of aiosqlite's cursor."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def fetchall(self) -> list:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list:
        return self._cursor.fetchmany(size) if size is not None else self._cursor.fetchmany()

    async def execute(self, sql: str, parameters: Any = ()) -> _InlineCursor:
        self._cursor.execute(sql, parameters)
        return self

    async def close(self) -> None:
        self._cursor.close()

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def description(self) -> Any:
        return self._cursor.description

    async def __aenter__(self) -> _InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()


class _InlineResult:
    """What aiosqlite's execute() returns: awaitable, or entered with `async with`."""

    __slots__ = ("_run",)

    def __init__(self, run: Callable[[], Any]) -> None:
        self._run = run

    def __await__(self):
        return self._run().__await__()

    async def __aenter__(self) -> _InlineCursor:
        return await self._run()

    async def __aexit__(self, *exc: object) -> None:
        return None


class _InlineConnection:
    """A plain sqlite3 connection on the event loop's thread, with the part of aiosqlite's
    interface that Piccolo's transactions use (execute, row_factory, close).

    Through aiosqlite every statement is three round trips to its thread (Piccolo sends
    `PRAGMA foreign_keys` before each one, then the statement, then the fetch), each a queue,
    a future and a wake-up of the loop: most of a booking tap's CPU, for statements SQLite runs
    in microseconds. Run here they cost what they cost. Safe because only short transactions
    use it, under the process's writer lock, and the statements never wait: in WAL mode a
    writer holding the lock waits for nobody, and the one wait there is, BEGIN IMMEDIATE
    while another process writes, is retried by sleeping on the loop rather than inside
    SQLite. close() is the engine's business (the connection lives as long as the loop)."""

    __slots__ = ("raw", "busy_seconds")

    def __init__(self, raw: sqlite3.Connection, busy_seconds: float) -> None:
        self.raw = raw
        self.busy_seconds = busy_seconds

    @property
    def row_factory(self) -> Any:
        return self.raw.row_factory

    @row_factory.setter
    def row_factory(self, factory: Any) -> None:
        self.raw.row_factory = factory

    @property
    def in_transaction(self) -> bool:
        return self.raw.in_transaction

    def execute(self, sql: str, parameters: Any = ()) -> _InlineResult:
        if sql.startswith("BEGIN"):
            return _InlineResult(lambda: self._begin(sql))
        return _InlineResult(lambda: self._execute(sql, parameters))

    async def _execute(self, sql: str, parameters: Any) -> _InlineCursor:
        if sql == "PRAGMA foreign_keys = 1":  # set once when the connection opened
            return _InlineCursor(self.raw.cursor())
        return _InlineCursor(self.raw.execute(sql, parameters))

    async def _begin(self, sql: str) -> _InlineCursor:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.busy_seconds
        delay = 0.001
        while True:
            try:
                return _InlineCursor(self.raw.execute(sql))
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or loop.time() + delay > deadline:
                    raise
            await asyncio.sleep(delay)  # another process writes: wait without stopping the loop
            delay = min(delay * 2, 0.05)

    async def commit(self) -> None:
        self.raw.execute("COMMIT")

    async def close(self) -> None:
        return None


def lock_for_update(query):
    """SELECT ... FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE transaction already serialises."""
    return query if is_sqlite() else query.lock_rows()


async def prepare_database() -> None:
    """Per-database settings that persist: WAL lets readers run while one writer commits."""
    db = engine()
    if isinstance(db, SQLiteEngine):
        await db.run_ddl("PRAGMA journal_mode=WAL")


# --- Raw SQL: one way in, the same placeholders and the same Python types on both engines ---
#
# The hot pages run raw SQL (building Piccolo's select costs more than running it). The rows
# differ per engine: asyncpg returns date, datetime and bool for any expression, while SQLite's
# driver converts only columns read straight from a table (their declared type); an aggregate,
# a CASE, an EXISTS or a COALESCE comes back as text or an integer. `fetch` names, per query,
# the columns whose type matters and makes them so on both engines.


def _as_date(value: Any) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """A timestamp read back from the database, aware (UTC) on both engines.

    Every timestamp of the schema is a Timestamptz; PostgreSQL returns it aware, SQLite's driver
    sometimes naive (in UTC), and comparing a naive value with clock.now() would raise."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return aware(value)


def _as_time(value: Any) -> dt.time:
    return dt.time.fromisoformat(value) if isinstance(value, str) else value


def _as_bool(value: Any) -> bool:
    # SQLite's 0/1 (int, or "0"/"1" as text from an expression); asyncpg's bool passes through.
    return value if value.__class__ is bool else bool(int(value))


def _as_int(value: Any) -> int:
    # PostgreSQL's SUM of a bigint is a Decimal; SQLite's aggregate of text columns is text.
    return value if value.__class__ is int else int(value)


_COERCE: dict[type, Callable[[Any], Any]] = {
    dt.date: _as_date,
    dt.datetime: _as_datetime,
    dt.time: _as_time,
    bool: _as_bool,
    int: _as_int,
}


def typed_rows(rows: list[dict], types: Mapping[str, type]) -> list[dict]:
    """Makes the named columns of `rows` (in place) date, datetime (aware), time, bool or int;
    NULL stays None. A column named but absent from a row is a bug: KeyError."""
    try:
        plan = [(name, _COERCE[kind]) for name, kind in types.items()]
    except KeyError as exc:
        raise TypeError(
            f"fetch(types=...): no conversion to {exc.args[0]!r}; "
            f"use one of {', '.join(k.__name__ for k in _COERCE)}"
        ) from None
    for row in rows:
        for name, convert in plan:
            value = row[name]
            if value is not None:
                row[name] = convert(value)
    return rows


async def fetch(sql: str, *args: Any, types: Mapping[str, type] | None = None) -> list[dict]:
    """Runs raw SQL and returns its rows as dicts, typed alike on SQLite and PostgreSQL.

    `sql` takes `{}` placeholders on both engines, bound in order from `args` (never
    formatted into the text); inside a transaction it runs on the transaction's connection.
    `types` maps column names to date, datetime, time, bool or int (see typed_rows), e.g.
    `await fetch("SELECT day, MAX(at) AS at FROM t WHERE id = {}", 1, types={"at": datetime})`.
    """
    db = engine()
    results = await db.run_querystring(QueryString(sql, *args))
    rows = db.transform_response_to_dicts(results) if results else []
    return typed_rows(rows, types) if types else rows


async def fetch_tuples(
    sql: str, *args: Any, types: Mapping[int, type] | None = None
) -> list[tuple]:
    """`fetch`, its rows as tuples in the SELECT's column order (`types` by position).

    For the few reads every page makes whose rows are many and short-lived (the week's
    bookings and counters): on SQLite outside a transaction the rows come from the loop's
    connection as the driver builds them, with no dict per row (a Python call each); elsewhere
    they are `fetch`'s dicts, in order. Through the engine's run_querystring like every query
    (so the query-budget tests count it)."""
    db = engine()
    token = _TUPLE_ROWS.set(True)
    try:
        results = await db.run_querystring(QueryString(sql, *args))
    finally:
        _TUPLE_ROWS.reset(token)
    rows = [r if r.__class__ is tuple else tuple(r.values()) for r in results or ()]
    # Only the columns that need it: SQLite's driver already made most of them (a compound
    # SELECT's columns take the first SELECT's declared types), and a naive timestamp is never
    # left as it is.
    plan = [
        (index, _COERCE[kind])
        for index, kind in (types or {}).items()
        if kind is dt.datetime
        or any(r[index] is not None and r[index].__class__ is not kind for r in rows)
    ]
    if not plan:
        return rows
    typed = []
    for row in rows:
        row = list(row)
        for index, convert in plan:
            if row[index] is not None:
                row[index] = convert(row[index])
        typed.append(tuple(row))
    return typed


@asynccontextmanager
async def pool(min_size: int = 1, max_size: int = 10) -> AsyncIterator[None]:
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.start_connection_pool(min_size=min_size, max_size=max_size)
        try:
            yield
        finally:
            await close_pool(db)
    else:
        try:
            yield
        finally:
            if isinstance(db, SQLiteSharedReadsEngine):
                db.close_reader()


# asyncpg's Pool.close() waits, without limit, for every connection to come back. One that never
# does (a task cancelled mid-query while the server was killing its connections) would hang the
# process at shutdown; past this grace the remaining connections are terminated instead.
POOL_CLOSE_SECONDS = 10.0


async def close_pool(db: PostgresEngine, timeout: float = POOL_CLOSE_SECONDS) -> bool:
    """Closes the engine's pool; False when connections had to be terminated."""
    pool = db.pool
    if pool is None:
        return True
    try:
        await asyncio.wait_for(pool.close(), timeout)
        graceful = True
    except TimeoutError:
        logging.getLogger("ecp.db").warning(
            "database pool: connections still held after %.0f s at shutdown, terminated", timeout
        )
        pool.terminate()
        graceful = False
    db.pool = None
    return graceful


async def migrate() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    await prepare_database()
    result = await run_forwards("all")
    if not result.success:
        raise RuntimeError(f"Migrations failed: {result.message}")


# --- "The database is unavailable": a moment's 503, not a bug's 500 -------------------------

# Modules whose frames show an OSError or a timeout came from talking to the database, not
# from a template file, a PDF or an SMTP server.
_DATABASE_MODULES = ("asyncpg", "piccolo", "aiosqlite", "sqlite3", "ecp.db")
# sqlite3's messages are SQLite's own English texts (never translated).
_SQLITE_UNAVAILABLE = ("database is locked", "disk i/o error", "unable to open database file")


def _postgres_unavailable(exc: BaseException) -> bool:
    import asyncpg.exceptions as pg

    if isinstance(
        exc,
        (
            pg.ConnectionDoesNotExistError,
            pg.ConnectionFailureError,
            pg.ClientCannotConnectError,
            pg.ConnectionRejectionError,
            pg.CannotConnectNowError,
            pg.AdminShutdownError,
            pg.CrashShutdownError,
            pg.IdleSessionTimeoutError,
            pg.TooManyConnectionsError,
            pg.InvalidCatalogNameError,
        ),
    ):
        # Not the whole of PostgresConnectionError: ProtocolViolationError (08P01) is also what
        # a query with the wrong number of parameters raises, a bug.
        return True
    if type(exc) is pg.ObjectNotInPrerequisiteStateError:
        # ALTER DATABASE ... ALLOW_CONNECTIONS false. The SQLSTATE alone (55000) is also
        # "currval before nextval", a bug; the server function that refused, or our being in
        # the middle of connecting, says it is the database refusing new connections.
        return getattr(exc, "server_source_function", None) == "CheckMyDatabase" or _raised_in(
            exc, ("asyncpg.connect_utils",)
        )
    if isinstance(exc, pg.InternalClientError):
        # asyncpg's protocol state machine confused by the server's FATAL message arriving on an
        # idle connection (pg_terminate_backend, shutdown): "cannot switch to state 12; another
        # operation (2) is in progress" (MagicStack/asyncpg#1069, #784). Never our query's
        # fault; the pool drops the connection when it is released.
        return True
    if isinstance(exc, pg.InterfaceError):
        # Client-side, untranslated texts: the pool or its connection was closed under us.
        # Other InterfaceErrors ("another operation is in progress") are bugs.
        text = str(exc)
        return "pool is clos" in text or "connection is closed" in text
    return False


def _raised_in(exc: BaseException, modules: tuple[str, ...]) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_globals.get("__name__", "")
        if name.startswith(modules):
            return True
        tb = tb.tb_next
    return False


def _unavailable_one(exc: BaseException) -> bool:
    import sqlite3

    if isinstance(exc, ConnectionError):
        # Refused, reset, broken pipe: whichever server it was, it is away for a moment.
        return True
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return any(fragment in text for fragment in _SQLITE_UNAVAILABLE)
    if isinstance(exc, OSError):  # TimeoutError (asyncio's too, since 3.11), DNS, unreachable
        return _raised_in(exc, _DATABASE_MODULES)
    try:
        return _postgres_unavailable(exc)
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return False


def database_unavailable_cause(exc: BaseException) -> BaseException | None:
    """The exception in `exc`'s chain (itself, its cause, its context...) that says the
    database is unavailable, or None. See is_database_unavailable."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _unavailable_one(current):
            return current
        current = current.__cause__ or current.__context__
    return None


def is_database_unavailable(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) means the database cannot be reached right now:
    PostgreSQL refusing or dropping connections (restart, ALLOW_CONNECTIONS false,
    pg_terminate_backend, too many connections, pool closed, connect or acquire timeout),
    SQLite locked, unopenable or failing its disk I/O. Such a request deserves a 503 with
    Retry-After, and a caller that must not lose the data (the card payment notification)
    keeps it for later instead of answering an error."""
    return database_unavailable_cause(exc) is not None


class _OutageWithoutTraceback(logging.Filter):
    """asyncpg's pool logs a warning with the full traceback each time it fails to reconnect its
    floor of connections (1, 2, 4... 60 s apart) while the database is away. Expected during an
    outage: keep the line, name the error, drop the traceback; anything else keeps its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        cause = database_unavailable_cause(exc) if exc is not None else None
        if cause is not None:
            record.msg = f"{record.getMessage()} ({type(cause).__name__})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


logging.getLogger("asyncpg.pool").addFilter(_OutageWithoutTraceback())
