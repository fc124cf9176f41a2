"""The dependency locks: every package pinned with its hashes, both locks agree, they cover
pyproject.toml, and make and the Docker image install from them with hash checking."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: str) -> dict[str, str]:
    """name -> version, after checking that each pin carries at least one sha256."""
    text = (ROOT / lock).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text)
    found = {}
    for entry in entries:
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", entry)
        if not match:
            continue
        assert "--hash=sha256:" in entry, f"{lock}: {match.group(1)} has no hash"
        found[norm(match.group(1))] = match.group(2)
    assert found, lock
    return found


def requirement_names(specs: list[str]) -> set[str]:
    return {norm(re.match(r"[A-Za-z0-9._-]+", s).group(0)) for s in specs}


def test_locks_pin_everything_with_hashes_and_agree():
    runtime, test = pins("requirements.lock"), pins("requirements-test.lock")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert requirement_names(project["dependencies"]) <= set(runtime)
    assert requirement_names(project["optional-dependencies"]["test"]) <= set(test)
    for name in ("playwright", "axe-playwright-python", "weasyprint", "asyncpg", "granian"):
        assert name in test
    # The test lock is the runtime lock plus the test extras, never other runtime versions.
    assert {k: v for k, v in test.items() if k in runtime} == runtime
    assert "ecp" not in runtime and "ecp" not in test  # the project is installed on its own


def test_make_and_docker_install_from_the_locks_with_hash_checking():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet --require-hashes -r $(LOCK)" in makefile
    assert "pip install --quiet --require-hashes -r $(TEST_LOCK)" in makefile
    assert "pip install --quiet --no-deps -e ." in makefile
    assert re.search(r"^\$\(VENV\)/\.installed: \$\(LOCK\)", makefile, re.M)
    assert re.search(r"^\$\(VENV\)/\.installed-test: \$\(TEST_LOCK\)", makefile, re.M)
    assert re.search(r"^lock: ", makefile, re.M) and "--generate-hashes" in makefile
    docker = (ROOT / "Dockerfile").read_text()
    lock_line = docker.index("RUN pip install --require-hashes -r requirements.lock")
    wheel_line = docker.index("RUN pip install --no-deps /tmp/wheels/ecp-*.whl")
    assert docker.index("COPY requirements.lock") < lock_line < wheel_line
    # The image installs the built wheel, never an editable checkout, and nothing from PyPI
    # beyond the lock.
    assert "-e ." not in docker and "pip install ." not in docker
