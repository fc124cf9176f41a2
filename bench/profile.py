"""Where a request's milliseconds go: `python -m bench.profile [--n 400] [--sort tottime]`.

In-process, on the bench database (ECP_DATABASE_URL, seeded by bench.seed): the real app from
create_app, one family logged in, then each page requested `--n` times straight through the
ASGI callable (no socket, no HTTP client in the loop), timed by process CPU time, then once
more under cProfile whose top functions are printed. Use it to see what every page pays
(middleware, session lookup, headers, logging, metrics, templates) before and after a change.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time

import httpx

from bench import targets
from bench.probe import BASE, login
from bench.seed import BENCH_PASSWORD, CODE_PREFIX


def _scope(method: str, path: str, headers: dict[str, str]) -> dict:
    raw_path, _, query = path.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def call(app, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> int:
    status = {}

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            status["code"] = message["status"]

    await app(_scope(method, path, {"host": "127.0.0.1:8000", **headers}), receive, send)
    return status.get("code", 0)


async def run(n: int, sort: str, top: int, only: list[str]) -> None:
    from ecp import clock, db
    from ecp.app import create_app
    from ecp.settings import Settings

    settings = Settings.from_env().with_(base_url=BASE, jobs_enabled=False)
    app = create_app(settings)
    routes = targets.resolve(targets.route_table(app))
    async with db.pool(min_size=1, max_size=4):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as family:
            code = f"{CODE_PREFIX}000001"
            if not await login(
                family, "/connexion", {"code_famille": code, "mot_de_passe": BENCH_PASSWORD}
            ):
                raise SystemExit("connexion de la famille impossible")
            cookie = "; ".join(f"{c.name}={c.value}" for c in family.cookies.jar)
            week = targets.bench_weeks(clock.today())[1]
            pages = {
                "healthz": ("/healthz", {}),
                "week": (f"{routes['week']['path']}?semaine={week}", {"cookie": cookie}),
                "week_htmx": (
                    f"{routes['week']['path']}?semaine={week}",
                    {"cookie": cookie, "hx-request": "true"},
                ),
                "invoices": (routes["invoices"]["path"], {"cookie": cookie}),
                "home": ("/famille", {"cookie": cookie}),
            }
            specs = await targets.discover_family(family, routes, clock.today())
            toggle = specs["toggle"][0] if specs.get("toggle") else None
            if toggle is not None:
                pages["toggle"] = (
                    toggle.path,
                    {
                        "cookie": cookie,
                        "hx-request": "true",
                        "content-type": "application/x-www-form-urlencoded",
                    },
                )
            for key, (path, headers) in pages.items():
                if only and key not in only:
                    continue
                method = "POST" if key == "toggle" else "GET"
                bodies = (
                    [toggle.body.encode(), toggle.alt_body.encode()] if key == "toggle" else [b""]
                )
                for i in range(20):
                    status = await call(app, method, path, headers, bodies[i % len(bodies)])
                started = time.process_time()
                for i in range(n):
                    await call(app, method, path, headers, bodies[i % len(bodies)])
                cpu = (time.process_time() - started) * 1000 / n
                print(f"{key:<10} [{status}] {cpu:.3f} ms de CPU par requête ({path[:60]})")
                if top:
                    profiler = cProfile.Profile()
                    profiler.enable()
                    for i in range(n):
                        await call(app, method, path, headers, bodies[i % len(bodies)])
                    profiler.disable()
                    out = io.StringIO()
                    pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(top)
                    print(out.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=0, help="fonctions affichées (0 : aucune)")
    parser.add_argument("pages", nargs="*", help="healthz week week_htmx invoices home")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    asyncio.run(run(args.n, args.sort, args.top, args.pages))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
