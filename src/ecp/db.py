"""Database engines and transactions: the only module that knows SQLite from PostgreSQL."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType, dict_factory


class SQLiteSharedReadsEngine(SQLiteEngine):
    """Piccolo's SQLite engine, with one long-lived connection per event loop for plain SELECTs.

    Piccolo opens a connection (and an aiosqlite thread) for every query outside a transaction:
    about 2 ms each against 0.1 ms on an open connection, most of a page's time (the benchmark's
    profile). Reads only: in WAL mode a reader never waits for a writer, so the shared connection,
    serialised by an asyncio lock, cannot deadlock behind a transaction; writes and transactions
    keep Piccolo's own path. Each SELECT runs in autocommit and sees all that was committed.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._readers: dict[int, tuple[aiosqlite.Connection, asyncio.Lock]] = {}
        self._writers: dict[int, asyncio.Lock] = {}

    def writer_lock(self) -> asyncio.Lock:
        """One write transaction at a time per process, queued in order. SQLite allows one writer
        anyway; left to its busy handler, writers poll with sleeps of up to 100 ms and the unlucky
        ones starve (booking toggle p95 1.9 s under 32 connections in the benchmark)."""
        key = id(asyncio.get_running_loop())
        lock = self._writers.get(key)
        if lock is None:
            lock = self._writers[key] = asyncio.Lock()
        return lock

    async def _reader(self) -> tuple[aiosqlite.Connection, asyncio.Lock]:
        key = id(asyncio.get_running_loop())
        entry = self._readers.get(key)
        if entry is None:
            connection = aiosqlite.connect(**self.connection_kwargs)
            # A daemon thread: never joined, so it cannot hold the interpreter at exit.
            connection._thread.daemon = True
            await connection
            connection.row_factory = dict_factory
            await connection.execute("PRAGMA foreign_keys = 1")
            entry = self._readers[key] = (connection, asyncio.Lock())
        return entry

    async def _run_in_new_connection(self, query, args=None, query_type="generic", table=None):
        if query.lstrip()[:6].upper() != "SELECT":
            return await super()._run_in_new_connection(query, args, query_type, table)
        connection, lock = await self._reader()
        async with lock:
            async with connection.execute(query, args or []) as cursor:
                return await cursor.fetchall()


class DatabaseConfigError(ValueError):
    """ECP_DATABASE_URL cannot be used; the message is French, for the operator."""


def engine_from_url(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            from ecp.ops.failures import os_reason

            raise DatabaseConfigError(f"Dossier de la base SQLite impossible à créer "
                                      f"({os_reason(exc)}) : {path.parent}") from exc
        # timeout -> busy_timeout (ms): writers wait for the lock instead of failing at once.
        return SQLiteSharedReadsEngine(path=str(path), timeout=30)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresEngine(config={"dsn": url})
    raise DatabaseConfigError(f"ECP_DATABASE_URL non pris en charge ({url.split(':', 1)[0]}) : "
                              "sqlite:///chemin ou postgresql://… attendu.")


def engine() -> Engine:
    db = engine_finder()
    assert db is not None, "piccolo_conf.py defines DB"
    return db


def is_sqlite() -> bool:
    return engine().engine_type == "sqlite"


def write_transaction():
    """A transaction for read-then-write rules.

    SQLite: IMMEDIATE takes the write lock at BEGIN; a deferred transaction that reads then
    writes fails with SQLITE_BUSY even with a busy timeout (sqlite.org/lang_transaction.html).
    PostgreSQL: pair it with lock_for_update() on the row that serialises the rule.
    """
    db = engine()
    if isinstance(db, SQLiteSharedReadsEngine) and db.current_transaction.get() is None:
        return _queued_sqlite_transaction(db)
    if isinstance(db, SQLiteEngine):
        return db.transaction(transaction_type=TransactionType.immediate)
    return db.transaction(allow_nested=True)


@asynccontextmanager
async def _queued_sqlite_transaction(db: SQLiteSharedReadsEngine) -> AsyncIterator[None]:
    async with db.writer_lock():
        async with db.transaction(transaction_type=TransactionType.immediate) as transaction:
            yield transaction


def lock_for_update(query):
    """SELECT ... FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE transaction already serialises."""
    return query if is_sqlite() else query.lock_rows()


async def prepare_database() -> None:
    """Per-database settings that persist: WAL lets readers run while one writer commits."""
    db = engine()
    if isinstance(db, SQLiteEngine):
        await db._run_in_new_connection("PRAGMA journal_mode=WAL")


@asynccontextmanager
async def pool(min_size: int = 1, max_size: int = 10) -> AsyncIterator[None]:
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.start_connection_pool(min_size=min_size, max_size=max_size)
        try:
            yield
        finally:
            await db.close_connection_pool()
    else:
        yield


async def migrate() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    await prepare_database()
    result = await run_forwards("all")
    if not result.success:
        raise RuntimeError(f"Migrations failed: {result.message}")
