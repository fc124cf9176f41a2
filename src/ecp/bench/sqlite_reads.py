"""EXPERIMENT (not used by the app): one shared SQLite connection per event loop for reads.

Piccolo's SQLiteEngine opens a new aiosqlite connection, and so a new thread, for every query
outside a transaction: about 2 ms each on this machine against 0.1 ms on an open connection, so
a page of 7 queries spends most of its time connecting (see the bench report). This module
measures what ecp.db would gain by keeping one connection for plain SELECTs:
`python -m ecp.bench.run --sqlite-shared-reads` starts the bench servers with it.

Why reads only: in WAL mode a read never waits for a writer, so a shared connection serialised
by an asyncio lock cannot deadlock. A write on it could wait (busy timeout) for a transaction
that itself waits for the lock. Writes and transactions keep Piccolo's own path. Each SELECT
runs in autocommit, so it sees everything committed before it.
"""

from __future__ import annotations

import asyncio

_connections: dict = {}


def install() -> None:
    import aiosqlite
    from piccolo.engine.sqlite import SQLiteEngine, dict_factory

    if getattr(SQLiteEngine, "_ecp_shared_reads", False):
        return
    original = SQLiteEngine._run_in_new_connection

    async def run(self, query, args=None, query_type="generic", table=None):
        if not query.lstrip()[:6].upper() == "SELECT":
            return await original(self, query, args, query_type, table)
        key = (id(self), id(asyncio.get_running_loop()))
        entry = _connections.get(key)
        if entry is None:
            connection = aiosqlite.connect(**self.connection_kwargs)
            # Never closed: a daemon thread, or the interpreter would wait for it at exit.
            connection._thread.daemon = True
            await connection
            connection.row_factory = dict_factory
            entry = _connections[key] = (connection, asyncio.Lock())
        connection, lock = entry
        async with lock:
            async with connection.execute(query, args or []) as cursor:
                return await cursor.fetchall()

    SQLiteEngine._run_in_new_connection = run
    SQLiteEngine._ecp_shared_reads = True


SITECUSTOMIZE = "from ecp.bench.sqlite_reads import install\ninstall()\n"
