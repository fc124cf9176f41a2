"""Argon2id hashing off the event loop, with a bounded number of hashes at once."""

from __future__ import annotations

import secrets

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


class Passwords:
    def __init__(self, profile: str = "production", concurrency: int = 4) -> None:
        if profile == "test":
            self.hasher = PasswordHasher.from_parameters(CHEAPEST)
        else:
            self.hasher = PasswordHasher(**PRODUCTION)
        self._limiter = anyio.CapacityLimiter(concurrency)
        # Unknown accounts are verified against this so both paths cost one Argon2 verify.
        self.dummy_hash = self.hasher.hash(secrets.token_urlsafe(24))

    def hash_sync(self, password: str) -> str:
        return self.hasher.hash(password)

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self.hasher.hash, password, limiter=self._limiter)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored or self.dummy_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def verify(self, stored: str | None, password: str) -> bool:
        """Exactly one Argon2 verify, whatever `stored` is; an empty hash never matches."""
        ok = await anyio.to_thread.run_sync(
            self._verify, stored or self.dummy_hash, password, limiter=self._limiter
        )
        return ok and bool(stored)

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True
