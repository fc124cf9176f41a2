"""WeasyPrint runs in a renderer process of its own: the worker never imports it, and a dead
renderer is replaced on the next PDF."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from ecp.invoices import pdf_process

HTML = (
    "<!doctype html><html lang=fr><head><title>Facture</title></head>"
    "<body><h1>Facture FAC-2026-000001</h1><p>Total : 12,50 €</p></body></html>"
)


def _renderer_pids() -> list[int]:
    pool = pdf_process._executor
    return list(pool._processes) if pool is not None else []


async def test_the_pdf_is_rendered_in_another_process_which_is_replaced_when_it_dies():
    try:
        first = await pdf_process.write_pdf(HTML, "/")
        assert first.startswith(b"%PDF-")
        (pid,) = _renderer_pids()
        assert pid != os.getpid()
        os.kill(pid, signal.SIGKILL)
        again = await pdf_process.write_pdf(HTML, "/")
        assert again.startswith(b"%PDF-")
        (new_pid,) = _renderer_pids()
        assert new_pid != pid
    finally:
        pdf_process.shutdown()
    assert pdf_process._executor is None


def test_the_app_worker_does_not_import_weasyprint():
    code = (
        "import sys; from ecp.app import create_app; from ecp.settings import Settings; "
        "create_app(Settings.from_env()); import ecp.invoices.routes; "
        "print('weasyprint' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "ECP_DATABASE_URL": "sqlite:////tmp/ecp-no-db.sqlite"},
        timeout=60,
    )
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr[-2000:]


SCRIPT = """
import asyncio, os, sys, time
from ecp.invoices import pdf_process
HTML = {html!r}
async def main():
    await pdf_process.write_pdf(HTML, "/")
    print(list(pdf_process._executor._processes)[0], flush=True)
    if sys.argv[1] == "exit":
        pdf_process.shutdown()
    else:
        time.sleep(60)
asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return "State:\tZ" not in status.read()
    except FileNotFoundError:
        return False


def _wait_gone(pid: int, seconds: float = 10) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def test_a_worker_that_stops_stops_its_renderer_and_exits():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(html=HTML), "exit"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    renderer = int(done.stdout.split()[0])
    assert _wait_gone(renderer)


def test_a_killed_worker_takes_its_renderer_with_it():
    worker = subprocess.Popen(
        [sys.executable, "-c", SCRIPT.format(html=HTML), "sleep"], stdout=subprocess.PIPE, text=True
    )
    try:
        renderer = int(worker.stdout.readline())
        assert _alive(renderer)
        worker.kill()
        worker.wait(timeout=10)
        assert _wait_gone(renderer)
    finally:
        if worker.poll() is None:
            worker.kill()
