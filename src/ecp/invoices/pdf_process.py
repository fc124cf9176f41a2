"""WeasyPrint in a process of its own, started on the first PDF and kept for the next ones.

WeasyPrint (with Pango and its fonts) adds about 25 MB when imported and 20 to 40 MB while it
lays out a document, memory that an app worker would keep for the rest of its life (issue 7:
each process ≤ 200 MB). In a separate process it also cannot stall the worker's event loop or
threads. One renderer per worker: invoices queue for it, which bounds its memory too.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

_executor: ProcessPoolExecutor | None = None


def _die_with_parent() -> None:
    """Runs first in the renderer: the kernel ends it when the worker that started it dies,
    even by SIGKILL, so no renderer outlives its worker (Linux; elsewhere a no-op)."""
    name = ctypes.util.find_library("c")
    if name:
        try:
            ctypes.CDLL(name).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def render(html: str, base_url: str) -> bytes:
    """Runs in the renderer process."""
    from weasyprint import HTML

    return HTML(string=html, base_url=base_url).write_pdf(pdf_variant="pdf/ua-1")


def _pool() -> ProcessPoolExecutor:
    global _executor
    if _executor is None:
        # spawn: a fresh interpreter that imports only this module, not the worker's state.
        _executor = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_die_with_parent,
        )
    return _executor


def shutdown() -> None:
    """Waits for the renderer to stop (at most the page it is laying out): without waiting, the
    interpreter's exit could close the queue before the stop message went out, and then wait
    forever for a renderer still listening to it."""
    global _executor
    if _executor is not None:
        _executor.shutdown(wait=True, cancel_futures=True)
        _executor = None


async def write_pdf(html: str, base_url: str) -> bytes:
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_pool(), render, html, base_url)
    except BrokenProcessPool:
        # The renderer died (killed, out of memory): start another one, once.
        shutdown()
        return await loop.run_in_executor(_pool(), render, html, base_url)
