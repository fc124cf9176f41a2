"""docs/security.md J3/J4 and the schema: engine settings, restrict on financial rows, append-only log."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.db import write_transaction
from ecp.families.tables import Child, Family
from ecp.invoices.tables import Invoice
from tests import factories
from tests.support import refused_by_the_database


@pytest.mark.sqlite_only
async def test_sqlite_connections_use_wal_a_busy_timeout_and_foreign_keys():
    (mode,) = (await Family.raw("PRAGMA journal_mode"))[0].values()
    (timeout,) = (await Family.raw("PRAGMA busy_timeout"))[0].values()
    (fk,) = (await Family.raw("PRAGMA foreign_keys"))[0].values()
    assert mode == "wal" and timeout >= 5000 and fk == 1


@pytest.mark.postgres_only
async def test_postgres_is_the_engine_of_this_pass():
    rows = await Family.raw("SHOW server_version")
    assert rows and int(rows[0]["server_version"].split(".")[0]) >= 13


async def test_a_family_with_an_invoice_cannot_be_deleted():
    family = await factories.make_family("F00001")
    await Invoice(
        number="FAC-2026-000001",
        family=family.id,
        month=dt.date(2026, 10, 1),
        issued_at=clock.now(),
        due_on=dt.date(2026, 11, 30),
        total_cents=1250,
    ).save()
    with pytest.raises(refused_by_the_database(), match="(?i)foreign key"):
        await Family.delete().where(Family.id == family.id)
    assert await Family.count() == 1 and await Invoice.count() == 1


async def test_a_failure_inside_a_write_transaction_rolls_everything_back():
    family = await factories.make_family("F00001")
    with pytest.raises(RuntimeError):
        async with write_transaction():
            await Child(
                family=family.id,
                first_name="Léa",
                last_name="Martin",
                birth_date=dt.date(2019, 1, 1),
                level="CE1",
            ).save()
            raise RuntimeError("crash between two writes")
    assert await Child.count() == 0


async def test_the_audit_log_cannot_be_edited():
    await AuditLog(at=clock.now(), actor="agent", action="family.view", target="F00001").save()
    with pytest.raises(refused_by_the_database(), match="audit_log is append-only"):
        await AuditLog.update({AuditLog.action: "rien"}).where(AuditLog.actor == "agent")
    row = await AuditLog.select(AuditLog.action).first()
    assert row["action"] == "family.view"


async def test_one_invoice_per_family_and_month():
    family = await factories.make_family("F00001")
    values = dict(
        family=family.id,
        month=dt.date(2026, 10, 1),
        issued_at=clock.now(),
        due_on=dt.date(2026, 11, 30),
        total_cents=100,
    )
    await Invoice(number="FAC-2026-000001", **values).save()
    with pytest.raises(refused_by_the_database(), match="(?i)unique"):
        await Invoice(number="FAC-2026-000002", **values).save()
    await Invoice(number="AV-2026-000001", kind="avoir", **values).save()
    assert await Invoice.count() == 2


@pytest.mark.sqlite_only
async def test_sqlite_write_transactions_queue_in_order_inside_a_process():
    """Writers wait on an asyncio lock, first come first served, rather than in SQLite's busy
    handler, whose growing sleeps let the unlucky starve under load."""
    import asyncio

    from ecp.db import engine

    family = await factories.make_family("F00001")
    entered: list[int] = []

    async def writer(n: int) -> None:
        async with write_transaction():
            assert engine().writer_lock().locked()
            entered.append(n)
            await asyncio.sleep(0)  # let the others queue up meanwhile
            await Child(
                family=family.id,
                first_name=f"Enfant {n}",
                last_name="Martin",
                birth_date=dt.date(2019, 1, 1),
                level="CE1",
            ).save()

    await asyncio.gather(*(writer(n) for n in range(12)))
    assert entered == list(range(12))
    assert await Child.count() == 12
    assert not engine().writer_lock().locked()
    # A transaction opened inside another one joins it instead of waiting for itself.
    async with write_transaction():
        async with write_transaction():
            await Child(
                family=family.id,
                first_name="Imbriqué",
                last_name="Martin",
                birth_date=dt.date(2019, 1, 1),
                level="CE1",
            ).save()
    assert await Child.count() == 13


@pytest.mark.postgres_only
async def test_a_connection_never_released_does_not_hang_the_shutdown():
    """asyncpg's close waits forever for a held connection; ours gives up and terminates it."""
    from piccolo.engine.postgres import PostgresEngine

    from ecp import db
    from tests.conftest import DATABASE_URL

    engine = PostgresEngine(config={"dsn": DATABASE_URL})
    await engine.start_connection_pool(min_size=1, max_size=2)
    held = await engine.pool.acquire()  # never released, as by a task lost mid-query
    assert await db.close_pool(engine, timeout=0.5) is False
    assert engine.pool is None and held is not None
    await engine.start_connection_pool(min_size=1, max_size=1)
    assert await db.close_pool(engine, timeout=5) is True
