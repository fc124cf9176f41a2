"""Shared test helpers: table cleaning, form posting with CSRF, HTML parsing."""

from __future__ import annotations

import re
import sys
from typing import Any

from bs4 import BeautifulSoup
from piccolo.table import sort_table_classes

from ecp.piccolo_app import APP_CONFIG

CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')


def tables():
    return sort_table_classes(list(APP_CONFIG.table_classes))


async def truncate_all() -> None:
    """Empty every table that holds rows, or whose ids have moved, in one transaction.

    Most tests touch a handful of the tables: emptying all of them one statement (and, on
    SQLite, one commit) at a time cost 0.1 s a test, and TRUNCATE on PostgreSQL 0.45 s (it
    makes new files for each table). So one query finds what is not empty, DELETE empties it,
    and the ids start from 1 again (SQLite's rowid does by itself; PostgreSQL's sequences are
    reset). The audit log refuses UPDATE only, so DELETE is allowed on it."""
    from ecp.db import write_transaction

    ordered = list(reversed(tables()))
    first = ordered[0]
    postgres = first._meta.db.engine_type == "postgres"
    probe = " UNION ALL ".join(
        f"SELECT '{t._meta.tablename}' AS name WHERE EXISTS (SELECT 1 FROM \"{t._meta.tablename}\")"
        for t in ordered
    )
    if postgres:
        # A sequence used since its last reset, even if its rows were deleted by the test.
        probe += (
            " UNION ALL SELECT c.relname FROM pg_sequences q "
            "JOIN pg_class s ON s.relname = q.sequencename AND s.relkind = 'S' "
            "JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i') "
            "JOIN pg_class c ON c.oid = d.refobjid WHERE q.last_value IS NOT NULL"
        )
    dirty = {row["name"] for row in await first.raw(probe)}
    if not dirty:
        return
    async with write_transaction():
        for table in ordered:
            name = table._meta.tablename
            if name not in dirty:
                continue
            # A self-reference (credit note -> invoice) may be checked row by row: children first.
            for fk in table._meta.foreign_key_columns:
                if fk._foreign_key_meta.resolved_references is table:
                    await table.raw(
                        f'DELETE FROM "{name}" WHERE "{fk._meta.db_column_name}" IS NOT NULL'
                    )
            await table.raw(f'DELETE FROM "{name}"')
            if postgres:
                await table.raw(
                    "SELECT setval(pg_get_serial_sequence({}, 'id'), 1, false)", f'"{name}"'
                )


def clear_process_caches() -> None:
    """What this process remembers between requests, emptied between tests: the tables it was
    derived from have just been emptied (modules not imported yet have nothing to forget)."""
    setup_cache = sys.modules.get("ecp.commune.setup_cache")
    if setup_cache is not None:
        setup_cache.SETUP._entry = None  # tests/web/test_shared_app.py checks this still works
    pdf = sys.modules.get("ecp.invoices.pdf")
    if pdf is not None:
        pdf._cache.clear()
        pdf._cached_bytes = 0
    provider = sys.modules.get("ecp.payments.provider")
    if provider is not None:
        provider._probe_cache.clear()


class AppSnapshot:
    """The shared app as it was built, put back after each test: its state (a test may add a
    job runner or swap the password hasher for a spy) and its stores (rate-limit counters)."""

    def __init__(self, app) -> None:
        self.app = app
        self.routes = self._routes()
        self.state = app.state.dict()
        self.attributes = [
            (value, dict(vars(value)))
            for value in self.state.values()
            if hasattr(value, "__dict__")
        ]

    def _routes(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(route.path, tuple(sorted(route.methods))) for route in self.app.routes]

    async def restore(self) -> None:
        # Routes cannot be taken back out of a Litestar app: a test that adds one must say so.
        assert self._routes() == self.routes, (
            "this test changed the shared app's routes: mark it @pytest.mark.own_app"
        )
        state = self.app.state
        for key in [key for key in state.dict() if key not in self.state]:
            del state[key]
        for key, value in self.state.items():
            state[key] = value
        for value, attributes in self.attributes:
            vars(value).clear()
            vars(value).update(attributes)
        for store in self.app.stores._stores.values():
            await store.delete_all()


def refused_by_the_database() -> tuple[type[Exception], ...]:
    """What either engine raises when the schema refuses a write: a constraint (foreign key,
    unique) or a trigger. Pair it with `match=` to say which refusal is expected."""
    import sqlite3

    import asyncpg

    # SQLite reports a trigger's RAISE(ABORT) as a constraint failure; PostgreSQL's RAISE
    # EXCEPTION is a RaiseError (P0001), not an integrity violation.
    return (
        sqlite3.IntegrityError,
        asyncpg.exceptions.IntegrityConstraintViolationError,
        asyncpg.exceptions.RaiseError,
    )


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF field in the page"
    return match.group(1)


async def csrf_token(client, path: str = "/") -> str:
    response = await client.get(path)
    return csrf_from(response.text)


async def post_form(
    client,
    path: str,
    data: dict[str, Any],
    *,
    from_page: str | None = None,
    headers: dict[str, str] | None = None,
    csrf: bool = True,
):
    """POST like a browser: fetch the page first for its CSRF token (or reuse the cookie's)."""
    payload = dict(data)
    if csrf:
        payload["_csrf_token"] = await csrf_token(client, from_page or "/")
    return await client.post(path, data=payload, headers=headers or {}, follow_redirects=False)


async def login_family(client, code: str = "F00001", password: str = "demo-famille-1"):
    response = await post_form(
        client, "/connexion", {"code_famille": code, "mot_de_passe": password}
    )
    assert response.status_code == 303, response.text[:500]
    return response


# The authenticators login_staff set up (ECP_STAFF_MFA=obligatoire is the default, in the tests
# too): the secret by username and the last time step it used, so that a second login of the
# same agent within 30 seconds (or under a frozen clock) takes the next code, not a replay.
TOTP_SECRETS: dict[str, str] = {}
_TOTP_LAST_STEP: dict[str, int] = {}


def next_totp_code(username: str) -> str:
    """The code an agent's phone would show now, or the next one if this one was used."""
    from ecp import clock
    from ecp.auth import totp

    step = max(totp.step_at(clock.now()), _TOTP_LAST_STEP.get(username, -1) + 1)
    _TOTP_LAST_STEP[username] = step
    return totp.code_at(TOTP_SECRETS[username], step)


def remember_totp(username: str, secret: str) -> None:
    TOTP_SECRETS[username] = secret
    _TOTP_LAST_STEP.pop(username, None)


async def login_staff(client, username: str = "agent", password: str = "demo-agent-sej-2026"):
    """Password, then the TOTP step the app asks for: enrolment (the key is read from the page,
    as a phone would scan it) or the code of the authenticator enrolled before."""
    response = await post_form(
        client,
        "/agents/connexion",
        {"identifiant": username, "mot_de_passe": password},
        from_page="/agents/connexion",
    )
    assert response.status_code == 303, response.text[:500]
    step = response.headers["location"]
    if step in ("/agents/connexion/activation", "/agents/connexion/code"):
        page = await client.get(step)
        assert page.status_code == 200, page.text[:500]
        if step.endswith("/activation"):
            remember_totp(
                username, soup(page.text).select_one("#totp-key").get_text().replace(" ", "")
            )
        # The enrolment form posts to the code step too.
        response = await client.post(
            "/agents/connexion/code",
            data={"_csrf_token": csrf_from(page.text), "code": next_totp_code(username)},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text[:500]
    return response


def error_summary_links(html: str) -> list[str]:
    s = soup(html)
    summary = s.select_one(".error-summary")
    return [a["href"] for a in summary.select("a")] if summary else []
