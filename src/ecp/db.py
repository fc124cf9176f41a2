"""Database engines and transactions: the only module that knows SQLite from PostgreSQL."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from piccolo.engine.base import Engine
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType


def engine_from_url(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        # timeout -> busy_timeout (ms): writers wait for the lock instead of failing at once.
        return SQLiteEngine(path=str(path), timeout=30)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresEngine(config={"dsn": url})
    raise ValueError(f"Unsupported ECP_DATABASE_URL: {url.split(':', 1)[0]}")


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
    if isinstance(db, SQLiteEngine):
        return db.transaction(transaction_type=TransactionType.immediate)
    return db.transaction(allow_nested=True)


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
