"""The suite-wide log audit plugin fails a run whose logs hold a code famille, and passes a
run whose only personal data was masked by the app's formatter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _run(tmp_path: Path, message: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_sample.py").write_text(
        "import logging\n\ndef test_logs():\n"
        f"    logging.getLogger('sample').warning({message!r})\n"
    )
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.web.ops.log_audit_plugin",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            "/dev/null",
            "--rootdir",
            str(tmp_path),
            str(tmp_path / "test_sample.py"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": f"{ROOT}:{ROOT / 'src'}", "PATH": "/usr/bin:/bin"},
    )


def test_a_leak_fails_the_run(tmp_path):
    result = _run(tmp_path, "login by F00001 with demo-famille-1")
    assert result.returncode == 1
    assert "LEAK" in result.stdout and "1 leaks" in result.stdout


def test_masked_addresses_pass(tmp_path):
    result = _run(tmp_path, "mail queued for someone@example.org")
    assert result.returncode == 0, result.stdout
    assert "0 leaks" in result.stdout


def test_under_xdist_a_leak_in_a_worker_fails_the_run(tmp_path):
    # `make test` runs on two worker processes: each audits its own records, the controller adds
    # them up and fails the run. Two tests, so that each worker has one.
    (tmp_path / "test_sample.py").write_text(
        "import logging\n\n"
        "def test_leaks():\n"
        "    logging.getLogger('sample').warning('login by F00001')\n\n"
        "def test_clean():\n"
        "    logging.getLogger('sample').warning('nothing to see')\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.web.ops.log_audit_plugin",
            "-q",
            "-p",
            "no:cacheprovider",
            "-n",
            "2",
            "-c",
            "/dev/null",
            "--rootdir",
            str(tmp_path),
            str(tmp_path / "test_sample.py"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": f"{ROOT}:{ROOT / 'src'}", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1, result.stdout
    assert "2 passed" in result.stdout
    assert "log audit: 2 records, 1 leaks" in result.stdout
    assert "LEAK" in result.stdout and "F00001" in result.stdout
