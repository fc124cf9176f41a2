"""RGAA 11.10 over every family form (issue 15, item 9): the family's pages, listed from the
application's GET routes under /famille and reached through their links, are rendered and each
form posting under /famille is checked two ways.

- Consistency: a control marked required (`required` or aria-required) says « obligatoire » in
  its label or its fieldset's legend, and a label saying « (obligatoire) » marks its control.
- Behaviour: the form sent empty (only its hidden fields) comes back 422; every field its error
  summary links to must be one the form marked required, so that no field turns out required
  only once the family has sent the form."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ecp.app import create_app
from tests.support import login_family, soup
from tests.web.invoices.test_family_invoice_routes import _setup

REQUIRED = "obligatoire"


def _family_get_patterns() -> list[re.Pattern]:
    patterns = []
    for route in create_app().routes:
        if route.path.startswith("/famille") and any(
            "GET" in h.http_methods for h in route.route_handlers
        ):
            pattern = re.sub(
                r"\\\{\w+:(\w+)\\\}",
                lambda m: r"\d+" if m.group(1) == "int" else r"[^/]+",
                re.escape(route.path),
            )
            patterns.append(re.compile(f"^{pattern}/?$"))
    return patterns


async def _family_pages(client) -> dict[str, str]:
    """Every family HTML page the links reach from the Accueil, by path, with its HTML."""
    patterns = _family_get_patterns()
    pages: dict[str, str] = {}
    queue = ["/famille/"]
    while queue:
        path = queue.pop(0)
        if path in pages or not any(p.match(path) for p in patterns):
            continue
        response = await client.get(path)
        kind = response.headers.get("content-type", "")
        disposition = response.headers.get("content-disposition", "")
        if response.status_code != 200 or not kind.startswith("text/html") or disposition:
            continue
        pages[path] = response.text
        for a in soup(response.text).select("a[href^='/famille']"):
            queue.append(urlsplit(a["href"]).path)
    return pages


def _marked(page, control) -> bool:
    """The control says it is required, to everyone: `required`/aria-required and
    « obligatoire » in its label or its fieldset's legend; or it belongs to a group the
    legend says is required as a whole (« au moins un… (obligatoire) », a set of checkboxes:
    no box is required by itself, so none carries the attribute)."""
    flagged = control.has_attr("required") or control.get("aria-required") == "true"
    label_text = ""
    if control.get("id"):
        label = page.select_one(f"label[for='{control['id']}']")
        if label is not None:
            label_text = label.get_text(" ", strip=True)
    legends = [
        legend.get_text(" ", strip=True)
        for fieldset in control.find_parents("fieldset")
        if (legend := fieldset.find("legend")) is not None
    ]
    group = any(REQUIRED in legend for legend in legends)
    if flagged:
        return REQUIRED in label_text or group
    return group and REQUIRED not in label_text


def _problems_in_markup(path: str, page) -> list[str]:
    problems = []
    for form in page.select("form[method=post]"):
        for control in form.select("input, select, textarea"):
            if control.get("type") in ("hidden", "submit", "button"):
                continue
            flagged = control.has_attr("required") or control.get("aria-required") == "true"
            if flagged and not _marked(page, control):
                problems.append(f"{path}: {control.get('name')} required, not said in words")
        for label in form.select("label"):
            if f"({REQUIRED})" in label.get_text(" ", strip=True):
                control = page.select_one(f"#{label.get('for')}") if label.get("for") else None
                if control is None or not (
                    control.has_attr("required") or control.get("aria-required") == "true"
                ):
                    problems.append(f"{path}: {label.get('for')} says obligatoire, not marked")
    return problems


async def test_every_family_form_marks_what_it_requires(client, settings):
    await _setup(settings)
    await login_family(client)
    pages = await _family_pages(client)
    # The family's pages holding forms, at least (a form added elsewhere is found too).
    for path in (
        "/famille/mot-de-passe",
        "/famille/reservations/semaine-type",
        "/famille/factures",
    ):
        assert path in pages, sorted(pages)
    problems: list[str] = []
    sent = set()
    for path, html in pages.items():
        page = soup(html)
        problems += _problems_in_markup(path, page)
        for form in page.select("form[method=post]"):
            action = form.get("action", "")
            if not action.startswith("/famille") or (action, path) in sent:
                continue
            fields = {
                i["name"]: i.get("value", "")
                for i in form.select("input[type=hidden]")
                if i.get("name")
            }
            visible = [
                c
                for c in form.select("input, select, textarea")
                if c.get("type") not in ("hidden", "submit", "button") and c.get("name")
            ]
            if not visible:
                continue  # a button alone (a choice already made, a download, an undo)
            sent.add((action, path))
            response = await client.post(action, data=fields, follow_redirects=False)
            if response.status_code != 422:
                continue  # nothing required: the empty form is a valid answer
            answer = soup(response.text)
            summary = answer.select_one(".error-summary")
            assert summary is not None, f"{action}: 422 without an error summary"
            for link in summary.select("a[href^='#']"):
                target = answer.select_one(link["href"])
                if target is None:
                    problems.append(f"{action}: the summary links to {link['href']}, not found")
                    continue
                controls = (
                    [target]
                    if target.name in ("input", "select", "textarea")
                    else target.select("input, select, textarea")
                )
                if not controls or not any(_marked(answer, c) for c in controls):
                    problems.append(
                        f"{action} (from {path}): {link['href']} is required when empty,"
                        " and not marked « obligatoire » with required/aria-required"
                    )
    print("family forms sent empty:", sorted(sent))
    assert sent, "no family form was sent"
    assert not problems, "\n".join(problems)
