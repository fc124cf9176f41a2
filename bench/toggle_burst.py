"""Booking toggles in a burst: `python -m bench.toggle_burst`.

In-process like bench.profile, on the bench database (ECP_DATABASE_URL, seeded by bench.seed):
one family logged in, then 100 booking toggles of one cell (book, cancel...) sent 32 at a
time straight through the ASGI callable, timed by process CPU time (the aiosqlite threads
included). Sequential requests (bench.profile) never queue behind one another; this shows
what the writer queue costs under load. 100 stays under the family's rate limit (120 a minute).
"""

import asyncio
import time

import httpx

from bench import targets
from bench.probe import BASE, login
from bench.profile import call
from bench.seed import BENCH_PASSWORD, CODE_PREFIX


async def main():
    from ecp import clock, db
    from ecp.app import create_app
    from ecp.settings import Settings

    app = create_app(Settings.from_env().with_(base_url=BASE, jobs_enabled=False))
    routes = targets.resolve(targets.route_table(app))
    async with db.pool(min_size=1, max_size=4):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as fam:
            await login(
                fam,
                "/connexion",
                {"code_famille": f"{CODE_PREFIX}000001", "mot_de_passe": BENCH_PASSWORD},
            )
            cookie = "; ".join(f"{c.name}={c.value}" for c in fam.cookies.jar)
            specs = await targets.discover_family(fam, routes, clock.today())
            t = specs["toggle"][0]
            h = {
                "cookie": cookie,
                "hx-request": "true",
                "content-type": "application/x-www-form-urlencoded",
            }
            bodies = [t.body.encode(), t.alt_body.encode()]
            sem = asyncio.Semaphore(32)
            codes = []

            async def one(i):
                async with sem:
                    codes.append(await call(app, "POST", t.path, h, bodies[i % 2]))

            s = time.process_time()
            await asyncio.gather(*(one(i) for i in range(100)))
            print(
                f"toggle x32 {(time.process_time() - s) * 1000 / 100:.3f} ms CPU/req",
                {c: codes.count(c) for c in set(codes)},
            )


asyncio.run(main())
