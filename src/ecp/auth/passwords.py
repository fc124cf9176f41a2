"""Argon2id hashing off the event loop, with a bounded number of hashes at once, and a bounded
wait for them: a login that would queue longer than `max_wait` seconds is answered at once with
the « file d'attente » page (ecp.auth.queue) instead of timing out in the queue."""

from __future__ import annotations

import contextvars
import math
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import CHEAPEST

# Pinned so a library upgrade cannot silently change the cost. OWASP's argon2id setting
# (m=19 MiB, t=2, p=1) rather than RFC 9106's 64 MiB one: a worker hashing two logins at once
# then stays well under its 200 MB budget, and a login storm queues for less time.
PRODUCTION = dict(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)

FAMILY_MIN_LENGTH = 12
STAFF_MIN_LENGTH = 15
MAX_LENGTH = 128


# A login whose password check would start later than this is sent to the queue page; a login
# whose queue ticket is due waits up to PRIORITY_FACTOR times as long before being sent back.
MAX_WAIT_SECONDS = 3.0
PRIORITY_FACTOR = 4


# Set while a login admitted by Passwords.admission() runs: its check is already counted.
_reserved: contextvars.ContextVar[bool] = contextvars.ContextVar("ecp_hash_reserved", default=False)


class Saturated(Exception):
    """Too many password checks queued in this process: `wait` seconds before this one."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"password checks saturated ({wait:.1f} s)")
        self.wait = wait


class Passwords:
    def __init__(
        self,
        profile: str = "production",
        concurrency: int = 4,
        max_wait: float | None = MAX_WAIT_SECONDS,
    ) -> None:
        if profile == "test":
            self.hasher = PasswordHasher.from_parameters(CHEAPEST)
        else:
            self.hasher = PasswordHasher(**PRODUCTION)
        self.concurrency = max(1, concurrency)
        self.max_wait = max_wait
        self._limiter = anyio.CapacityLimiter(self.concurrency)
        self._pending = 0  # checks queued or running in this process
        started = time.perf_counter()
        # Unknown accounts are verified against this so both paths cost one Argon2 verify.
        self.dummy_hash = self.hasher.hash(secrets.token_urlsafe(24))
        # Seconds one hash takes here, followed as checks run (a moving average).
        self.hash_seconds = max(time.perf_counter() - started, 0.001)
        self._tail = 0.0  # (monotonic) when the last queue ticket handed out falls due

    def estimated_wait(self) -> float:
        """Seconds before a check asked now would be done: the queue ahead, by rounds of
        `concurrency` hashes at once."""
        return math.ceil((self._pending + 1) / self.concurrency) * self.hash_seconds

    def queue_wait(self) -> float:
        """Seconds until a new queue ticket's turn: after the queue as it stands and after
        every ticket handed out before it, one hashing slot each, so that families come back
        one after the other in the order they arrived instead of all at once."""
        now = time.monotonic()
        self._tail = max(self._tail, now + self.estimated_wait()) + (
            self.hash_seconds / self.concurrency
        )
        return self._tail - now

    def admit(self, *, priority: bool = False) -> None:
        """Raises Saturated when a new login would wait more than `max_wait`; a `priority`
        login (a queue ticket whose turn came) up to PRIORITY_FACTOR times that, so that the
        hashing queue stays bounded even when every ticket falls due at once."""
        if self.max_wait is None:
            return
        wait = self.estimated_wait()
        if wait > self.max_wait * (PRIORITY_FACTOR if priority else 1):
            raise Saturated(wait)

    @contextmanager
    def admission(self, *, priority: bool = False) -> Iterator[None]:
        """A login's whole attempt: admitted (or Saturated) now, and its check counted in the
        queue from now on, not only once it reaches the hash: a burst of logins that are all
        still reading their account would otherwise all see an empty queue."""
        self.admit(priority=priority)
        self._pending += 1
        token = _reserved.set(True)
        try:
            yield
        finally:
            _reserved.reset(token)
            self._pending -= 1

    def _timed(self, function, *args):
        started = time.perf_counter()
        try:
            return function(*args)
        finally:
            self.hash_seconds = 0.8 * self.hash_seconds + 0.2 * (time.perf_counter() - started)

    async def _run(self, function, *args):
        counted = not _reserved.get()  # an admitted login's check is counted already
        self._pending += counted
        try:
            return await anyio.to_thread.run_sync(
                self._timed, function, *args, limiter=self._limiter
            )
        finally:
            self._pending -= counted

    def hash_sync(self, password: str) -> str:
        return self.hasher.hash(password)

    async def hash(self, password: str) -> str:
        return await self._run(self.hasher.hash, password)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored or self.dummy_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def verify(self, stored: str | None, password: str) -> bool:
        """Exactly one Argon2 verify, whatever `stored` is; an empty hash never matches."""
        ok = await self._run(self._verify, stored or self.dummy_hash, password)
        return ok and bool(stored)

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True
