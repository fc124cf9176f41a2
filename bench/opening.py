"""Opening day: `python -m bench.opening` (what `make bench-opening` runs).

The registration opening as families live it: `--arrivals` families of a `--families` commune
(2,500 of 10,000 by default) arrive at random within `--seconds` (300), behind a few dozen
carrier NAT addresses as phones are; each one opens the login page, logs in (waiting in the
« file d'attente » when the server says so, as its page would: reloading at the refresh it
gives in its Refresh header), opens the week, books up to five cells, scarce ones first, and some retry a refused
cell. The server runs as in production (`ecp serve`, `--workers` 2, PostgreSQL and Redis, the
production Argon2 cost), on a database (ecp_bench_opening on ECP_BENCH_POSTGRES_URL's server)
and a Redis index (13 on ECP_BENCH_REDIS_URL's server) of its own, both recreated.

Places are made scarce: for the most booked activity of the week, each school's capacity is set
a few places (`--scarce`) above what is already booked on its busiest day, so that families
compete for the last places. Reported: login and page latency (p50/p95/max), time to get in
(queue included), errors (must be 0: any 5xx, timeout or unexpected status), the bookings
accepted against the places offered (never more: checked in the database, every slot of the
week), and fairness: among the requests for a scarce cell, a refused one sent more than
FAIR_TOLERANCE seconds before an accepted one is an inversion (requests in flight together may
be served in either order). Exit status 1 when an error, an over-booking or an inversion is
found. Results in bench-results/opening-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import re
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx

from bench import targets
from bench.options import _default
from bench.seed import BENCH_PASSWORD, CODE_PREFIX

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench-results"
REDIS_INDEX = 13
DATABASE = "ecp_bench_opening"
FAIR_TOLERANCE = 1.0  # seconds
NAT_ADDRESSES = 40
BOOKINGS_PER_FAMILY = 5
RETRY_SHARE = 0.3  # families that try a refused cell once more
EXPECTED = {200, 303, 409}
REFRESH_RE = re.compile(r"(\d+); url=(\S+)")


def log(message: str) -> None:
    print(f"[ouverture {time.strftime('%H:%M:%S')}] {message}", flush=True)


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * p))], 1)


# --------------------------------------------------------------------------- database


def _sqlite_path(url: str) -> str | None:
    return url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None


async def sql(url: str, query: str, *args) -> list[dict]:
    """One query on the bench database (`?` placeholders), rows as dicts."""
    path = _sqlite_path(url)
    if path:
        with sqlite3.connect(path) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute(query, args).fetchall()]
    import asyncpg

    n = 0

    def number(_match):
        nonlocal n
        n += 1
        return f"${n}"

    conn = await asyncpg.connect(url)
    try:
        return [dict(r) for r in await conn.fetch(re.sub(r"\?", number, query), *args)]
    finally:
        await conn.close()


def fresh_postgres(base: str) -> str:
    import asyncpg

    async def create():
        conn = await asyncpg.connect(base)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{DATABASE}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return urlunsplit(urlsplit(base)._replace(path=f"/{DATABASE}"))


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url, socket_timeout=5).flushdb()


def opening_week(today: dt.date) -> tuple[str, list[dt.date]]:
    """The first week the bench toggles that has school days, and those days."""
    from bench.seed import school_days

    for week in targets.toggle_weeks(today):
        monday = _monday(week)
        days = school_days(monday, monday + dt.timedelta(days=4))
        if days:
            return week, days
    raise SystemExit("aucune semaine d’école dans les semaines réservables")


def _monday(week: str) -> dt.date:
    year, number = week.split("-W")
    return dt.date.fromisocalendar(int(year), int(number), 1)


async def make_scarce(url: str, days: list[dt.date], scarce: int) -> dict:
    """The week's most booked activity: each school's capacity a few places above its busiest
    day. Returns the activity and the places left to take, per school and day."""
    first, last = days[0].isoformat(), days[-1].isoformat()
    rows = await sql(
        url,
        "SELECT activity, SUM(booked) AS n FROM slot WHERE day >= ? AND day <= ? "
        "GROUP BY activity ORDER BY n DESC LIMIT 1",
        *_days(url, first, last),
    )
    if not rows:
        raise SystemExit("aucune réservation dans la semaine d’ouverture")
    activity = rows[0]["activity"]
    busiest = await sql(
        url,
        "SELECT school, MAX(booked) AS most FROM slot WHERE activity = ? AND day >= ? "
        "AND day <= ? GROUP BY school",
        activity,
        *_days(url, first, last),
    )
    for row in busiest:
        await sql(
            url,
            "UPDATE activity_capacity SET capacity = ? WHERE activity = ? AND school = ?",
            int(row["most"]) + scarce,
            activity,
            row["school"],
        )
    return {"activity": activity, "schools": len(busiest)}


def _days(url: str, *values: str):
    return values if _sqlite_path(url) else tuple(dt.date.fromisoformat(v) for v in values)


async def capacity_check(url: str, days: list[dt.date]) -> dict:
    """Every slot of the week against its capacity, and the bookings against the slots."""
    first, last = _days(url, days[0].isoformat(), days[-1].isoformat())
    slots = await sql(
        url,
        "SELECT s.school, s.activity, s.day, s.booked, c.capacity FROM slot s "
        "JOIN activity_capacity c ON c.activity = s.activity AND c.school = s.school "
        "WHERE s.day >= ? AND s.day <= ?",
        first,
        last,
    )
    counted = await sql(
        url,
        "SELECT school, activity, day, COUNT(*) AS n FROM booking WHERE state = 'reservee' "
        "AND day >= ? AND day <= ? GROUP BY school, activity, day",
        first,
        last,
    )
    by_cell = {(r["school"], r["activity"], str(r["day"])): int(r["n"]) for r in counted}
    over = [s for s in slots if int(s["booked"]) > int(s["capacity"])]
    drift = [
        s
        for s in slots
        if by_cell.get((s["school"], s["activity"], str(s["day"])), 0) != int(s["booked"])
    ]
    full = [s for s in slots if int(s["booked"]) >= int(s["capacity"])]
    return {"slots": len(slots), "over_capacity": len(over), "drift": len(drift), "full": len(full)}


# --------------------------------------------------------------------------- families


@dataclass
class Stats:
    login_ms: list[float] = field(default_factory=list)  # each login POST
    get_in_ms: list[float] = field(default_factory=list)  # first POST to logged in, queue incl.
    page_ms: list[float] = field(default_factory=list)  # login page and week page GETs
    book_ms: list[float] = field(default_factory=list)
    queued: int = 0
    queue_pages: int = 0
    logged_in: int = 0
    booked: int = 0
    refused: int = 0
    retries: int = 0
    errors: dict = field(default_factory=lambda: defaultdict(int))
    requests: list[tuple] = field(default_factory=list)  # (cell, sent, status)

    def error(self, what: str) -> None:
        self.errors[what] += 1


def fairness(requests: list[tuple], tolerance: float = FAIR_TOLERANCE) -> dict:
    """Per cell, refused requests sent more than `tolerance` s before an accepted one."""
    by_cell: dict = defaultdict(list)
    for cell, sent, status in requests:
        if status in (200, 409):
            by_cell[cell].append((sent, status))
    inversions, contested = 0, 0
    for entries in by_cell.values():
        accepted = [t for t, s in entries if s == 200]
        refused = [t for t, s in entries if s == 409]
        if not accepted or not refused:
            continue
        contested += 1
        last_accepted = max(accepted)
        inversions += sum(1 for t in refused if t + tolerance < last_accepted)
    refused_total = sum(1 for _c, _t, s in requests if s == 409)
    return {
        "contested_cells": contested,
        "refused": refused_total,
        "inversions": inversions,
        "share_in_order": round(1 - inversions / refused_total, 4) if refused_total else 1.0,
    }


def _csrf(html: str) -> str:
    found = CSRF_RE.search(html)
    return found.group(1) if found else ""


def _case(spec) -> list[str]:
    """child, activity, day, action of a toggle (its `case` field)."""
    return parse_qs(spec.body).get("case", [""])[0].split(":")


CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')
TICKET_RE = re.compile(r'name="ticket" value="([^"]+)"')


async def family(
    url: str,
    number: int,
    address: str,
    week_path: str,
    toggle_path: str,
    stats: Stats,
    rng,
    scarce_activity: int,
):
    headers = {"X-Forwarded-For": address}
    # A client of its own per family (its cookies, its one connection, as a phone): plain
    # HTTP, so no CA bundle to load (25 ms each, the load generator's largest cost). One pool
    # shared by all families is worse: httpcore's pool scans its whole queue at every event.
    client = httpx.AsyncClient(
        base_url=url,
        timeout=60,
        headers=headers,
        verify=False,
        limits=httpx.Limits(max_connections=2, max_keepalive_connections=1),
    )
    try:
        started = time.perf_counter()
        page = await client.get("/connexion")
        stats.page_ms.append((time.perf_counter() - started) * 1000)
        if page.status_code != 200:
            stats.error(f"GET /connexion {page.status_code}")
            return
        fields = {"code_famille": f"{CODE_PREFIX}{number:06d}", "mot_de_passe": BENCH_PASSWORD}
        token, ticket = _csrf(page.text), None
        first_post = time.perf_counter()
        while True:
            data = {**fields, "_csrf_token": token, **({"ticket": ticket} if ticket else {})}
            started = time.perf_counter()
            response = await client.post("/connexion", data=data)
            stats.login_ms.append((time.perf_counter() - started) * 1000)
            if response.status_code == 303:
                break
            refresh = REFRESH_RE.fullmatch(response.headers.get("refresh", ""))
            if refresh is None:
                stats.error(f"POST /connexion {response.status_code}")
                return
            stats.queued += 1
            # The queue page: reload at its refresh until the form comes back with a ticket.
            while refresh is not None:
                stats.queue_pages += 1
                await asyncio.sleep(int(refresh.group(1)))
                page = await client.get(refresh.group(2))
                if page.status_code != 200:
                    stats.error(f"GET file d’attente {page.status_code}")
                    return
                refresh = REFRESH_RE.fullmatch(page.headers.get("refresh", ""))
            token = _csrf(page.text)
            found = TICKET_RE.search(page.text)
            ticket = found.group(1) if found else None
            if ticket is None:
                stats.error("file d’attente sans ticket")
                return
        stats.get_in_ms.append((time.perf_counter() - first_post) * 1000)
        stats.logged_in += 1
        started = time.perf_counter()
        week = await client.get(week_path)
        stats.page_ms.append((time.perf_counter() - started) * 1000)
        if week.status_code != 200:
            stats.error(f"GET semaine {week.status_code}")
            return
        specs = [
            s for s in targets.toggle_specs(week.text, toggle_path) if _case(s)[-1] == "reserver"
        ]
        rng.shuffle(specs)
        # The scarce activity first: on opening morning everyone wants the same places.
        specs.sort(key=lambda s: _case(s)[1] != str(scarce_activity))
        chosen = specs[:BOOKINGS_PER_FAMILY]
        refused = []
        for spec in chosen:
            status = await _book(client, spec, stats)
            if status == 409:
                refused.append(spec)
            await asyncio.sleep(rng.uniform(0.3, 1.5))  # a parent's tap after the last
        if refused and rng.random() < RETRY_SHARE:
            stats.retries += 1
            await asyncio.sleep(rng.uniform(1, 3))
            await _book(client, refused[0], stats)
    except httpx.HTTPError as exc:
        stats.error(type(exc).__name__)
    finally:
        await client.aclose()


def _cell(spec) -> tuple[str, str, str]:
    child, activity, day, _action = _case(spec)
    return child, activity, day


async def _book(client, spec, stats: Stats) -> int:
    sent = time.perf_counter()
    response = await client.post(
        spec.path,
        content=spec.body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **spec.headers},
    )
    stats.book_ms.append((time.perf_counter() - sent) * 1000)
    stats.requests.append((_cell(spec), sent, response.status_code))
    if response.status_code == 200:
        stats.booked += 1
    elif response.status_code == 409:
        stats.refused += 1
    else:
        stats.error(f"POST réservation {response.status_code}")
    return response.status_code


async def arrivals(url: str, args, week: str, stats: Stats, scarce_activity: int) -> float:
    rng = random.Random(args.seed)
    numbers = rng.sample(range(1, args.families + 1), args.arrivals)
    times = sorted(rng.uniform(0, args.seconds) for _ in numbers)
    week_path = f"/famille/reservations?semaine={week}"
    started = time.perf_counter()

    async def one(i: int, number: int, at: float):
        await asyncio.sleep(max(0.0, started + at - time.perf_counter()))
        address = f"100.64.{i % NAT_ADDRESSES}.1"  # a few dozen carrier NAT addresses
        await family(
            url,
            number,
            address,
            week_path,
            "/famille/reservations",
            stats,
            rng,
            scarce_activity,
        )

    await asyncio.gather(*(one(i, n, t) for i, (n, t) in enumerate(zip(numbers, times))))
    return time.perf_counter() - started


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.opening", description=__doc__)
    parser.add_argument("--families", type=int, default=10_000)
    parser.add_argument("--arrivals", type=int, default=2_500)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scarce", type=int, default=3, help="places laissées par case rare")
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--postgres-url", default=_default("ECP_BENCH_POSTGRES_URL"))
    # The bench's Redis server, its own database index (flushed at the start).
    redis = urlsplit(_default("ECP_BENCH_REDIS_URL"))._replace(path=f"/{REDIS_INDEX}")
    parser.add_argument("--redis-url", default=urlunsplit(redis))
    parser.add_argument(
        "--database-url", default=None, help="une base à utiliser telle quelle (sqlite:///…)"
    )
    parser.add_argument("--label", default="opening")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from bench.run import Server, base_env, seed

    args = parse_args(argv if argv is not None else sys.argv[1:])
    today = dt.date.today()
    workdir = Path(tempfile.mkdtemp(prefix="ecp-opening-"))
    if args.database_url:
        url, redis_url = args.database_url, None
    else:
        url, redis_url = fresh_postgres(args.postgres_url), args.redis_url
        flush_redis(redis_url)
    env = base_env(url, redis_url)
    env["ECP_HASH_CONCURRENCY"] = str(os.cpu_count() or 2)
    log(f"génération de la commune ({args.families} familles)…")
    seeded = seed(env, args.families)
    week, days = opening_week(today)
    scarce = asyncio.run(make_scarce(url, days, args.scarce))
    before = asyncio.run(capacity_check(url, days))
    log(
        f"semaine {week} ; activité {scarce['activity']} rendue rare dans {scarce['schools']} écoles"
    )
    server = Server(env, args.workers, workdir)
    server.start()
    stats = Stats()
    try:
        server.cpu_mark()
        client_cpu, load_before = time.process_time(), os.getloadavg()[0]
        log(f"{args.arrivals} familles en {args.seconds:.0f} s, {args.workers} worker(s)…")
        elapsed = asyncio.run(arrivals(server.url, args, week, stats, scarce["activity"]))
        cpu = server.cpu_since_mark()
        client_cpu = time.process_time() - client_cpu
    finally:
        server.stop()
    after = asyncio.run(capacity_check(url, days))
    # Places are per school, activity and day, whichever child asks: group the requests so.
    schools = {
        str(r["id"]): r["school"] for r in asyncio.run(sql(url, "SELECT id, school FROM child"))
    }
    fair = fairness(
        [
            ((schools.get(child), activity, day), sent, status)
            for (child, activity, day), sent, status in stats.requests
        ]
    )
    results = {
        "label": args.label,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "params": vars(args) | {"database": "sqlite" if _sqlite_path(url) else "postgresql"},
        "seed": seeded,
        "week": week,
        "scarce": scarce,
        "elapsed_s": round(elapsed, 1),
        "server_cpu_s": round(cpu, 1),
        "client_cpu_s": round(client_cpu, 1),
        "load": [load_before, os.getloadavg()[0]],
        "families": args.arrivals,
        "logged_in": stats.logged_in,
        "queued": stats.queued,
        "queue_pages": stats.queue_pages,
        "login_p50_ms": pct(stats.login_ms, 0.5),
        "login_p95_ms": pct(stats.login_ms, 0.95),
        "login_max_ms": pct(stats.login_ms, 1.0),
        "get_in_p95_ms": pct(stats.get_in_ms, 0.95),
        "page_p50_ms": pct(stats.page_ms, 0.5),
        "page_p95_ms": pct(stats.page_ms, 0.95),
        "booking_p95_ms": pct(stats.book_ms, 0.95),
        "booked": stats.booked,
        "refused": stats.refused,
        "retries": stats.retries,
        "errors": dict(stats.errors),
        "capacity_before": before,
        "capacity_after": after,
        "fairness": fair,
    }
    print(report(results))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{args.label}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str))
    print(f"Résultats : {out.relative_to(ROOT)}")
    return 0 if verdict(results) else 1


def verdict(results: dict) -> bool:
    return (
        not results["errors"]
        and results["capacity_after"]["over_capacity"] == 0
        and results["capacity_after"]["drift"] == 0
        and results["fairness"]["inversions"] == 0
        and results["logged_in"] == results["families"]
    )


def report(r: dict) -> str:
    f = r["fairness"]
    c = r["capacity_after"]
    lines = [
        "",
        f"Ouverture des inscriptions — {r['families']} familles en {r['params']['seconds']:.0f} s "
        f"({r['elapsed_s']} s en tout), {r['params']['workers']} worker(s), "
        f"{r['params']['database']}{' + Redis' if r['params']['database'] == 'postgresql' else ''}",
        f"connectées : {r['logged_in']}/{r['families']} ; passées par la file d’attente : "
        f"{r['queued']} ({r['queue_pages']} pages d’attente)",
        f"connexion (POST) p50 {r['login_p50_ms']} ms, p95 {r['login_p95_ms']} ms, max "
        f"{r['login_max_ms']} ms ; jusqu’à l’entrée, file comprise, p95 {r['get_in_p95_ms']} ms",
        f"pages (connexion, semaine) p50 {r['page_p50_ms']} ms, p95 {r['page_p95_ms']} ms ; "
        f"réservation p95 {r['booking_p95_ms']} ms",
        f"réservations acceptées {r['booked']}, refusées (complet) {r['refused']}, "
        f"nouvel essai par {r['retries']} familles",
        f"places : {c['slots']} cases de la semaine, {c['full']} complètes, "
        f"{c['over_capacity']} au-delà de la capacité, {c['drift']} compteurs faux",
        f"équité : {f['contested_cells']} cases disputées, {f['inversions']} refus avant une "
        f"acceptation plus tardive de plus de {FAIR_TOLERANCE:.0f} s "
        f"({100 * f['share_in_order']:.1f} % des refus dans l’ordre des demandes)",
        f"erreurs : {sum(r['errors'].values())} {r['errors'] or ''}",
        f"CPU du serveur : {r['server_cpu_s']} s ; du générateur de charge : "
        f"{r['client_cpu_s']} s ; charge de la machine {r['load'][0]:.1f} → {r['load'][1]:.1f}",
        "verdict : " + ("atteint" if verdict(r) else "MANQUÉ"),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
