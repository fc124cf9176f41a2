"""Large buffers (an argon2 hash: 19 MiB) go back to the system once freed."""

from __future__ import annotations

import re

import argon2

from ecp.auth.passwords import PRODUCTION
from ecp.ops.memory import tune_malloc


def _rss_mb() -> float:
    return int(re.search(r"VmRSS:\s+(\d+)", open("/proc/self/status").read()).group(1)) / 1024


def test_argon2_memory_is_returned_after_each_hash():
    assert tune_malloc() is True  # Debian's glibc takes both settings
    hasher = argon2.PasswordHasher(**PRODUCTION)
    hasher.hash("une phrase de passe")
    before = _rss_mb()
    for _ in range(3):
        hasher.hash("une phrase de passe")
    # Without the pinned threshold each hash after the first stays resident (+19 MiB).
    assert _rss_mb() - before < 8
