"""`python -m bench.opening` end to end on a small commune: the harness logs families in,
books, checks the places in the database and says so (SQLite, one worker, no Redis: the
PostgreSQL + Redis run is `make bench-opening`'s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.sqlite_only


def test_a_small_opening_runs_clean(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECP_")}
    env["PYTHONPATH"] = f"{ROOT / 'src'}:{ROOT}"
    label = f"opening-test-{os.getpid()}"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.opening",
            "--database-url",
            f"sqlite:///{tmp_path / 'opening.sqlite'}",
            "--families",
            "60",
            "--arrivals",
            "12",
            "--seconds",
            "3",
            "--workers",
            "1",
            "--scarce",
            "1",
            "--label",
            label,
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "verdict : atteint" in done.stdout
    files = sorted((ROOT / "bench-results").glob(f"{label}-*.json"))
    try:
        result = json.loads(files[-1].read_text())
        assert result["logged_in"] == result["families"] == 12
        assert result["errors"] == {} and result["booked"] > 0
        assert result["capacity_after"]["over_capacity"] == 0
        assert result["capacity_after"]["drift"] == 0
        assert result["login_p95_ms"] is not None and result["page_p95_ms"] is not None
    finally:
        for path in files:
            path.unlink()
