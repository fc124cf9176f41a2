"""Shared test helpers: table cleaning, form posting with CSRF, HTML parsing."""

from __future__ import annotations

import re
from typing import Any

from bs4 import BeautifulSoup
from piccolo.table import sort_table_classes

from ecp.piccolo_app import APP_CONFIG

CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')


def tables():
    return sort_table_classes(list(APP_CONFIG.table_classes))


async def truncate_all() -> None:
    ordered = list(reversed(tables()))
    first = ordered[0]
    if first._meta.db.engine_type == "postgres":
        names = ", ".join(f'"{t._meta.tablename}"' for t in ordered)
        await first.raw(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    else:
        for table in ordered:
            name = table._meta.tablename
            # SQLite checks a self-reference row by row (credit note -> invoice): children first.
            for fk in table._meta.foreign_key_columns:
                if fk._foreign_key_meta.resolved_references is table:
                    await table.raw(f'DELETE FROM "{name}" WHERE "{fk._meta.db_column_name}" IS NOT NULL')
            await table.raw(f'DELETE FROM "{name}"')


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF field in the page"
    return match.group(1)


async def csrf_token(client, path: str = "/") -> str:
    response = await client.get(path)
    return csrf_from(response.text)


async def post_form(client, path: str, data: dict[str, Any], *, from_page: str | None = None,
                    headers: dict[str, str] | None = None, csrf: bool = True):
    """POST like a browser: fetch the page first for its CSRF token (or reuse the cookie's)."""
    payload = dict(data)
    if csrf:
        payload["_csrf_token"] = await csrf_token(client, from_page or "/")
    return await client.post(path, data=payload, headers=headers or {}, follow_redirects=False)


async def login_family(client, code: str = "F00001", password: str = "demo-famille-1"):
    response = await post_form(client, "/connexion", {"code_famille": code,
                                                        "mot_de_passe": password})
    assert response.status_code == 303, response.text[:500]
    return response


async def login_staff(client, username: str = "agent", password: str = "demo-agent-sej-2026"):
    response = await post_form(client, "/agents/connexion",
                               {"identifiant": username, "mot_de_passe": password},
                               from_page="/agents/connexion")
    assert response.status_code == 303, response.text[:500]
    return response


def error_summary_links(html: str) -> list[str]:
    s = soup(html)
    summary = s.select_one(".error-summary")
    return [a["href"] for a in summary.select("a")] if summary else []
