"""A real server (granian, demo data) and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.live_server import free_port, serving

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


_free_port = free_port


class LiveServer:
    def __init__(self, url: str, env: dict[str, str], log: Path):
        self.url, self.env, self.log = url, env, log

    def ecp(self, *args: str) -> str:
        """Runs an `ecp` command against the live server's database."""
        done = subprocess.run(
            [sys.executable, "-m", "ecp.cli", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout


@contextmanager
def running_server(prefix: str, extra_env: dict[str, str], setup: list[tuple[str, ...]]):
    """A granian server on a fresh SQLite database, after the `ecp` commands of `setup`."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "ECP_DATABASE_URL": f"sqlite:///{workdir}/live.sqlite",
        "ECP_BASE_URL": url,
        "ECP_PASSWORD_PROFILE": "test",
        "ECP_LOGIN_RATE_PER_MINUTE": "1000",
        "ECP_JOBS": "0",
        "PYTHONPATH": str(ROOT / "src"),
        **extra_env,
    }
    log = workdir / "server.log"
    server = LiveServer(url, env, log)
    for command in setup:
        server.ecp(*command)
    try:
        with serving(port, env, log):
            yield server
    finally:
        shutil.rmtree(workdir, ignore_errors=True)  # its database and log, once it has stopped


@pytest.fixture(scope="session")
def live_server():
    # The demo as `make run` serves it: the demo agent logs in with its password alone
    # (ECP_STAFF_MFA=facultative); tests/browser/test_staff_mfa.py runs its own server with the
    # production default.
    with running_server("ecp-live-", {"ECP_STAFF_MFA": "facultative"}, [("seed-demo",)]) as server:
        yield server


@pytest.fixture(scope="session")
async def browser():
    # The async API: the sync one runs its own loop, which pytest-asyncio's loop cannot share.
    from playwright.async_api import async_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Debian's chromium package is needed: `make test` installs it"
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        await b.close()


async def _new_page(browser, live_server, **options):
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="fr-FR", base_url=live_server.url, **options
    )
    p = await context.new_page()
    p.console_messages = []
    p.on("console", lambda msg: p.console_messages.append(f"{msg.type}: {msg.text}"))
    p.set_default_timeout(10000)
    return context, p


@pytest.fixture
async def page(browser, live_server):
    context, p = await _new_page(browser, live_server)
    yield p
    csp = [m for m in p.console_messages if "Content Security Policy" in m]
    await context.close()
    assert not csp, csp


@pytest.fixture
async def nojs_page(browser, live_server):
    context, p = await _new_page(browser, live_server, java_script_enabled=False)
    yield p
    await context.close()
