"""Argon2id hashing off the event loop, with a bounded number of hashes at once, and a bounded
wait for them: a login that would queue longer than `max_wait` seconds is answered at once with
the « file d'attente » page (ecp.auth.queue) instead of timing out in the queue."""

from __future__ import annotations

import math
import secrets
import time

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


# A login whose password check would start later than this is sent to the queue page.
MAX_WAIT_SECONDS = 3.0


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

    def estimated_wait(self) -> float:
        """Seconds before a check asked now would be done: the queue ahead, by rounds of
        `concurrency` hashes at once."""
        return math.ceil((self._pending + 1) / self.concurrency) * self.hash_seconds

    def admit(self, *, priority: bool = False) -> None:
        """Raises Saturated when a new login would wait more than `max_wait`; a `priority`
        login (a queue ticket whose turn came) is always admitted."""
        if priority or self.max_wait is None:
            return
        wait = self.estimated_wait()
        if wait > self.max_wait:
            raise Saturated(wait)

    def _timed(self, function, *args):
        started = time.perf_counter()
        try:
            return function(*args)
        finally:
            self.hash_seconds = 0.8 * self.hash_seconds + 0.2 * (time.perf_counter() - started)

    async def _run(self, function, *args):
        self._pending += 1
        try:
            return await anyio.to_thread.run_sync(
                self._timed, function, *args, limiter=self._limiter
            )
        finally:
            self._pending -= 1

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
