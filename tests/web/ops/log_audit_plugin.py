"""A pytest plugin that captures the logs of a whole test run and fails the run if they hold a
password, a token, a code famille or an e-mail address (docs/security.md H3).

    .venv/bin/python -m pytest -p tests.web.ops.log_audit_plugin tests/
    .venv/bin/python -m pytest -n 2 -p tests.web.ops.log_audit_plugin tests/   (pytest-xdist)

Records are formatted by the app's own JSON formatter, so what is checked is what would be
written in production.
"""

from __future__ import annotations

import logging
import re

import pytest

FORBIDDEN = [
    re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),  # e-mail address
    re.compile(r"\bF\d{5}\b"),  # code famille (demo and test format)
    re.compile(r"demo-famille-\d|demo-agent-sej-2026|test-secret-key"),  # passwords, secret
    # A session or reset token (secrets.token_urlsafe(32) = 43 characters).
    re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"),
]


class _Audit(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        from ecp.web.logs import formatter

        if self.formatter is None:
            self.setFormatter(formatter("json"))
        line = self.format(record)
        self.count += 1
        if any(p.search(line) for p in FORBIDDEN):
            self.lines.append(line)


_audit = _Audit()
# Under pytest-xdist each worker audits its own records and hands the result to the controller
# (config.workeroutput), which reports the whole run's and fails it on a leak. A worker that
# went down without a result (crashed) is named: its records were not all audited.
_workers: list[dict] = []
_unaudited: list[str] = []


def pytest_sessionstart(session):
    logging.getLogger().addHandler(_audit)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    result = getattr(node, "workeroutput", {}).get("log_audit")
    if result is None:
        _unaudited.append(node.gateway.id)
    else:
        _workers.append(result)


def pytest_sessionfinish(session, exitstatus):
    logging.getLogger().removeHandler(_audit)
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller reports
        workeroutput["log_audit"] = {
            "count": _audit.count,
            "leaks": len(_audit.lines),
            "lines": _audit.lines[:20],
        }
        return
    count = _audit.count + sum(w["count"] for w in _workers)
    leaks = len(_audit.lines) + sum(w["leaks"] for w in _workers)
    lines = _audit.lines + [line for w in _workers for line in w["lines"]]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"log audit: {count} records, {leaks} leaks")
        for worker in _unaudited:
            reporter.write_line(f"log audit: worker {worker} gave no audit (it went down)")
    if leaks or _unaudited:
        if reporter is not None:
            for line in lines[:20]:
                reporter.write_line(f"LEAK: {line[:300]}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
