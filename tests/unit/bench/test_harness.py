"""The bench harness's pure parts: reading forms like a browser, Lua generation, the mix."""

from __future__ import annotations

import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench import run, targets, wrk
from bench.seed import billed_months, school_days

WEEK_HTML = """
<form method="post" action="/famille/reservations" class="cell-form">
  <input type="hidden" name="_csrf_token" value="tok">
  <input type="hidden" name="enfant" value="12"><input type="hidden" name="activite" value="3">
  <input type="hidden" name="jour" value="2026-12-14"><input type="hidden" name="action" value="reserver">
  <button>Réserver</button>
</form>
<form method="get" action="/famille/reservations"><select name="semaine">
  <option value="2026-W50">a</option><option value="2026-W51" selected>b</option></select></form>
<a href="/famille/factures/7.pdf">PDF</a>
<link rel="stylesheet" href="/static/css/app.css"><script src="/static/js/app.js"></script>
"""


def test_forms_are_read_as_a_browser_would_send_them():
    page = targets.parse(WEEK_HTML)
    assert [f["method"] for f in page.forms] == ["post", "get"]
    assert dict(targets.form_values(page.forms[0])) == {
        "_csrf_token": "tok",
        "enfant": "12",
        "activite": "3",
        "jour": "2026-12-14",
        "action": "reserver",
    }
    assert targets.form_values(page.forms[1]) == [("semaine", "2026-W51")]
    assert "/famille/factures/7.pdf" in page.links
    assert page.assets == ["/static/css/app.css", "/static/js/app.js"]


def test_checkboxes_and_dates_of_a_semaine_type_form():
    html = (
        '<form method="post"><input type="checkbox" name="enfants" value="1">'
        '<input type="checkbox" name="enfants" value="2" checked>'
        '<input name="du" value="14/12/2026"><input name="au" value="25/12/2026"></form>'
    )
    form = targets.parse(html).forms[0]
    assert targets.form_values(form) == [
        ("enfants", "2"),
        ("du", "14/12/2026"),
        ("au", "25/12/2026"),
    ]
    assert [v for n, v in targets.form_values(form, all_checkboxes=True) if n == "enfants"] == [
        "1",
        "2",
    ]
    start = dt.date(2027, 1, 4)
    assert targets._date_field("du", "14/12/2026", start) == "04/01/2027"
    assert targets._date_field("au", "2026-12-25", start) == "2027-01-15"
    assert targets._date_field("enfants", "2", start) == "2"


def test_routes_are_found_by_name_or_path_and_absent_otherwise():
    routes = [
        {"path": "/famille/reservations", "name": "booking_week", "methods": ["GET"]},
        {"path": "/famille/reservations", "name": "booking_change", "methods": ["POST"]},
        {"path": "/famille/factures/{invoice_id:int}.pdf", "name": "x", "methods": ["GET"]},
    ]
    found = targets.resolve(routes)
    assert found["week"]["name"] == "booking_week"
    assert found["toggle"]["methods"] == ["POST"]
    assert found["pdf"] is not None
    assert found["invoices"] is None and found["effectifs"] is None


def test_lua_strings_survive_brackets_and_quotes():
    entry = wrk.lua_entry("POST", "/a?b=1", {"Cookie": 'x="]]"'}, "a=]===]", None)
    assert "[ [===[Cookie]===] ]" in entry
    assert "[====[a=]===]]====]" in entry
    lua = wrk.script([entry], 2)
    assert "local nthreads = 2" in lua and "%%" not in lua


def test_wrk_runs_the_generated_script_and_alternates_bodies(tmp_path):
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self._answer(200)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            seen.append(self.rfile.read(length).decode())
            self._answer(409 if self.headers.get("Cookie") != "s=1" else 200)

        def _answer(self, status):
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        entries = [
            wrk.lua_entry("GET", "/healthz", {}, None, None),
            wrk.lua_entry(
                "POST",
                "/x",
                {"Cookie": "s=1", "Content-Type": "application/x-www-form-urlencoded"},
                "action=reserver",
                "action=annuler",
            ),
        ]
        result = wrk.run(
            f"http://127.0.0.1:{server.server_port}",
            wrk.script(entries, 1),
            tmp_path,
            "t",
            duration=1,
            connections=1,
            threads=1,
        )
    finally:
        server.shutdown()
    assert "error" not in result, result
    assert result["requests"] > 10 and result["s2xx"] == result["requests"]
    assert result["p95_ms"] >= result["p50_ms"] >= 0 and result["rps"] > 0
    assert "action=reserver" in seen and "action=annuler" in seen
    # Book, cancel, book...: never the same action twice in a row for one cell.
    assert all(a != b for a, b in zip(seen, seen[1:]))


def test_the_mix_keeps_each_booking_cell_once():
    per_target = {
        "week": ["w1", "w2"],
        "toggle": [f"t{i}" for i in range(300)],
        "invoices": ["i1"],
        "healthz": ["h"],
    }
    entries = run.mix_entries(per_target)
    toggles = [e for e in entries if e.startswith("t")]
    assert len(toggles) == len(set(toggles))
    assert "h" not in entries
    weeks = sum(e.startswith("w") for e in entries)
    assert weeks > len(toggles) > entries.count("i1")


def test_school_days_and_billed_months():
    days = school_days(dt.date(2026, 9, 1), dt.date(2027, 7, 3))
    assert dt.date(2026, 9, 1) in days
    assert dt.date(2026, 11, 11) not in days and dt.date(2026, 10, 20) not in days
    assert all(d.isoweekday() <= 5 for d in days)
    assert 170 <= len(days) <= 185
    months = billed_months(dt.date(2026, 11, 29))
    assert months[0] == dt.date(2025, 11, 1) and months[-1] == dt.date(2026, 10, 1)
    assert dt.date(2026, 7, 1) not in months and len(months) == 10


# --------------------------------------------------------------------------- issue 17


def test_the_bench_finds_a_school_day_and_a_bookable_week_on_any_date():
    # 1 December: today; a Sunday: Monday; Christmas holidays (zone C): the day school resumes;
    # 14 July: the first day of the next school year.
    assert targets.next_school_weekday(dt.date(2026, 12, 1)) == dt.date(2026, 12, 1)
    assert targets.next_school_weekday(dt.date(2026, 12, 6)) == dt.date(2026, 12, 7)
    assert targets.next_school_weekday(dt.date(2026, 12, 20)) == dt.date(2027, 1, 4)
    assert targets.next_school_weekday(dt.date(2026, 7, 14)) == dt.date(2026, 9, 1)
    # Three weeks ahead first (21 December: holidays), then the next candidates, never the
    # semaine type's weeks (five and six ahead).
    weeks = targets.toggle_weeks(dt.date(2026, 12, 1))
    assert weeks[:3] == ["2026-W52", "2026-W53", "2026-W51"]
    assert "2027-W01" not in weeks and "2027-W02" not in weeks


def test_toggle_specs_book_then_cancel_each_cell():
    html = (
        '<form method="post" action="/famille/reservations"><input type="hidden" '
        'name="_csrf_token" value="t"><button name="case" value="4:2:2026-12-14:reserver">'
        '</button><button name="case" value="4:3:2026-12-14:annuler"></button></form>'
        '<form method="post" action="/ailleurs"><button name="case" value="1:1:x:reserver">'
        "</button></form>"
    )
    specs = targets.toggle_specs(html, "/famille/reservations")
    assert [(s.body, s.alt_body) for s in specs] == [
        (
            "_csrf_token=t&case=4%3A2%3A2026-12-14%3Areserver",
            "_csrf_token=t&case=4%3A2%3A2026-12-14%3Aannuler",
        ),
        (
            "_csrf_token=t&case=4%3A3%3A2026-12-14%3Aannuler",
            "_csrf_token=t&case=4%3A3%3A2026-12-14%3Areserver",
        ),
    ]


def test_an_endpoint_without_requests_fails_the_bench_by_name():
    routes = {"week": {"path": "/w"}, "toggle": {"path": "/t"}, "pdf": None}
    per_target = {"week": ["x"], "toggle": [], "pdf": []}
    assert run.missing(per_target, ["week", "toggle", "pdf", "mix"], routes) == [
        "« Réserver / annuler une case » (toggle) : aucune requête trouvée",
        "« Facture PDF » (pdf) : route absente",
    ]


def test_cpu_time_comes_from_the_process_own_counters():
    import os

    before = run.cpu_seconds(os.getpid())
    sum(i * i for i in range(3_000_000))  # some CPU of this very process
    assert run.cpu_seconds(os.getpid()) > before
    assert run.cpu_seconds(2**22 + 12345) == 0.0  # no such process: nothing


def test_the_week_page_is_compared_with_the_ceiling_and_healthz():
    result = {
        "endpoints": {
            "week": {"rps": 450.0, "cpu_ms": 2.0},
            "healthz": {"rps": 1000.0, "cpu_ms": 0.8},
        },
        "ceiling": {"ceiling": {"rps": 900.0, "cpu_ms": 1.0}},
    }
    assert run.ratios(result) == {
        "week_vs_ceiling_rps": 0.5,
        "week_vs_ceiling_cpu": 0.5,
        "week_vs_healthz_rps": 0.45,
        "week_vs_healthz_cpu": 0.4,
    }
    line = run.ratio_lines(result)[0]
    assert "page plafond : 0.50 en req/s" in line and "(objectif ≥ 0.40)" in line


async def test_the_ceiling_page_is_week_sized_and_needs_no_database():
    import httpx

    from bench.ceiling import app

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        page = await client.get("/plafond")
        assert (await client.get("/healthz")).text == "ok"
    assert page.status_code == 200 and 12_000 < len(page.content) < 20_000
    assert page.text.count('name="case"') == 50


def test_scaling_is_reported_per_worker_count_and_extrapolated_from_cpu_time():
    runs = [
        {"workers": 1, "endpoints": {"week": {"rps": 300.0, "cpu_ms": 2.5}}},
        {"workers": 2, "endpoints": {"week": {"rps": 520.0, "cpu_ms": 2.6}}},
        {"workers": 4, "endpoints": {"week": {"rps": 540.0, "cpu_ms": 3.1}}},
    ]
    first, second = run.scale_lines(runs, 2)
    assert first == (
        "calendrier par nombre de workers : 1 → 300 req/s (2.50 ms CPU/req) ; "
        "2 → 520 req/s (2.60 ms CPU/req) ; 4 → 540 req/s (3.10 ms CPU/req)"
    )
    assert second.startswith("extrapolation : 400 pages/s par cœur à 2.50 ms CPU par page")
    assert "sur 8 cœurs ≈ 3200 pages/s" in second
    assert run.scale_lines([{"workers": 1, "endpoints": {}}], 2) == []


def test_errors_are_named_by_their_status_so_a_rate_limit_is_not_taken_for_a_failure():
    data = {
        "s4xx": 12,
        "s409": 2,
        "s429": 7,
        "s422": 1,
        "s5xx": 3,
        "timeouts": 4,
        "connect_errors": 0,
        "read_errors": 0,
    }
    assert run.error_detail(data) == (
        "422 : 1 ; 429 (limite de débit) : 7 ; autres 4xx : 2 ; 5xx : 3 ; délai dépassé : 4"
    )
    assert run.error_detail({}) == "–"
