"""PostgreSQL restarted under load, on a throwaway cluster (never the machine's own server).

`python -m bench.faults`: initdb a private cluster on a free port (as the postgres user when
run as root), seed a small bench commune, start the app on it, drive week pages, booking taps
and /healthz from several families, stop PostgreSQL for a few seconds, start it again, and
report what the families saw (status codes over time), how long the app took to recover by
itself, which exceptions the server logged, and whether the place counters still match the
bookings (nothing lost, nothing written twice).
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from bench import targets
from bench.run import Server, base_env, free_port, log, open_sessions, seed


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


class Cluster:
    """A private PostgreSQL cluster in a temporary folder."""

    def __init__(self) -> None:
        self.bin = _pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="ecp-faults-pg-"))
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        line = " ".join(command)
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root.
            shutil.chown(self.dir, "postgres")
            return subprocess.run(
                ["su", "postgres", "-c", line], capture_output=True, text=True, timeout=120
            )
        return subprocess.run(["sh", "-c", line], capture_output=True, text=True, timeout=120)

    def init(self) -> None:
        data = self.dir / "data"
        done = self._run(
            str(self.bin / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-2000:])

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        done = self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.dir / "data"),
            "-o",
            f"'{options}'",
            "-l",
            str(self.dir / "postgres.log"),
            "-w",
            "start",
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-2000:] + done.stdout[-2000:])

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


async def drive_through_outage(
    server: Server, cluster: Cluster, families: int, *, before: float, outage: float, after: float
) -> dict:
    import datetime as dt

    today = dt.date.today()
    clients, _staff = await open_sessions(server.url, 6, families)
    routes = targets.resolve(
        [
            {"path": "/famille/reservations", "name": "booking_week", "methods": ["GET"]},
            {"path": "/famille/reservations", "name": "booking_change", "methods": ["POST"]},
            {"path": "/healthz", "name": "healthz", "methods": ["GET"]},
        ]
    )
    plans = [await targets.discover_family(c, routes, today) for c in clients]
    events: list[tuple[float, str, int | str]] = []
    stop = asyncio.Event()
    t0 = time.monotonic()

    async def family(client, plan):
        n = 0
        toggles = plan.get("toggle", [])
        while not stop.is_set():
            kinds = [("week", s) for s in plan.get("week", [])[:1]]
            if toggles:
                kinds.append(("toggle", toggles[n % len(toggles)]))
            for kind, spec in kinds:
                body = spec.body if (n // max(1, len(toggles))) % 2 == 0 else spec.alt_body
                try:
                    response = await client.request(
                        spec.method,
                        spec.path,
                        content=body if spec.method == "POST" else None,
                        headers={
                            **spec.headers,
                            **(
                                {"Content-Type": "application/x-www-form-urlencoded"}
                                if spec.method == "POST"
                                else {}
                            ),
                        },
                        timeout=10,
                    )
                    events.append((time.monotonic() - t0, kind, response.status_code))
                except httpx.HTTPError as exc:
                    events.append((time.monotonic() - t0, kind, type(exc).__name__))
            n += 1
            await asyncio.sleep(0.05)

    async def health():
        async with httpx.AsyncClient(base_url=server.url) as anonymous:
            while not stop.is_set():
                try:
                    response = await anonymous.get("/healthz", timeout=5)
                    events.append((time.monotonic() - t0, "healthz", response.status_code))
                except httpx.HTTPError as exc:
                    events.append((time.monotonic() - t0, "healthz", type(exc).__name__))
                await asyncio.sleep(0.1)

    tasks = [asyncio.create_task(family(c, p)) for c, p in zip(clients, plans)]
    tasks.append(asyncio.create_task(health()))
    await asyncio.sleep(before)
    down_at = time.monotonic() - t0
    await asyncio.to_thread(cluster.stop, "fast")
    await asyncio.sleep(outage)
    await asyncio.to_thread(cluster.start)
    up_at = time.monotonic() - t0
    await asyncio.sleep(after)
    stop.set()
    await asyncio.gather(*tasks)
    for client in clients:
        await client.aclose()

    def window(lo: float, hi: float) -> dict:
        counts = Counter(f"{kind} {status}" for t, kind, status in events if lo <= t < hi)
        return dict(sorted(counts.items()))

    # Recovery: from the restart, the first moment after which every page answered below 500.
    failures_after = [
        t for t, _k, s in events if t >= up_at and (not isinstance(s, int) or s >= 500)
    ]
    recovered_at = max(failures_after, default=up_at)
    return {
        "sessions": len(clients),
        "down_at_s": round(down_at, 1),
        "up_at_s": round(up_at, 1),
        "before": window(0, down_at),
        "during": window(down_at, up_at),
        "after_restart": window(up_at, up_at + after + 5),
        "recovered_seconds_after_restart": round(recovered_at - up_at, 2),
        "failures_after_recovery": sum(
            1 for t, _k, s in events if t > recovered_at and (not isinstance(s, int) or s >= 500)
        ),
    }


def server_exceptions(log_path: Path) -> dict:
    """The exception types behind 500s, from the server's log."""
    text = log_path.read_text(errors="replace")
    # Plain tracebacks end with "Type: message"; structured logs carry the type in a field.
    found = Counter(
        re.findall(
            r"(?:\\x0a|\\n|\b)((?:[a-z_]\w*\.)*[A-Z]\w*(?:Error|Exception))\b(?=:|\\|\"|')", text
        )
    )
    found.pop("HTTPException", None)
    return dict(found.most_common(8))


async def check_counters(url: str) -> dict:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        mismatched = await conn.fetchval(
            "SELECT COUNT(*) FROM slot s WHERE s.booked <> (SELECT COUNT(*) FROM booking b "
            "WHERE b.school = s.school AND b.activity = s.activity AND b.day = s.day "
            "AND b.state = 'reservee')"
        )
        duplicates = await conn.fetchval(
            "SELECT COUNT(*) FROM (SELECT child, activity, day FROM booking "
            "GROUP BY child, activity, day HAVING COUNT(*) > 1) d"
        )
    finally:
        await conn.close()
    return {"slots_not_matching_bookings": mismatched, "duplicate_bookings": duplicates}


def run_faults(families: int = 60, before: float = 3, outage: float = 4, after: float = 8) -> dict:
    if _pg_bin() is None:
        return {"absent": "pg_ctl introuvable (/usr/lib/postgresql/*/bin)"}
    cluster = Cluster()
    workdir = Path(tempfile.mkdtemp(prefix="ecp-faults-"))
    server = None
    try:
        log("pannes : cluster PostgreSQL jetable…")
        cluster.init()
        cluster.start()
        env = base_env(cluster.url, None)
        seed(env, families)
        server = Server(env, 1, workdir)
        server.start()
        log(f"pannes : arrêt de PostgreSQL {outage} s sous charge…")
        result = asyncio.run(
            drive_through_outage(
                server, cluster, families, before=before, outage=outage, after=after
            )
        )
        result["server_exceptions"] = server_exceptions(server.log_path)
        result["counters"] = asyncio.run(check_counters(cluster.url))
        return result
    finally:
        if server is not None:
            server.stop()
        cluster.remove()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    result = run_faults()
    print(json.dumps(result, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
