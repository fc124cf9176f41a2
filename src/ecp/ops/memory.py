"""Keep a worker's resident memory near what it uses (issue 7: each process ≤ 200 MB).

glibc serves an allocation above its mmap threshold with its own mapping, returned to the system
when freed; but the threshold rises to the size of any such block once freed, so the second
argon2 hash (19 MiB) comes from the heap and stays resident after the login. Pinning the
threshold at 1 MiB gives large, short-lived buffers back at once; two arenas stop each worker
thread (argon2, file writes) from keeping a heap of its own.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8


def tune_malloc(mmap_threshold: int = 1 << 20, arenas: int = 2) -> bool:
    """True when glibc accepted both settings; elsewhere (musl, macOS) nothing changes."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(M_ARENA_MAX, arenas))
