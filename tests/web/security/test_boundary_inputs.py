"""Boundary input on every route never gives a 5xx.

The walk is built from the app itself, so a route added tomorrow is walked too: each route's
path parameters (by their declared type), the query parameters its handler declares, and for
POST routes the fields its forms carry (read from the pages the walk renders) and the fields its
module reads from the posted data. Each is given extreme values one at a time, the others
keeping a plausible value: years 1 and 9999 in weeks, months and days, 25-digit ids, a NUL
byte, "²" (a digit to str.isdigit(), not to int()), a very long string. Guarded routes are
walked by a client that passes their guard (a family, an administrator, who holds every role).
The last test adds two careless routes to an app and checks that the walk reports them.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
import sys
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from litestar import get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.routes import HTTPRoute

from ecp import clock
from ecp.auth.guards import requires_staff
from ecp.booking.tables import Inscription
from ecp.commune.tables import Activity, Closure, School
from ecp.demo.seed import seed_demo
from ecp.families.tables import (
    Child,
    ContactChangeRequest,
    Family,
    FamilyContact,
    Guardian,
    QuotientHistory,
)
from ecp.finance.tables import PesBordereau
from ecp.invoices.tables import Invoice
from ecp.mail.tables import OutboxEmail
from ecp.payments.tables import DirectDebit, Payment, PaymentAttempt, ReminderBatch
from ecp.web.forms import text
from tests import factories
from tests.conftest import make_client
from tests.support import csrf_from, login_family, login_staff, soup

NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=clock.PARIS)
BIG = "9" * 25
# Values for ids in the address ({x:int}).
INT_PATH_VALUES = [BIG, "-" + BIG, "2147483648", "0", "-1"]
# Values for everything typed as text: query parameters, {x:str} segments, form fields.
TEXT_VALUES = [
    "0001-W01",
    "9999-W52",
    "9999-W53",
    "2026-W00",
    "0000-W99",
    "9999-12",
    "0001-01",
    "2026-13",
    "0000-00",
    "9999-12-31",
    "0001-01-01",
    "2026-02-30",
    "31/12/9999",
    "01/01/0001",
    "00/00/0000",
    "31/02/2027",
    "1/1/1",
    BIG,
    "-" + BIG,
    "2147483648",
    "-1",
    "0",
    "²",
    "١٢",
    "\x00",
    "1\x00",
    "%",
    "x" * 600,
    "",
    " ",
]
# Form fields get the subset that reaches parsers (the rest is covered by the query walk).
FIELD_VALUES = [
    BIG,
    "-" + BIG,
    "2147483648",
    "²",
    "\x00",
    "9999-12-31",
    "0001-01-01",
    "31/12/9999",
    "01/01/0001",
    "0001-W01",
    "9999-W52",
    "9999-12",
    "0001-01",
    "-1",
    "x" * 600,
]
STATIC_PATHS = [
    "/static/%00",
    "/static/css/%00",
    "/static/..%2f..%2fpyproject.toml",
    "/static/%2e%2e/%2e%2e/pyproject.toml",
    "/static/" + "a" * 2000,
    "/static/%ff",
    "/static/css/app.css%00.png",
    "/static/%C0%AE%C0%AE/",
    "/%00",
    "/famille/%00",
    "/agents/%00",
    "/" + "x" * 5000,
]
# Handler arguments that are not request parameters.
RESERVED = {"request", "data", "state", "scope", "headers", "cookies", "body", "socket", "query"}
# Reading request.query_params directly bypasses the signature, so this walk could not see the
# names: list them here (the test below fails on a handler module that reads one unlisted).
EXTRA_QUERY: dict[str, set[str]] = {}
FIELD_CALL = re.compile(
    r"""(?:\b(?:text|raw|many|_int|_text|_date|_money|_amount|_day)\(\s*\w+\s*,\s*"""
    r"""|\b(?:data|values|form_data)(?:\.get\(|\[))\s*["']([A-Za-z_][\w\-]*)["']"""
)
SESSION_GONE = ("/connexion", "/agents/connexion")


def _handlers(app):
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            methods = set(handler.http_methods) - {"OPTIONS", "HEAD"}
            if methods:
                yield route, handler, methods


def _who(handler) -> str:
    names = {getattr(getattr(g, "func", g), "__name__", "") for g in handler.resolve_guards()}
    if "requires_family" in names:
        return "family"
    if "requires_staff" in names or any(n.startswith("requires_") for n in names):
        return "staff"
    return "anonymous"


def _query_names(route, handler) -> set[str]:
    path_names = set(route.path_parameters)
    names = set()
    for name in handler.parsed_fn_signature.parameters:
        if name in RESERVED or name in path_names:
            continue
        names.add(name)
    return names | EXTRA_QUERY.get(handler.name, set())


def _read_fields(handler, whole_module: bool) -> set[str]:
    """The field names a handler reads (its module's, when no page showed its form: the
    handler may read them through a helper)."""
    source = inspect.getsource(sys.modules[handler.fn.__module__] if whole_module else handler.fn)
    return set(FIELD_CALL.findall(source)) - {"_csrf_token"}


def _reads_body(handler) -> bool:
    source = inspect.getsource(handler.fn)
    return (
        "data" in handler.parsed_fn_signature.parameters
        or "request.body()" in source
        or "request.form()" in source
    )


class Walk:
    """The clients, one per kind of visitor, and what the walk has seen."""

    def __init__(self, app):
        self.app = app
        self.clients = {}
        self.tokens = {}
        self.failures: list[str] = []
        self.forms: dict[str, dict[str, str]] = {}
        self.count = 0

    async def open(self):
        for who, ip in (
            ("anonymous", "127.0.1.1"),
            ("family", "127.0.1.2"),
            ("staff", "127.0.1.3"),
        ):
            self.clients[who] = make_client(self.app, ip)
            await self.clients[who].__aenter__()
            await self.login(who)

    async def close(self):
        for client in self.clients.values():
            await client.__aexit__(None, None, None)

    async def login(self, who: str):
        client = self.clients[who]
        if who == "family":
            await login_family(client, "F00001", "demo-famille-1")
        elif who == "staff":
            await login_staff(client, "agent", "demo-agent-sej-2026")
        page = await client.get("/agents/" if who == "staff" else "/")
        self.tokens[who] = csrf_from(page.text)

    async def send(self, who: str, method: str, url: str, data: dict | None = None):
        client = self.clients[who]
        for attempt in (1, 2):
            payload = None
            if method != "GET":
                payload = dict(data or {})
                payload["_csrf_token"] = self.tokens[who]
            response = await client.request(method, url, data=payload, follow_redirects=False)
            self.count += 1
            if response.status_code >= 500:
                self.failures.append(
                    f"{who} {method} {url[:120]!r} {_short(data)} -> {response.status_code}"
                )
            elif (
                400 <= response.status_code < 500
                and "text/html" in response.headers.get("content-type", "")
                and 'lang="fr"' not in response.text
                and 'id="main"' not in response.text
            ):
                self.failures.append(
                    f"{who} {method} {url[:120]!r} {_short(data)} -> "
                    f"{response.status_code} without the French error page"
                )
            location = response.headers.get("location") or response.headers.get("hx-redirect") or ""
            if who != "anonymous" and attempt == 1 and location.startswith(SESSION_GONE):
                await self.login(who)  # a walked route logged us out (déconnexion, sessions)
                continue
            return response

    def harvest(self, html: str) -> None:
        """The post forms of a page: field names and the values a browser would send."""
        if "<form" not in html:
            return
        for form in soup(html).select("form"):
            if (form.get("method") or "get").lower() != "post":
                continue
            action = form.get("action") or ""
            fields = self.forms.setdefault(action.split("?")[0].split("#")[0], {})
            for field in form.select("input[name], select[name], textarea[name], button[name]"):
                name = field["name"]
                if name == "_csrf_token" or name in fields:
                    continue
                if field.name == "select":
                    option = (
                        field.select_one("option[selected]")
                        or field.select_one("option[value]:not([value=''])")
                        or field.select_one("option")
                    )
                    fields[name] = option.get("value", option.get_text()) if option else ""
                elif field.name == "textarea":
                    fields[name] = field.get_text()
                elif field.get("type") == "password":
                    fields[name] = "mauvais-mot-de-passe"
                else:
                    fields[name] = field.get("value", "1")


def _short(data) -> str:
    if not data:
        return ""
    return "{" + ", ".join(f"{k}={v[:30]!r}" for k, v in data.items()) + "}"


async def _ids() -> dict[str, str]:
    """Real rows for the path parameters, so the walk reaches the parsing after the lookup."""
    family = await Family.select(Family.id).where(Family.code == "F00001").first()
    other = await Family.select(Family.id).where(Family.code == "F00002").first()
    guardian = await Guardian.select(Guardian.id).where(Guardian.family == family["id"]).first()
    child = await Child.select(Child.id).where(Child.family == other["id"]).first()
    invoice = (
        await Invoice.select(Invoice.id, Invoice.number)
        .where(Invoice.family == family["id"])
        .first()
    )
    target = await factories.make_staff("cible", role="agent")
    await Closure(
        reason="Pont", starts_on=dt.date(2027, 5, 14), ends_on=dt.date(2027, 5, 14)
    ).save()

    async def first(table, column="id"):
        row = await table.select(getattr(table, column)).first()
        return str(row[column]) if row else "1"

    attempt = await PaymentAttempt.select(PaymentAttempt.reference).first()
    return {
        "family_id": str(other["id"]),
        "child_id": str(child["id"]),
        "guardian_id": str(guardian["id"]),
        "invoice_id": str(invoice["id"]),
        "ref": invoice["number"],
        "reference": attempt["reference"] if attempt else "x",
        "kind": "annule",
        "inscription_id": await first(Inscription),
        "request_id": await first(ContactChangeRequest),
        "payment_id": await first(Payment),
        "attempt_id": await first(PaymentAttempt),
        "batch_id": await first(ReminderBatch),
        "debit_id": await first(DirectDebit),
        "message_id": await first(OutboxEmail),
        "school_id": await first(School),
        "closure_id": await first(Closure),
        "contact_id": await first(FamilyContact),
        "quotient_id": await first(QuotientHistory),
        "bordereau_id": await first(PesBordereau),
        "staff_id": str(target.id),
        "activity_id": await first(Activity),
        "certificate_id": "1",
        "token": "x" * 43,
        "file_path": "css/app.css",
    }


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+):\w+\}", lambda m: quote(values[m.group(1)], safe=""), path)


def _path_variants(route, ids: dict[str, str]) -> list[str]:
    out = []
    for name, param in route.path_parameters.items():
        kind = param.type.__name__ if hasattr(param, "type") else "str"
        values = (
            INT_PATH_VALUES
            if kind == "int"
            else ([BIG, "\x00", "0001-W01", "x" * 300, "..", "%", "é"])
        )
        for value in values:
            out.append(_fill(route.path, {**ids, name: value}))
    return out


@pytest.fixture
async def walk(app, settings):
    clock.set_now(NOW)
    await seed_demo(settings, n_families=4)
    w = Walk(app)
    await w.open()
    yield w
    await w.close()


def test_every_handler_module_reading_the_query_string_directly_is_listed(app):
    for _, handler, _ in _handlers(app):
        source = inspect.getsource(sys.modules[handler.fn.__module__])
        if "query_params" in source:
            assert handler.name in EXTRA_QUERY, (handler.fn.__module__, handler.name)


async def _walk(app, walk: Walk, ids: dict[str, str], only=lambda route: True) -> set:
    walked: set[tuple[str, str]] = set()
    handlers = sorted(
        (h for h in _handlers(app) if only(h[0])), key=lambda h: ("POST" in h[2], h[0].path)
    )
    # GET first: the pages rendered with real ids give the forms the POST walk fills in.
    for route, handler, methods in handlers:
        if "GET" not in methods:
            continue
        who = _who(handler)
        base = _fill(route.path, ids)
        page = await walk.send(who, "GET", base)
        walk.harvest(page.text)
        for url in _path_variants(route, ids):
            await walk.send(who, "GET", url)
        names = sorted(_query_names(route, handler))
        for name in names:
            for value in TEXT_VALUES:
                await walk.send(who, "GET", f"{base}?{urlencode({name: value})}")
        if names:
            for value in TEXT_VALUES:
                await walk.send(who, "GET", f"{base}?{urlencode(dict.fromkeys(names, value))}")
        walked.add(("GET", route.path))
    for route, handler, methods in handlers:
        if "POST" not in methods:
            continue
        who = _who(handler)
        base = _fill(route.path, ids)
        baseline = dict(walk.forms.get(base, {}))
        if _reads_body(handler):
            for name in _read_fields(handler, whole_module=not baseline):
                baseline.setdefault(name, "1")
        baseline = {k: v for k, v in baseline.items() if "{" not in k}
        for url in _path_variants(route, ids):
            await walk.send(who, "POST", url, baseline)
        for name in sorted(baseline):
            for value in FIELD_VALUES:
                await walk.send(who, "POST", base, {**baseline, name: value})
        for name in _query_names(route, handler):
            for value in FIELD_VALUES:
                await walk.send(who, "POST", f"{base}?{urlencode({name: value})}", baseline)
        walked.add(("POST", route.path))
    return walked


async def test_boundary_values_on_every_route_never_give_a_5xx(app, walk):
    walked = await _walk(app, walk, await _ids())
    for path in STATIC_PATHS:
        for who in ("anonymous", "family", "staff"):
            await walk.send(who, "GET", path)
    expected = {(m, r.path) for r, _, methods in _handlers(app) for m in methods}
    assert walked == expected, expected - walked
    assert walk.count > 2000
    assert not walk.failures, "\n".join(walk.failures[:60])


# A route as one might add it tomorrow: it trusts its week and its day.
@get("/agents/essai/{n:int}", name="walk_selftest_week", guards=[requires_staff])
async def careless_week(n: FromPath[int], semaine: FromQuery[str | None] = None) -> str:
    year, week = (semaine or "2026-W50").split("-W")
    return str(dt.date.fromisocalendar(int(year), int(week), 1) + dt.timedelta(days=7 * n))


@post("/agents/essai", name="walk_selftest_day", guards=[requires_staff], status_code=200)
async def careless_day(data: URLEncodedBody[dict[str, Any]]) -> str:
    return str(dt.date.fromisoformat(text(data, "jour")) + dt.timedelta(days=1))


async def test_the_walk_finds_a_new_route_that_fails_on_boundary_input(settings):
    from ecp.app import create_app

    app = create_app(settings)
    app.register(careless_week)
    app.register(careless_day)
    clock.set_now(NOW)
    await seed_demo(settings, n_families=1)
    walk = Walk(app)
    await walk.open()
    try:
        walked = await _walk(
            app, walk, {"n": "1"}, only=lambda r: r.path.startswith("/agents/essai")
        )
    finally:
        await walk.close()
    assert walked == {("GET", "/agents/essai/{n:int}"), ("POST", "/agents/essai")}
    failing = {line.split(" -> ")[0].split(" {")[0].strip() for line in walk.failures}
    assert "staff GET '/agents/essai/1?semaine=9999-W52'" in failing
    assert "staff GET '/agents/essai/1?semaine=2026-W00'" in failing
    assert "staff POST '/agents/essai'" in failing
