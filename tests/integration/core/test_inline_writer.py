"""Short write transactions (write_transaction(short=True)) on SQLite run on the loop's own
connection: what they write, roll back and wait for, exactly as through aiosqlite."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3

import aiosqlite
import pytest

from ecp.db import engine, write_transaction
from ecp.families.tables import Child
from tests import factories
from tests.support import refused_by_the_database


def _child(family_id: int, name: str) -> Child:
    return Child(
        family=family_id,
        first_name=name,
        last_name="Martin",
        birth_date=dt.date(2019, 1, 1),
        level="CE1",
    )


async def test_a_short_transaction_commits_and_rolls_back_as_a_whole():
    family = await factories.make_family("F00001")
    async with write_transaction(short=True):
        await _child(family.id, "Léa").save()
        await _child(family.id, "Noé").save()
    with pytest.raises(RuntimeError, match="crash"):
        async with write_transaction(short=True):
            await _child(family.id, "Inès").save()
            raise RuntimeError("crash between two writes")
    names = await Child.select(Child.first_name).order_by(Child.first_name).output(as_list=True)
    assert names == ["Léa", "Noé"]


async def test_a_refused_write_rolls_back_the_short_transaction_and_the_next_one_works():
    family = await factories.make_family("F00001")
    with pytest.raises(refused_by_the_database(), match="(?i)foreign key"):
        async with write_transaction(short=True):
            await _child(family.id, "Léa").save()
            await Child.insert(_child(family.id + 1000, "Orphelin"))  # no such family
    async with write_transaction(short=True):
        await _child(family.id, "Noé").save()
    assert await Child.select(Child.first_name).output(as_list=True) == ["Noé"]


@pytest.mark.sqlite_only
async def test_a_booking_tap_opens_no_aiosqlite_connection(monkeypatch):
    # The point of the inline writer: no thread and no round trips for a short transaction.
    opened: list[str] = []
    real = aiosqlite.connect

    def counting(*args, **kwargs):
        opened.append("connect")
        return real(*args, **kwargs)

    family = await factories.make_family("F00001")
    monkeypatch.setattr(aiosqlite, "connect", counting)
    async with write_transaction(short=True):
        await _child(family.id, "Léa").save()
        assert engine().writer_lock().locked()
    assert opened == []
    assert not engine().writer_lock().locked()


@pytest.mark.sqlite_only
async def test_short_and_long_writers_queue_behind_one_lock_in_order():
    family = await factories.make_family("F00001")
    entered: list[int] = []

    async def writer(n: int) -> None:
        async with write_transaction(short=n % 2 == 0):
            entered.append(n)
            await asyncio.sleep(0)  # the others queue meanwhile
            await _child(family.id, f"Enfant {n}").save()

    await asyncio.gather(*(writer(n) for n in range(8)))
    assert entered == list(range(8))
    assert await Child.count() == 8


@pytest.mark.sqlite_only
async def test_while_another_process_writes_the_short_transaction_waits_without_stopping_the_loop():
    family = await factories.make_family("F00001")
    other = sqlite3.connect(engine().connection_kwargs["database"], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    ticks: list[int] = []
    wrote, served = asyncio.Event(), asyncio.Event()

    async def ticker() -> None:
        while not wrote.is_set():
            ticks.append(1)
            if len(ticks) >= 5:  # the loop went on serving while the writer waited
                served.set()
            await asyncio.sleep(0.005)

    async def release_later() -> None:
        await served.wait()
        other.execute("COMMIT")

    async def write() -> None:
        async with write_transaction(short=True):
            await _child(family.id, "Léa").save()
        wrote.set()

    try:
        await asyncio.wait_for(asyncio.gather(ticker(), release_later(), write()), 10)
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()
    assert len(ticks) >= 5
    assert await Child.select(Child.first_name).output(as_list=True) == ["Léa"]


@pytest.mark.sqlite_only
async def test_a_write_lock_never_released_fails_the_short_transaction_after_the_busy_time():
    family = await factories.make_family("F00001")
    writer = engine().inline_writer()
    writer.busy_seconds = 0.05
    other = sqlite3.connect(engine().connection_kwargs["database"], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            async with write_transaction(short=True):
                await _child(family.id, "Léa").save()
    finally:
        other.execute("ROLLBACK")
        other.close()
        writer.busy_seconds = engine().busy_seconds()
    assert not engine().writer_lock().locked()
    async with write_transaction(short=True):
        await _child(family.id, "Noé").save()
    assert await Child.select(Child.first_name).output(as_list=True) == ["Noé"]
