"""Authentication with account back-off: one Argon2 verify on every path, one generic answer.
For staff, a correct password may only open the way to the second factor (ecp.auth.mfa)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Awaitable, Callable

from ecp import clock
from ecp.auth.passwords import Passwords
from ecp.auth.tables import StaffTotp
from ecp.families.tables import Family
from ecp.staff.tables import StaffUser


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    account_id: int | None = None
    # "code" (the account gives its TOTP code) or "activation" (it enrols first); None: done.
    second_factor: str | None = None


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
                        threshold: int, max_minutes: int,
                        second_factor: Callable[[int], Awaitable[str | None]] | None = None,
                        ) -> LoginResult:
    stored = row["password_hash"] if row else None
    ok = await passwords.verify(stored, password)
    if row is None:
        return LoginResult(False)
    locked_until = _aware(row["locked_until"])
    locked = locked_until is not None and locked_until > clock.now()
    if ok and row["active"] and not locked:
        # Asked only once the password is right: the failure paths stay identical (A6).
        factor = await second_factor(row["id"]) if second_factor else None
        changes = {}
        if factor is None:
            changes = {table.failed_logins: 0, table.locked_until: None,
                       table.last_login_at: clock.now()}
        # With a second factor to come, the failure count stays: else a password known to an
        # attacker would reset the back-off between each series of guessed codes.
        if passwords.needs_rehash(stored):
            changes[table.password_hash] = await passwords.hash(password)
        if changes:
            await table.update(changes).where(table.id == row["id"])
        return LoginResult(True, row["id"], second_factor=factor)
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
                             threshold: int = 5, max_minutes: int = 60,
                             mfa_required: bool = True) -> LoginResult:
    """An enrolled account always gives its code; with `mfa_required` (ECP_STAFF_MFA
    obligatoire) an account without an authenticator enrols before any session."""
    rows = await StaffUser.select(
        StaffUser.id, StaffUser.password_hash, StaffUser.active, StaffUser.failed_logins,
        StaffUser.locked_until,
    ).where(StaffUser.username == username.strip().lower())

    async def second_factor(staff_id: int) -> str | None:
        if await StaffTotp.exists().where(StaffTotp.staff == staff_id):
            return "code"
        return "activation" if mfa_required else None

    return await _authenticate(StaffUser, rows[0] if rows else None, password, passwords,
                               threshold, max_minutes, second_factor)
