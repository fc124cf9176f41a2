"""docs/ stays true: every test it cites exists, every module it names imports, and nothing in
the repository points at reference documents that are not in it."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCS = sorted((ROOT / "docs").glob("*.md"))
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?")
MODULE_REF = re.compile(r"`(ecp(?:\.\w+)+)`")


def test_the_docs_exist():
    assert {p.name for p in DOCS} >= {"security.md", "payments.md", "product.md"}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_cited_test_exists(doc):
    missing = []
    for path, name in TEST_REF.findall(doc.read_text()):
        file = ROOT / path
        if not file.is_file():
            missing.append(path)
        elif name and not re.search(rf"^(async )?def {name}\(", file.read_text(), re.M):
            missing.append(f"{path}::{name}")
    assert missing == [], f"{doc.name} cites tests that do not exist: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_named_module_imports(doc):
    missing = []
    for dotted in set(MODULE_REF.findall(doc.read_text())):
        parts = dotted.split(".")
        # `ecp.payments.paybox.read_notification`: the longest importable prefix, then attributes.
        for cut in range(len(parts), 1, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                missing.append(dotted)
            break
        else:
            missing.append(dotted)
    assert missing == [], f"{doc.name} names what does not exist: {sorted(missing)}"


def test_nothing_points_at_documents_outside_the_repository():
    # Spelt in pieces so that this file does not itself match what it looks for.
    names = "|".join(("SECURITY", "PAYBOX", "PRODUCT", "TREASURY", "STYLE", "FIELD"))
    outside = re.compile(rf"({names})\.md|shared" + "/")
    found = []
    for base in ("src", "bench", "tests", "deploy", "docs"):
        for path in (ROOT / base).rglob("*"):
            if (
                path.suffix
                in {".py", ".html", ".txt", ".md", ".css", ".js", ".yaml", ".conf", ".sh", ".toml"}
                and path.is_file()
                and path != Path(__file__)
            ):
                if outside.search(path.read_text(errors="replace")):
                    found.append(str(path.relative_to(ROOT)))
    for name in ("README.md", "Makefile", "Dockerfile", "pyproject.toml", "compose.yaml"):
        if (ROOT / name).is_file() and outside.search((ROOT / name).read_text()):
            found.append(name)
    assert found == [], f"these refer to documents outside the repository: {found}"
