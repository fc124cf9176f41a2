"""A backup taken while bookings are written restores to a sound database holding every booking
acknowledged before the backup began (SQLite: online backup API; PostgreSQL: pg_dump)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from ecp import clock
from ecp.booking.tables import Booking
from ecp.commune.tables import Activity
from ecp.demo.seed import seed_demo
from ecp.families.tables import Child, Family
from tests.conftest import DATABASE_URL, ENGINE

ROOT = Path(__file__).resolve().parents[3]


def ecp_cli(*args: str, url: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    if url:
        env["ECP_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "ecp.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


async def _ecp_cli_async(*args: str) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ecp.cli",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode, (out + err).decode()


class Target:
    """A second, empty database to restore into."""

    def __init__(self, tmp_path: Path) -> None:
        self.name = f"ecp_restore_{os.getpid()}"
        if ENGINE == "postgres":
            parts = urlsplit(DATABASE_URL)
            self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
        else:
            self.url = f"sqlite:///{tmp_path / 'restored.sqlite'}"

    async def _admin(self, sql: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(DATABASE_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def create(self) -> None:
        if ENGINE == "postgres":
            await self._admin(f'DROP DATABASE IF EXISTS "{self.name}"')
            await self._admin(f'CREATE DATABASE "{self.name}"')

    async def drop(self) -> None:
        if ENGINE == "postgres":
            await self._admin(f'DROP DATABASE IF EXISTS "{self.name}"')

    async def fetch(self, sql: str) -> list[tuple]:
        if ENGINE == "postgres":
            import asyncpg

            conn = await asyncpg.connect(self.url)
            try:
                return [tuple(r) for r in await conn.fetch(sql)]
            finally:
                await conn.close()
        conn = sqlite3.connect(self.url.removeprefix("sqlite:///"))
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()


@pytest.fixture
async def target(tmp_path):
    t = Target(tmp_path)
    await t.create()
    yield t
    await t.drop()


async def test_backup_under_writes_restores_every_acknowledged_booking(settings, tmp_path, target):
    await seed_demo(settings.with_(password_profile="test"), n_families=30)
    child = await Child.select(Child.id, Child.school).where(Child.school.is_not_null()).first()
    activity = await Activity.select(Activity.id).first()
    acknowledged: list[int] = []
    stop, thirty = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        day = dt.date(2031, 1, 1)
        while not stop.is_set():
            now = clock.now()
            row = Booking(
                child=child["id"],
                activity=activity["id"],
                school=child["school"],
                day=day,
                state="reservee",
                source="famille",
                created_at=now,
                updated_at=now,
            )
            await row.save()
            acknowledged.append(row.id)  # the family saw "réservé" from here on
            if len(acknowledged) == 30:
                thirty.set()
            day += dt.timedelta(days=1)
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    await thirty.wait()
    before_backup = list(acknowledged)
    families = await Family.count()
    dump = tmp_path / "nightly.backup"
    code, output = await _ecp_cli_async("backup", str(dump))
    during = len(acknowledged) - len(before_backup)
    stop.set()
    await task
    assert code == 0, output
    assert during > 0, "the writer kept writing while the backup ran"

    restored = ecp_cli("restore", str(dump), url=target.url)
    assert restored.returncode == 0, restored.stderr

    ids = {r[0] for r in await target.fetch("SELECT id FROM booking")}
    missing = set(before_backup) - ids
    assert not missing, f"{len(missing)} acknowledged bookings lost"
    assert (await target.fetch("SELECT count(*) FROM family"))[0][0] == families
    if ENGINE == "sqlite":
        assert await target.fetch("PRAGMA integrity_check") == [("ok",)]
        assert await target.fetch("PRAGMA foreign_key_check") == []
    else:
        # A restore ran in one transaction with --exit-on-error; the indexes are sound too.
        await target.fetch("CREATE EXTENSION IF NOT EXISTS amcheck")
        heap = await target.fetch(
            "SELECT c.relname, v.* FROM pg_class c, verify_heapam(c.oid) v "
            "WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace"
        )
        assert heap == [], heap
        indexes = await target.fetch(
            "SELECT bt_index_check(c.oid, true) FROM pg_index i JOIN pg_class c "
            "ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam "
            "WHERE a.amname = 'btree' AND c.relnamespace = 'public'::regnamespace"
        )
        assert len(indexes) > 10  # every b-tree index checked against its table


async def test_restore_refuses_to_overwrite_a_database_without_force(tmp_path, target):
    dump = tmp_path / "a.backup"
    assert ecp_cli("backup", str(dump)).returncode == 0
    assert ecp_cli("restore", str(dump), url=target.url).returncode == 0
    again = ecp_cli("restore", str(dump), url=target.url)
    assert again.returncode == 1 and "--force" in again.stderr
    assert ecp_cli("restore", str(dump), "--force", url=target.url).returncode == 0


def test_a_corrupt_backup_is_refused(tmp_path, target):
    bad = tmp_path / "bad.backup"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    result = ecp_cli("restore", str(bad), url=target.url)
    assert result.returncode == 1 and "Traceback" not in result.stderr
