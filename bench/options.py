"""The benchmark's command-line options (`python -m bench.run`), kept apart from run.py's
heavy imports."""

from __future__ import annotations

import argparse
import os

# The bench's own variables (the app's are ecp.settings'): variable -> (default, meaning). They
# only give the defaults of the options below; README.md's Benchmark section lists them.
ENVIRONMENT = {
    "ECP_BENCH_POSTGRES_URL": (
        "postgresql://postgres@127.0.0.1:5432/postgres",
        "server of the PostgreSQL pass (its ecp_bench database recreated)",
    ),
    "ECP_BENCH_REDIS_URL": ("redis://127.0.0.1:6379/15", "Redis of the PostgreSQL pass"),
}


def _default(name: str) -> str:
    return os.environ.get(name) or ENVIRONMENT[name][0]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="petite commune, mesures courtes (make bench-quick)"
    )
    parser.add_argument("--families", type=int, default=None)
    parser.add_argument("--sessions", type=int, default=None, help="familles connectées")
    parser.add_argument("--duration", type=float, default=None, help="secondes par mesure")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--think-ms",
        type=int,
        default=1000,
        help="pause par connexion de la mesure rythmée du calendrier (0 : sans)",
    )
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--workers", default="1,2,4", help="workers de la passe PostgreSQL")
    parser.add_argument("--postgres-url", default=_default("ECP_BENCH_POSTGRES_URL"))
    parser.add_argument("--redis-url", default=_default("ECP_BENCH_REDIS_URL"))
    parser.add_argument("--today", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help="garder le dossier de travail")
    parser.add_argument(
        "--no-faults",
        dest="faults",
        action="store_false",
        help="sans la panne PostgreSQL (cluster jetable)",
    )
    parser.add_argument("--label", default=None)


def finish_args(args: argparse.Namespace) -> argparse.Namespace:
    args.families = args.families or (600 if args.quick else 10_000)
    # Enough families that none taps faster than a person could (the booking rate limit of
    # 120 a minute per family answers 429 to a bench that taps 30 times a second for one).
    args.sessions = args.sessions or (96 if args.quick else 200)
    args.duration = args.duration or (4 if args.quick else 10)
    args.label = args.label or ("quick" if args.quick else "full")
    return args
