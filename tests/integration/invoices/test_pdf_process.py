"""WeasyPrint runs in a renderer process of its own: the worker never imports it, and a dead
renderer is replaced on the next PDF."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from ecp.invoices import pdf_process

HTML = ("<!doctype html><html lang=fr><head><title>Facture</title></head>"
        "<body><h1>Facture FAC-2026-000001</h1><p>Total : 12,50 €</p></body></html>")


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
    code = ("import sys; from ecp.app import create_app; from ecp.settings import Settings; "
            "create_app(Settings.from_env()); import ecp.invoices.routes; "
            "print('weasyprint' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "ECP_DATABASE_URL": "sqlite:////tmp/ecp-no-db.sqlite"},
                         timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr[-2000:]
