"""Every environment variable is documented, and every documented one exists.

The app's variables are the fields declared in ecp.settings.Settings and its Paybox part
(ecp.payments.config.PayboxConfig); the benchmark's are its options module's ENVIRONMENT. Each must
appear in a table row of README.md (the configuration tables), the bench's in its Benchmark
section. Conversely README.md, docs/, deploy/env.example and compose.yaml must name no ECP_*
variable that nothing reads: a typo there is a setting silently ignored.
"""

from __future__ import annotations

import re
from pathlib import Path

from ecp.payments.config import PayboxConfig
from ecp.settings import Settings, declared

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
NAME = re.compile(r"ECP_[A-Z0-9_]+\*|ECP_[A-Z0-9_]*[A-Z0-9]")


def app_variables() -> set[str]:
    return {name for name, _, _ in declared(Settings) + declared(PayboxConfig)}


def bench_variables() -> set[str]:
    from bench import options

    return set(options.ENVIRONMENT)


def shell_variables() -> set[str]:
    """Variables read by the deployment's shell scripts and units (`${ECP_X:-default}`)."""
    found = set()
    for path in (ROOT / "deploy").rglob("*"):
        if path.is_file() and path.suffix in {".sh", ".service", ".cron", ".timer"}:
            found |= set(re.findall(r"\$\{?(ECP_[A-Z0-9_]+)", path.read_text()))
            found |= set(re.findall(r"\b(ECP_[A-Z0-9_]+)=", path.read_text()))
    return found


def harness_variables() -> set[str]:
    """ECP_TEST_*: read by the test harness (engine, servers), never by the app."""
    found = set()
    for path in (ROOT / "tests").rglob("*.py"):
        found |= set(re.findall(r"\b(ECP_TEST_[A-Z0-9_]+)", path.read_text()))
    return found


def known() -> set[str]:
    return app_variables() | bench_variables() | shell_variables() | harness_variables()


def unknown_names(text: str) -> list[str]:
    names = known()
    unknown = []
    for token in NAME.findall(text):
        if token.endswith("*"):  # `ECP_PAYBOX_*`: a family of variables
            if not any(n.startswith(token[:-1]) for n in names):
                unknown.append(token)
        elif token not in names:
            unknown.append(token)
    return sorted(set(unknown))


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README.md has no « ## {title} » section"
    return match.group(1)


def test_settings_are_declared_with_a_variable_and_a_meaning():
    rows = declared(Settings) + declared(PayboxConfig)
    names = [name for name, _, _ in rows]
    assert len(names) == len(set(names)), "a variable declared twice"
    assert all(re.fullmatch(r"ECP_[A-Z0-9_]+", n) for n in names)
    assert all(doc.strip() for _, _, doc in rows)
    assert {"ECP_DATABASE_URL", "ECP_STAFF_MFA", "ECP_PAYBOX_SITE"} <= set(names)


def test_every_app_variable_is_in_a_readme_table():
    table_rows = "\n".join(line for line in README.splitlines() if line.startswith("|"))
    missing = sorted(n for n in app_variables() if not re.search(rf"`{n}`", table_rows))
    assert missing == [], f"README.md's configuration tables lack: {missing}"


def test_every_bench_variable_is_in_the_readme_bench_section():
    bench = section("Benchmark")
    missing = sorted(n for n in bench_variables() if f"`{n}`" not in bench)
    assert missing == [], f"README.md's Benchmark section lacks: {missing}"


def test_the_readme_names_no_unknown_variable():
    assert unknown_names(README) == []


def test_the_docs_name_no_unknown_variable():
    for doc in sorted((ROOT / "docs").glob("*.md")):
        assert unknown_names(doc.read_text()) == [], doc.name


def test_deployment_files_name_only_real_variables():
    names = app_variables()
    for name in ("deploy/env.example", "compose.yaml"):
        text = (ROOT / name).read_text()
        found = set(re.findall(r"\b(ECP_[A-Z0-9_]+)", text))
        assert found and found <= names, f"{name}: {sorted(found - names)}"


def test_the_check_catches_a_typo():
    """The checks above can fail: a misspelt or undeclared name is reported."""
    assert unknown_names("set `ECP_SMTP_PORT` and `ECP_SMTP_PROT`") == ["ECP_SMTP_PROT"]
    assert unknown_names("the `ECP_PAYBOX_*` settings, not `ECP_PAYBOKS_*`") == ["ECP_PAYBOKS_*"]
    assert "ECP_SMTP_PROT" not in known() and "ECP_SMTP_PORT" in app_variables()
