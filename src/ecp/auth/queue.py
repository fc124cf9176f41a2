"""The login queue: « file d'attente » tickets for logins the server cannot check in time.

When a process's password checks are saturated (ecp.auth.passwords.Saturated: a new login would
wait more than a few seconds for Argon2), the login form is answered at once with a light page
that says so, holds a signed ticket and reloads itself (the Refresh header, no JavaScript)
until the ticket's turn comes. Its turn is the time the queue would have reached it
when it arrived, so families keep the order in which they came; then the page shows the login
form again, carrying the ticket, and that login is checked whatever the queue (priority).

The ticket holds no account and no address: the kind of login, when it is due, a nonce, and an
HMAC of them under the secret key. Nothing is stored: any worker reads any ticket. A due ticket
only skips the wait bound (never the rate limits, the back-off or the password), for a few
minutes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass

from ecp import clock

KINDS = ("family", "staff")
# A due ticket opens the priority lane for this long; a ticket further ahead is refused.
VALID_AFTER_TURN = dt.timedelta(minutes=5)
LONGEST_WAIT = dt.timedelta(hours=1)
# The page reloads itself at its turn, never sooner than this nor later than the second.
REFRESH_MIN, REFRESH_MAX = 3, 20


@dataclass(frozen=True)
class Ticket:
    kind: str
    due: dt.datetime
    value: str

    def seconds_left(self, now: dt.datetime | None = None) -> int:
        return max(0, math.ceil((self.due - (now or clock.now())).total_seconds()))

    def is_due(self, now: dt.datetime | None = None) -> bool:
        return self.seconds_left(now) == 0

    def refresh_seconds(self, now: dt.datetime | None = None) -> int:
        return min(REFRESH_MAX, max(REFRESH_MIN, self.seconds_left(now)))


def _key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"ecp-login-queue", hashlib.sha256).digest()


def _sign(secret_key: str, payload: str) -> str:
    return hmac.new(_key(secret_key), payload.encode(), hashlib.sha256).hexdigest()[:32]


def issue(secret_key: str, kind: str, wait_seconds: float) -> Ticket:
    """A ticket due when the queue, as it stands, would have reached this login."""
    due = clock.now() + dt.timedelta(seconds=max(0.0, wait_seconds))
    payload = f"{kind}.{int(due.timestamp() * 1000)}.{secrets.token_urlsafe(9)}"
    return Ticket(kind, due, f"{payload}.{_sign(secret_key, payload)}")


def read(secret_key: str, value: str | None) -> Ticket | None:
    """The ticket `value` names, or None (forged, malformed, expired or too far ahead)."""
    if not value or len(value) > 120:
        return None
    parts = value.split(".")
    if len(parts) != 4 or parts[0] not in KINDS or not parts[1].isdigit():
        return None
    payload = ".".join(parts[:3])
    if not hmac.compare_digest(parts[3], _sign(secret_key, payload)):
        return None
    due = dt.datetime.fromtimestamp(int(parts[1]) / 1000, dt.UTC)
    now = clock.now()
    if now > due + VALID_AFTER_TURN or due > now + LONGEST_WAIT:
        return None
    return Ticket(parts[0], due, value)
