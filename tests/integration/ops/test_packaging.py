"""The product installs as a real package: the wheel holds the templates, the static files and
the migrations, and not the benchmark; installed elsewhere than the checkout, it migrates, keeps
its data in the working directory's var/ and serves pages with their CSS."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "src" / "ecp"

# Engine-independent (its own SQLite file): built once, in the SQLite pass.
pytestmark = pytest.mark.sqlite_only

# What a checkout may hold that a clean build never sees (and that could leak stale files).
NOT_SOURCES = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "var",
    "__pycache__",
    "*.pyc",
    "bench-results",
    ".pytest_cache",
)


def _files(folder: Path) -> set[str]:
    return {
        f"ecp/{p.relative_to(PACKAGE).as_posix()}"
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("packaging")
    # A copy of the checkout WITH bench/ and tests/, so that leaving them out is the build's
    # doing, not the copy's.
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    assert (source / "bench" / "run.py").is_file()
    out = work / "wheels"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "--wheel-dir",
            str(out),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (built,) = out.glob("ecp-*.whl")
    return built


def test_the_wheel_holds_templates_static_files_and_migrations(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "ecp/templates/base.html" in names
    assert "ecp/templates/pdf/invoice.html" in names
    assert "ecp/static/css/app.css" in names
    # Every file of the three folders, not a sample: a new sub-folder must not be forgotten.
    for folder in ("templates", "static"):
        missing = _files(PACKAGE / folder) - names
        assert not missing, missing
    migrations = {n for n in _files(PACKAGE / "migrations") if n.endswith(".py")}
    assert len(migrations) >= 10 and "ecp/migrations/__init__.py" in migrations
    assert migrations <= names, migrations - names


def test_the_wheel_leaves_out_the_benchmark_and_the_tests(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"ecp", "ecp-0.1.0.dist-info"}, tops
    assert not [n for n in names if "bench" in n.split("/")[:-1]]  # no bench/ folder anywhere
    assert "ecp/cli.py" in names


def test_the_product_never_imports_the_benchmark():
    users = [
        str(p.relative_to(ROOT))
        for p in PACKAGE.rglob("*.py")
        if "import bench" in p.read_text()
        or "from bench" in p.read_text()
        or "ecp.bench" in p.read_text()
    ]
    assert users == []
    assert not (PACKAGE / "bench").exists()


# Run by the installed package's own interpreter path: the app renders pages from its package
# data only, wherever the working directory is.
SERVE = textwrap.dedent("""
    import sys
    from pathlib import Path

    import ecp
    from litestar.testing import TestClient

    from ecp.app import create_app
    from ecp.settings import Settings

    assert Path(ecp.__file__).resolve().is_relative_to(Path(sys.argv[1]).resolve()), ecp.__file__
    with TestClient(create_app(Settings.from_env()), base_url="http://127.0.0.1:8139") as client:
        home = client.get("/")
        login = client.get("/connexion")
        css = client.get("/static/css/app.css")
        htmx = client.get("/static/vendor/htmx-2.0.11.min.js")
    print("RESULT", home.status_code, login.status_code, css.status_code, htmx.status_code)
    print("RESULT", "STYLESHEET" if '/static/css/app.css' in login.text else "NO-STYLESHEET")
    print("RESULT", "FORM" if "<h1>Connexion des familles</h1>" in login.text else "NO-FORM")
    print("RESULT", css.headers.get("content-type", ""), len(css.content))
""")


def test_installed_elsewhere_it_migrates_into_the_working_directory_and_serves(wheel, tmp_path):
    site = tmp_path / "site-packages"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    elsewhere = tmp_path / "ailleurs"
    elsewhere.mkdir()
    # Nothing from the checkout: neither src/ nor an ECP_* setting of the test run.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ECP_") and k not in {"PICCOLO_CONF", "PYTHONPATH"}
    }
    env.update(
        {
            "PYTHONPATH": str(site),
            "ECP_PASSWORD_PROFILE": "test",
            "ECP_BASE_URL": "http://127.0.0.1:8139",
        }
    )

    def run(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, *args],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    assert "Base de données à jour." in run("-m", "ecp.cli", "migrate").stdout
    # The default database is the working directory's var/, never inside the package.
    assert (elsewhere / "var" / "ecp.sqlite").is_file()
    assert not list(site.rglob("*.sqlite"))
    run("-m", "ecp.cli", "seed-demo")
    # The app logs to stdout too: only the script's own lines count.
    output = run("-c", SERVE, str(site)).stdout.splitlines()
    lines = [line.removeprefix("RESULT ") for line in output if line.startswith("RESULT ")]
    assert lines[0] == "200 200 200 200", lines
    assert lines[1] == "STYLESHEET" and lines[2] == "FORM", lines
    content_type, size = lines[3].rsplit(" ", 1)
    assert content_type.startswith("text/css") and int(size) > 1000, lines
    # The product's command line knows nothing of the benchmark.
    help_text = run("-m", "ecp.cli", "--help").stdout
    assert "seed-demo" in help_text and "bench" not in help_text
