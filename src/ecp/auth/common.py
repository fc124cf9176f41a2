"""The bundled list of common passwords, loaded once."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

LIST = Path(__file__).with_name("common_passwords.txt")


@lru_cache(maxsize=1)
def _words() -> frozenset[str]:
    lines = LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def is_common(password: str) -> bool:
    """Exact entries, and entries padded with digits or symbols ('soleil2026!')."""
    lowered = password.strip().lower()
    core = re.sub(r"[\d\W_]+$", "", re.sub(r"^[\d\W_]+", "", lowered))
    words = _words()
    if lowered in words or (core and core in words and len(core) >= 4):
        return True
    # The same character or a short pattern repeated ('aaaaaaaaaaaa', 'abcabcabcabc').
    return len(set(lowered)) <= 3
