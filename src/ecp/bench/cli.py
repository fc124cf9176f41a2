"""`ecp seed-bench` (the benchmark commune) and `ecp bench` (the load driver, ecp.bench.run)."""

from __future__ import annotations

import asyncio
import sys


def cmd_seed_bench(args) -> int:
    from ecp import db
    from ecp.bench.seed import NotEmpty, seed_bench
    from ecp.settings import Settings

    url = Settings.from_env().database_url

    async def go():
        await db.migrate()
        return await seed_bench(url, families=args.families, schools=args.schools,
                                seed=args.seed, progress=None if args.quiet else print)

    try:
        summary = asyncio.run(go())
    except NotEmpty as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(summary.text())
    return 0


def cmd_bench(args) -> int:
    from ecp.bench import run
    from ecp.bench.options import finish_args

    return run.bench(finish_args(args))


def register(sub) -> None:
    seed = sub.add_parser("seed-bench", help="generate the benchmark commune (empty database)")
    seed.add_argument("--families", type=int, default=10_000)
    seed.add_argument("--schools", type=int, default=30)
    seed.add_argument("--seed", type=int, default=2026, help="random seed (same seed, same commune)")
    seed.add_argument("--quiet", action="store_true")
    seed.set_defaults(func=cmd_seed_bench)
    from ecp.bench.options import add_arguments

    bench = sub.add_parser("bench", help="run the load benchmark (make bench, make bench-quick)")
    add_arguments(bench)
    bench.set_defaults(func=cmd_bench)
