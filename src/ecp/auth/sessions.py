"""Login sessions: a fresh random token per login, only its SHA-256 stored, idle and absolute expiry.

Litestar's server-side session reuses whatever id the cookie carries, so it is not used for
identity (docs/security.md §9.1).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from ecp import clock
from ecp.auth.principal import Principal
from ecp.auth.tables import AuthSession
from ecp.commune.setup_cache import SetupCache
from ecp.db import fetch

COOKIE = "ecp_session"
# A write per request would cost more than it tells: last_seen moves by the minute.
TOUCH_EVERY = dt.timedelta(seconds=60)
# The page warns this long before the idle expiry, with a button to stay (WCAG 2.2.1).
WARN_BEFORE = dt.timedelta(minutes=2)
# Where the middleware leaves the request's SessionTimes (None without a session).
SCOPE_KEY = "ecp_session"


@dataclass(frozen=True)
class SessionTimes:
    """When this request's session ends, as the page must know to warn in time: after `idle`
    without a request, and in any case `absolute` after login (which no activity moves)."""

    created_at: dt.datetime
    last_seen_at: dt.datetime
    idle: dt.timedelta
    absolute: dt.timedelta

    @property
    def idle_end(self) -> dt.datetime:
        return self.last_seen_at + self.idle

    @property
    def absolute_end(self) -> dt.datetime:
        return self.created_at + self.absolute

    @property
    def expires_at(self) -> dt.datetime:
        return min(self.idle_end, self.absolute_end)

    @property
    def extendable(self) -> bool:
        """Staying connected helps only while the idle limit comes first."""
        return self.idle_end < self.absolute_end

    def remaining_seconds(self, now: dt.datetime | None = None) -> int:
        left = self.expires_at - (now or clock.now())
        return max(0, int(left.total_seconds()))

    @property
    def idle_minutes(self) -> int:
        return int(self.idle.total_seconds() // 60)

    @property
    def absolute_hours(self) -> int:
        return int(self.absolute.total_seconds() // 3600)

    @property
    def warn_seconds(self) -> int:
        return int(WARN_BEFORE.total_seconds())

    def seen(self, now: dt.datetime) -> SessionTimes:
        return SessionTimes(self.created_at, now, self.idle, self.absolute)


@dataclass(frozen=True)
class Resolved:
    principal: Principal | None
    setup_version: int | None
    times: SessionTimes | None = None


# Raw SQL: every request runs it, and building the equivalent Piccolo join cost more than the
# query itself. It carries the set-up version for the set-up cache (a column, not a query).
RESOLVE_SQL = (
    "SELECT s.id, s.kind, s.created_at, s.last_seen_at, "
    "f.id AS family_id, f.name AS family_name, f.code AS family_code, f.active AS family_active, "
    "f.must_change_password AS family_must_change, "
    "u.id AS staff_id, u.display_name AS staff_name, u.role AS staff_role, "
    "u.active AS staff_active, u.must_change_password AS staff_must_change, "
    # An agent limited to some schools (ecp.auth.scope): which ones is read when needed.
    "EXISTS (SELECT 1 FROM staff_school ss WHERE ss.staff = u.id) AS staff_limited, "
    f"{SetupCache.VERSION_COLUMN} AS setup_version "
    "FROM auth_session s LEFT JOIN family f ON f.id = s.family "
    "LEFT JOIN staff_user u ON u.id = s.staff WHERE s.token_hash = {}"
)
SESSION_TYPES = {
    "created_at": dt.datetime,
    "last_seen_at": dt.datetime,
    "family_active": bool,
    "staff_active": bool,
    "family_must_change": bool,
    "staff_must_change": bool,
    "staff_limited": bool,
}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(*, family_id: int | None = None, staff_id: int | None = None) -> str:
    token = secrets.token_urlsafe(32)
    now = clock.now()
    await AuthSession.insert(
        AuthSession(
            token_hash=hash_token(token),
            kind="family" if family_id else "staff",
            family=family_id,
            staff=staff_id,
            created_at=now,
            last_seen_at=now,
        )
    )
    return token


async def close_session(token: str | None) -> None:
    if token:
        await AuthSession.delete().where(AuthSession.token_hash == hash_token(token))


async def close_all_for(
    *, family_id: int | None = None, staff_id: int | None = None, keep_session_id: int | None = None
) -> None:
    query = AuthSession.delete()
    where = AuthSession.family == family_id if family_id else AuthSession.staff == staff_id
    if keep_session_id is not None:
        where = where & (AuthSession.id != keep_session_id)
    await query.where(where)


async def resolve(
    token: str | None, *, idle: dt.timedelta, absolute: dt.timedelta
) -> Principal | None:
    return (await resolve_with_setup_version(token, idle=idle, absolute=absolute))[0]


async def resolve_with_setup_version(
    token: str | None, *, idle: dt.timedelta, absolute: dt.timedelta
) -> tuple[Principal | None, int | None]:
    found = await resolve_session(token, idle=idle, absolute=absolute)
    return found.principal, found.setup_version


async def resolve_session(
    token: str | None, *, idle: dt.timedelta, absolute: dt.timedelta
) -> Resolved:
    """One query in the common case; expired sessions are deleted as they are found. The same
    query reads the commune set-up's version, for the caller to hand to SETUP.current(), and
    the session's times, for the page to warn before it ends."""
    if not token or len(token) > 100:
        return Resolved(None, None)
    hashed = hash_token(token)
    rows = await fetch(RESOLVE_SQL, hashed, types=SESSION_TYPES)
    if not rows:
        return Resolved(None, None)
    row = rows[0]
    principal, times = await _principal(row, hashed, idle=idle, absolute=absolute)
    return Resolved(principal, row["setup_version"], times)


async def extend(session_id: int, times: SessionTimes) -> SessionTimes:
    """« Rester connecté »: the idle limit starts again now (the absolute one does not move)."""
    now = clock.now()
    await AuthSession.update({AuthSession.last_seen_at: now}).where(AuthSession.id == session_id)
    return times.seen(now)


# Sessions this process is touching or touched, by token hash, with when: the requests of one
# session that arrive together (a page and its htmx swaps, a phone's retries) all read the old
# last_seen until the first write commits, and each would write it again, one after the other
# behind the writer. One write per session and minute and process is enough. Bounded.
_TOUCHED: dict[str, dt.datetime] = {}
TOUCHED_MAX = 20_000


def _first_to_touch(hashed: str, now: dt.datetime) -> bool:
    last = _TOUCHED.get(hashed)
    if last is not None and now - last <= TOUCH_EVERY and last <= now:
        return False
    if len(_TOUCHED) >= TOUCHED_MAX:
        _TOUCHED.clear()
    _TOUCHED[hashed] = now
    return True


async def _principal(
    row: dict, hashed: str, *, idle: dt.timedelta, absolute: dt.timedelta
) -> tuple[Principal | None, SessionTimes | None]:
    now = clock.now()
    created, seen = row["created_at"], row["last_seen_at"]
    active = row["family_active"] if row["kind"] == "family" else row["staff_active"]
    if now - seen > idle or now - created > absolute or not active:
        await AuthSession.delete().where(AuthSession.id == row["id"])
        return None, None
    if now - seen > TOUCH_EVERY:
        if _first_to_touch(hashed, now):
            await AuthSession.update({AuthSession.last_seen_at: now}).where(
                AuthSession.id == row["id"]
            )
        seen = now  # written now, or by this process less than a minute ago
    times = SessionTimes(created, seen, idle, absolute)
    return _who(row), times


def _who(row: dict) -> Principal:
    if row["kind"] == "family":
        return Principal(
            kind="family",
            session_id=row["id"],
            name=row["family_name"],
            family_id=row["family_id"],
            code=row["family_code"],
            must_change_password=bool(row["family_must_change"]),
        )
    return Principal(
        kind="staff",
        session_id=row["id"],
        name=row["staff_name"],
        staff_id=row["staff_id"],
        role=row["staff_role"],
        must_change_password=bool(row["staff_must_change"]),
        school_limited=bool(row["staff_limited"]),
    )
