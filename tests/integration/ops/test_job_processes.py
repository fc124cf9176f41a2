"""Two real processes on one database: the lease holder is killed (SIGKILL), the other takes
its job over within the lease time, and the job never runs twice in one period."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.integration.ops.runner_proc import PERIOD, TICK, TTL
from tests.integration.ops.test_backup import ecp_cli

ROOT = Path(__file__).resolve().parents[3]


class Proc:
    def __init__(self, holder: str) -> None:
        env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
        self.p = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.ops.runner_proc", holder],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.lines: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.p.stdout:
            try:
                self.lines.append(json.loads(line))
            except ValueError:
                pass

    def runs(self) -> list[float]:
        return [line["start"] for line in self.lines if "start" in line]

    def wait_for(self, predicate, timeout: float) -> bool:
        end = time.time() + timeout
        while time.time() < end:
            if predicate():
                return True
            time.sleep(0.05)
        return False

    def kill(self) -> None:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
        self.p.wait(5)


def test_killing_the_lease_holder_hands_the_job_to_the_other_process():
    a = Proc("A")
    b = None
    try:
        assert a.wait_for(lambda: len(a.runs()) >= 1, 30), "process A never ran the job"
        b = Proc("B")
        assert b.wait_for(lambda: any("ready" in line for line in b.lines), 30)
        # B polls the lease every tick meanwhile: two more runs of A's are two periods later.
        held = len(a.runs())
        assert a.wait_for(lambda: len(a.runs()) >= held + 2, 30), "A stopped running the job"
        assert b.runs() == [], "B ran a job whose lease A holds"
        a.kill()
        killed = time.time()
        assert b.wait_for(lambda: len(b.runs()) >= 1, 60), "no hand-over within a minute"
        handover = b.runs()[0] - killed
        assert handover <= TTL + PERIOD + 2 * TICK + 3.0  # slack for a loaded CI machine
        b.wait_for(lambda: len(b.runs()) >= 3, 10)
    finally:
        a.kill()
        if b is not None:
            b.kill()
    starts = sorted(a.runs() + b.runs())
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:])]
    assert min(gaps) >= PERIOD * 0.8, "the job ran twice within one period"


def test_ecp_jobs_once_runs_the_due_jobs_and_remembers_them():
    first = ecp_cli("jobs", "--once")
    assert first.returncode == 0, first.stderr
    assert "mail, reminders, retention, cleanup" in first.stdout
    second = ecp_cli("jobs", "--once")
    assert "aucune" in second.stdout  # the schedule is kept in the database
