"""In-process measurements on the bench database: route table, queries per request, page sizes.

Run by bench.run as `python -m bench.probe` with ECP_DATABASE_URL set; prints one JSON
document. Queries are counted around each request with bench.querycount (the app is the real
one, built by create_app, served through httpx's ASGI transport).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import sys
import time

import httpx

from bench import staff as bench_staff
from bench import targets
from bench.querycount import counting, install
from bench.seed import BENCH_PASSWORD, CODE_PREFIX

BASE = "http://127.0.0.1:8000"


def gz(body: bytes) -> int:
    return len(gzip.compress(body, 6))


async def login(client, path: str, fields: dict) -> bool:
    page = await client.get(path)
    token = next(
        (
            v
            for form in targets.parse(page.text).forms
            for _k, n, v, _c in form["fields"]
            if n == "_csrf_token"
        ),
        "",
    )
    response = await client.post(path, data={**fields, "_csrf_token": token})
    return response.status_code == 303


async def probe(family_code: str) -> dict:
    from ecp import clock, db
    from ecp.app import create_app
    from ecp.settings import Settings

    settings = Settings.from_env().with_(base_url=BASE, jobs_enabled=False)
    app = create_app(settings)
    install()
    routes = targets.route_table(app)
    resolved = targets.resolve(routes)
    out: dict = {
        "routes": routes,
        "present": {k: v is not None for k, v in resolved.items()},
        "queries": {},
        "sizes": {},
        "assets": {},
        "compression": None,
        "errors": [],
    }
    today = clock.today()
    async with db.pool(min_size=1, max_size=4):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with (
            httpx.AsyncClient(transport=transport, base_url=BASE) as family,
            httpx.AsyncClient(transport=transport, base_url=BASE) as staff,
        ):
            if not await login(
                family, "/connexion", {"code_famille": family_code, "mot_de_passe": BENCH_PASSWORD}
            ):
                out["errors"].append("connexion famille impossible")
                return out
            staff_ok = await bench_staff.login(staff) == 303
            specs = await targets.discover_family(family, resolved, today)
            if staff_ok:
                specs |= await targets.discover_staff(staff, resolved, today)
            specs["healthz"] = [targets.Spec("GET", "/healthz")]
            semaine_page = resolved.get("semaine_type")
            pages = {"home": (None, "/")}
            for key in ("week", "invoices"):
                if specs.get(key):
                    pages[key] = (family, specs[key][0].path)
            if semaine_page:
                pages["semaine_type_page"] = (family, semaine_page["path"])
            if specs.get("effectifs"):
                pages["effectifs"] = (staff, specs["effectifs"][0].path)
            anonymous = httpx.AsyncClient(transport=transport, base_url=BASE)
            for key, spec_list in specs.items():
                if not spec_list:
                    continue
                spec = spec_list[0]
                client = staff if key == "effectifs" else anonymous if key == "healthz" else family
                counts, times = [], []
                for body in (spec.body, spec.alt_body or spec.body, spec.body):
                    started = time.perf_counter()
                    with counting() as box:
                        response = await client.request(
                            spec.method,
                            spec.path,
                            content=body,
                            headers={
                                **spec.headers,
                                **(
                                    {"Content-Type": "application/x-www-form-urlencoded"}
                                    if body
                                    else {}
                                ),
                            },
                        )
                    counts.append(box[0])
                    times.append((time.perf_counter() - started) * 1000)
                # The first call may warm caches; the others are what a request costs alone.
                out["queries"][key] = {
                    "queries": max(counts[1:]),
                    "status": response.status_code,
                    "path": spec.path,
                    "alone_ms": round(min(times[1:]), 1),
                }
            for key, (client, path) in pages.items():
                response = await (client or anonymous).get(
                    path, headers={"Accept-Encoding": "gzip"}
                )
                body = response.content
                encoding = response.headers.get("content-encoding", "")
                out["compression"] = out["compression"] or bool(encoding)
                assets = await targets.asset_paths(client or anonymous, path)
                asset_sizes = {}
                for asset in assets:
                    a = await anonymous.get(asset)
                    asset_sizes[asset] = {
                        "raw": len(a.content),
                        "gzip": gz(a.content),
                        "status": a.status_code,
                    }
                    out["assets"][asset] = asset_sizes[asset]
                page_gzip = gz(body)
                assets_gzip = sum(v["gzip"] for v in asset_sizes.values())
                out["sizes"][key] = {
                    "path": path,
                    "status": response.status_code,
                    "raw": len(body),
                    "gzip": page_gzip,
                    "assets_gzip": assets_gzip,
                    "cold_gzip": page_gzip + assets_gzip,
                    "encoding": encoding,
                }
            await anonymous.aclose()
    out["today"] = today.isoformat()
    return out


def main() -> int:
    code = sys.argv[1] if len(sys.argv) > 1 else f"{CODE_PREFIX}000001"
    result = asyncio.run(probe(code))
    print("PROBEJSON " + json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
