"""Authentication with account back-off: one Argon2 verify on every path, one generic answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ecp import clock
from ecp.auth.passwords import Passwords
from ecp.families.tables import Family
from ecp.staff.tables import StaffUser


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    account_id: int | None = None


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def backoff_until(failures: int, threshold: int, max_minutes: int) -> dt.datetime | None:
    """After `threshold` failures: 1, 2, 4 ... minutes, capped; the lock lifts by itself."""
    if failures < threshold:
        return None
    minutes = min(2 ** (failures - threshold), max_minutes)
    return clock.now() + dt.timedelta(minutes=minutes)


async def _authenticate(table, row: dict | None, password: str, passwords: Passwords,
                        threshold: int, max_minutes: int) -> LoginResult:
    stored = row["password_hash"] if row else None
    ok = await passwords.verify(stored, password)
    if row is None:
        return LoginResult(False)
    locked_until = _aware(row["locked_until"])
    locked = locked_until is not None and locked_until > clock.now()
    if ok and row["active"] and not locked:
        changes = {table.failed_logins: 0, table.locked_until: None, table.last_login_at: clock.now()}
        if passwords.needs_rehash(stored):
            changes[table.password_hash] = await passwords.hash(password)
        await table.update(changes).where(table.id == row["id"])
        return LoginResult(True, row["id"])
    if not locked:
        failures = row["failed_logins"] + 1
        await table.update(
            {table.failed_logins: failures,
             table.locked_until: backoff_until(failures, threshold, max_minutes)}
        ).where(table.id == row["id"])
    return LoginResult(False)


async def authenticate_family(code: str, password: str, passwords: Passwords, *,
                              threshold: int = 5, max_minutes: int = 60) -> LoginResult:
    rows = await Family.select(
        Family.id, Family.password_hash, Family.active, Family.failed_logins, Family.locked_until
    ).where(Family.code == code.strip().upper())
    return await _authenticate(Family, rows[0] if rows else None, password, passwords,
                               threshold, max_minutes)


async def authenticate_staff(username: str, password: str, passwords: Passwords, *,
                             threshold: int = 5, max_minutes: int = 60) -> LoginResult:
    rows = await StaffUser.select(
        StaffUser.id, StaffUser.password_hash, StaffUser.active, StaffUser.failed_logins,
        StaffUser.locked_until,
    ).where(StaffUser.username == username.strip().lower())
    return await _authenticate(StaffUser, rows[0] if rows else None, password, passwords,
                               threshold, max_minutes)
