"""A billing process killed with SIGKILL halfway, then run again: one invoice per family,
numbers without gap or duplicate (on the engine of the test pass)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time

from ecp.invoices.tables import BillingRun, Invoice, InvoiceCounter
from tests.conftest import DATABASE_URL
from tests.invoices_factories import make_billed_family, make_commune

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


def _bill(env_extra: dict[str, str]) -> subprocess.Popen:
    env = {
        **os.environ,
        "ECP_DATABASE_URL": DATABASE_URL,
        "ECP_PASSWORD_PROFILE": "test",
        "PYTHONPATH": os.path.join(ROOT, "src"),
        **env_extra,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "ecp.cli", "bill", "--month", "2026-11"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def test_killed_run_resumes_without_duplicate_or_gap():
    commune = await make_commune()
    families = []
    for i in range(24):
        family, _ = await make_billed_family(commune, code=f"F{i + 1:05d}", name=f"Famille{i}")
        families.append(family.id)

    # Batches of 4 families, 0.15 s per family inside the transaction: the kill lands while a
    # batch holds numbers it has not committed yet.
    process = _bill({"ECP_BILLING_BATCH": "4", "ECP_BILLING_PAUSE": "0.15"})
    deadline = time.monotonic() + 60
    while await Invoice.count() < 8:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "the billing never got going"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    halfway = await Invoice.count()
    assert 8 <= halfway < 24
    assert (await BillingRun.select(BillingRun.status).first())["status"] == "en_cours"

    rerun = _bill({})
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err.decode()[-2000:]

    rows = await Invoice.select(Invoice.number, Invoice.family)
    assert sorted(r["family"] for r in rows) == sorted(families)
    numbers = sorted(int(re.fullmatch(r"FAC-\d{4}-(\d{6})", r["number"]).group(1)) for r in rows)
    assert numbers == list(range(1, 25))
    assert (await InvoiceCounter.select().first())["last_number"] == 24
    runs = await BillingRun.select().order_by(BillingRun.id)
    assert len(runs) == 1 and runs[0]["status"] == "terminee"
    assert runs[0]["invoices_created"] == 24


async def test_two_billing_processes_at_once_share_the_work_without_gap():
    commune = await make_commune()
    families = []
    for i in range(16):
        family, _ = await make_billed_family(commune, code=f"F{i + 1:05d}", name=f"Famille{i}")
        families.append(family.id)
    slow = {"ECP_BILLING_BATCH": "3", "ECP_BILLING_PAUSE": "0.05"}
    first, second = _bill(slow), _bill(slow)
    for process in (first, second):
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()[-2000:]
    rows = await Invoice.select(Invoice.number, Invoice.family)
    assert sorted(r["family"] for r in rows) == sorted(families)
    numbers = sorted(int(r["number"][-6:]) for r in rows)
    assert numbers == list(range(1, 17))
