"""A write transaction that an outage ends gives its pooled connection back: otherwise each
outage would keep one for good, until the pool is exhausted and every request waits."""

from __future__ import annotations

import asyncpg
import pytest

from ecp import db
from ecp.db import is_database_unavailable, write_transaction
from ecp.families.tables import Family
from tests.factories import make_family

# The same fixture as the page-level outage tests: refuse, terminate, then always allow again.
from tests.web.ops.test_database_outage import outage  # noqa: F401 (a pytest fixture)

# A BEGIN on a connection the server ended may fail inside asyncpg itself (InternalClientError).
DATABASE_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)


def _busy() -> int:
    """Connections acquired and not released (a holder being reconnected in the background to
    keep the pool's floor is not one)."""
    return sum(1 for holder in db.engine().pool._holders if holder._in_use is not None)


@pytest.mark.postgres_only
async def test_begin_on_a_connection_the_server_ended(outage):  # noqa: F811 - the fixture imported above
    await make_family("F00001")
    await outage.refuse()  # the pooled connections are ended; new ones refused
    with pytest.raises(DATABASE_ERRORS) as failed:
        async with write_transaction():
            await Family.select()
    assert is_database_unavailable(failed.value)
    assert _busy() == 0
    await outage.allow()
    assert await _served_again() == 1


async def _served_again(tries: int = 5) -> int:
    """The pool serves again once the database is back. Another pooled connection that the
    server ended may still fail one query first (asyncpg learns of the end only on use), which
    a page answers with a 503; what must not happen is an outage that never ends."""
    for _ in range(tries):
        try:
            return await Family.count()
        except DATABASE_ERRORS as exc:
            assert is_database_unavailable(exc), exc
    raise AssertionError(f"the pool still fails after {tries} queries")


@pytest.mark.postgres_only
async def test_rollback_on_a_connection_the_server_ended(outage):  # noqa: F811 - the fixture imported above
    await make_family("F00001")
    with pytest.raises(DATABASE_ERRORS) as failed:
        async with write_transaction():
            await Family.select()
            await outage.refuse()  # ends this transaction's connection under it
            await Family.update({Family.name: "Autre"}).where(Family.code == "F00001")
    # Not always classified as an outage: asyncpg may already have released the connection it
    # saw closed ("released back to the pool"), an InterfaceError also raised by real bugs.
    assert isinstance(failed.value, DATABASE_ERRORS)
    assert _busy() == 0
    await outage.allow()
    assert await _served_again() == 1
    assert (await Family.select(Family.name).first())["name"] != "Autre"
