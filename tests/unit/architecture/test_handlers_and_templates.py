"""Thin handlers, named URLs and one set of form macros, read from the source (issue 12):

- a routes module parses the request, calls one service or query, picks a template: it imports
  no table, no ecp.db and nothing of Piccolo, so it cannot run a query or open a transaction;
- templates reverse every internal address (url_for) instead of writing it, so renaming a
  route's path cannot leave a dead link behind;
- error messages and the error summary are drawn by templates/macros/forms.html only.

Each *_LEFT set names the files not yet converted; it may only shrink (a test below fails on a
name that no longer needs to be there), and the goal is for every set to be empty.
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

ROUTES_LEFT = {
    "accounts/routes.py",
    "auth/mfa_routes.py",
    "backoffice/activity_routes.py",
    "backoffice/family_routes.py",
    "backoffice/journal_routes.py",
    "backoffice/request_routes.py",
    "backoffice/settings_routes.py",
    "booking/routes.py",
    "booking/staff_routes.py",
    "invoices/routes.py",
    "invoices/tariff_routes.py",
}

TEMPLATES_LEFT = {
    "pages/accounts/contact_change.html",
    "pages/accounts/forgotten.html",
    "pages/accounts/my_data.html",
    "pages/accounts/password.html",
    "pages/auth/family_login.html",
    "pages/auth/staff_activation.html",
    "pages/auth/staff_code.html",
    "pages/auth/staff_login.html",
    "pages/auth/staff_mfa_setup.html",
    "pages/backoffice/child.html",
    "pages/backoffice/child_health.html",
    "pages/backoffice/families.html",
    "pages/backoffice/family.html",
    "pages/backoffice/family_new.html",
    "pages/backoffice/home.html",
    "pages/backoffice/journal.html",
    "pages/backoffice/settings_activity.html",
    "pages/backoffice/settings_school.html",
    "pages/backoffice/settings_staff.html",
    "pages/backoffice/welcome_letter.html",
    "pages/booking/inscriptions.html",
    "pages/booking/inscriptions_print.html",
    "pages/booking/pattern.html",
    "pages/booking/staff_attendance.html",
    "pages/booking/staff_family_week.html",
    "pages/booking/staff_inscriptions.html",
    "pages/booking/week.html",
    "pages/invoices/family_detail.html",
    "pages/invoices/family_list.html",
    "pages/invoices/staff_billing.html",
    "pages/invoices/staff_invoice.html",
    "pages/invoices/staff_invoices.html",
    "partials/accounts/contact_details.html",
    "partials/accounts/contact_form.html",
    "partials/accounts/forgotten_form.html",
    "partials/accounts/password_form.html",
    "partials/accounts/reset_form.html",
    "partials/auth/activation_form.html",
    "partials/auth/code_form.html",
    "partials/auth/mfa_setup_form.html",
    "partials/auth/staff_account.html",
    "partials/auth/staff_password_form.html",
    "partials/backoffice/activity_form.html",
    "partials/backoffice/child_form.html",
    "partials/backoffice/family_form.html",
    "partials/backoffice/family_record.html",
    "partials/backoffice/family_results.html",
    "partials/backoffice/journal_entries.html",
    "partials/backoffice/request_queue.html",
    "partials/backoffice/school_form.html",
    "partials/backoffice/settings_overview.html",
    "partials/backoffice/staff_form.html",
    "partials/backoffice/staff_mfa.html",
    "partials/booking/attendance_lists.html",
    "partials/booking/ics_panel.html",
    "partials/booking/inscription_list.html",
    "partials/booking/pattern_form.html",
    "partials/invoices/billing_progress.html",
    "partials/invoices/credit_note_form.html",
    "partials/invoices/paperless_choice.html",
    "partials/invoices/tariff_form.html",
}
MARKUP_LEFT = {
    "pages/booking/inscriptions.html",
    "pages/invoices/staff_billing.html",
    "partials/backoffice/activity_form.html",
    "partials/backoffice/journal_entries.html",
    "partials/backoffice/request_queue.html",
    "partials/booking/attendance_lists.html",
    "partials/booking/inscription_list.html",
    "partials/booking/pattern_form.html",
    "partials/invoices/credit_note_form.html",
    "partials/invoices/paperless_choice.html",
    "partials/invoices/tariff_form.html",
}


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
    assert set(offenders) <= ROUTES_LEFT, {
        k: v for k, v in offenders.items() if k not in ROUTES_LEFT
    }
    assert ROUTES_LEFT <= set(offenders), (
        f"converted, remove from ROUTES_LEFT: {ROUTES_LEFT - set(offenders)}"
    )


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
    assert set(offenders) <= TEMPLATES_LEFT, {
        k: v for k, v in offenders.items() if k not in TEMPLATES_LEFT
    }
    assert TEMPLATES_LEFT <= set(offenders), (
        f"converted, remove from TEMPLATES_LEFT: {TEMPLATES_LEFT - set(offenders)}"
    )


def test_error_markup_comes_from_the_form_macros_only():
    offenders = set()
    for path in TEMPLATES.rglob("*.html"):
        name = _rel(path, TEMPLATES)
        text = path.read_text()
        if name != "macros/forms.html" and (
            'class="error-message"' in text or "error-summary" in text
        ):
            offenders.add(name)
    assert offenders <= MARKUP_LEFT, offenders - MARKUP_LEFT
    assert MARKUP_LEFT <= offenders, (
        f"converted, remove from MARKUP_LEFT: {MARKUP_LEFT - offenders}"
    )


def test_the_checks_see_what_they_look_for():
    """A check of the checkers, on text that must be caught and text that must not."""
    assert URL_LITERAL.search('<a href="/famille/factures">')
    assert URL_LITERAL.search("{% set x = '/agents/' ~ id %}")
    assert URL_LITERAL.search('<a href="/">')
    assert not URL_LITERAL.search("<a href=\"{{ url_for('family_invoices') }}\">")
    assert not URL_LITERAL.search('<a href="https://www.service-public.fr/">')
    assert not URL_LITERAL.search('<a href="#contenu">')
