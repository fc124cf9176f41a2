"""Thin handlers, named URLs and one set of form macros, read from the source (issue 12):

- a routes module parses the request, calls one service or query, picks a template: it imports
  no table, no ecp.db and nothing of Piccolo, so it cannot run a query or open a transaction;
- templates reverse every internal address (url_for) instead of writing it, so renaming a
  route's path cannot leave a dead link behind;
- error messages and the error summary are drawn by templates/macros/forms.html only.

"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import ecp

PACKAGE = Path(ecp.__file__).parent
TEMPLATES = PACKAGE / "templates"
# A quoted string that starts with one slash: an address written by hand ("/famille/...").
URL_LITERAL = re.compile(r"""(?<![\w.])["']/(?:[a-zA-Z#?{]|["'])""")
FORBIDDEN_IN_ROUTES = ("ecp.db", "piccolo")


def _database_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        modules = []
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        for module in modules:
            if module.endswith(".tables") or any(
                module == f or module.startswith(f + ".") for f in FORBIDDEN_IN_ROUTES
            ):
                found.append(module)
    return found


def _routes_modules():
    return sorted(p for p in PACKAGE.rglob("*routes*.py") if "migrations" not in p.parts)


def _templates():
    return sorted([*TEMPLATES.rglob("*.html"), *TEMPLATES.rglob("*.txt")])


def _rel(path: Path, base: Path) -> str:
    return str(path.relative_to(base))


def test_routes_modules_run_no_query():
    offenders = {_rel(p, PACKAGE): _database_imports(p) for p in _routes_modules()}
    offenders = {name: found for name, found in offenders.items() if found}
    assert offenders == {}


def test_templates_write_no_internal_address():
    offenders = {}
    for path in _templates():
        lines = [
            f"{n}: {line.strip()[:100]}"
            for n, line in enumerate(path.read_text().splitlines(), 1)
            if URL_LITERAL.search(line)
        ]
        if lines:
            offenders[_rel(path, TEMPLATES)] = lines
    assert offenders == {}


def test_error_markup_comes_from_the_form_macros_only():
    offenders = set()
    for path in TEMPLATES.rglob("*.html"):
        name = _rel(path, TEMPLATES)
        text = path.read_text()
        if name != "macros/forms.html" and (
            'class="error-message"' in text or "error-summary" in text
        ):
            offenders.add(name)
    assert offenders == set()


def test_the_checks_see_what_they_look_for():
    """A check of the checkers, on text that must be caught and text that must not."""
    assert URL_LITERAL.search('<a href="/famille/factures">')
    assert URL_LITERAL.search("{% set x = '/agents/' ~ id %}")
    assert URL_LITERAL.search('<a href="/">')
    assert not URL_LITERAL.search("<a href=\"{{ url_for('family_invoices') }}\">")
    assert not URL_LITERAL.search('<a href="https://www.service-public.fr/">')
    assert not URL_LITERAL.search('<a href="#contenu">')
