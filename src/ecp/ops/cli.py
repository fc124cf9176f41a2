"""`ecp backup PATH` and `ecp restore PATH`; `ecp jobs` runs the job runner on its own."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path


def _url(args) -> str:
    from ecp.settings import Settings

    return args.database_url or Settings.from_env().database_url


def cmd_backup(args) -> int:
    from ecp.ops.backup import backup

    # A BackupError reaches ecp.cli.run_command, which prints its French line (exit 1).
    backup(_url(args), Path(args.path))
    print(f"Sauvegarde écrite et vérifiée : {args.path}")
    return 0


def cmd_restore(args) -> int:
    from ecp.ops.backup import restore

    restore(_url(args), Path(args.path), force=args.force)
    print(
        f"Base restaurée depuis {args.path}. Lancez « ecp migrate » si la sauvegarde est "
        "plus ancienne que la version installée."
    )
    return 0


def cmd_jobs(args) -> int:
    """The job runner without the web app: for web processes started with ECP_JOBS=0, or
    `--once` from cron or a drill (runs what is due, then exits)."""
    from ecp import db
    from ecp.ops.jobs import JobRunner, default_jobs
    from ecp.settings import Settings
    from ecp.web.logs import configure_logging

    settings = Settings.from_env()
    configure_logging(settings)

    async def go() -> list[str]:
        async with db.pool(min_size=1, max_size=2):
            runner = JobRunner(settings, default_jobs(settings))
            if args.once:
                ran = await runner.run_pending()
                await runner.stop()
                return ran
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            await runner.start()
            await stop.wait()
            await runner.stop()
            return []

    ran = asyncio.run(go())
    if args.once:
        print("Tâches lancées : " + (", ".join(ran) or "aucune (pas encore dues)"))
    return 0


def register(subparsers) -> None:
    jobs = subparsers.add_parser("jobs", help="run the background jobs (without the web app)")
    jobs.add_argument("--once", action="store_true", help="run the due jobs once, then exit")
    jobs.set_defaults(func=cmd_jobs)
    backup = subparsers.add_parser("backup", help="back the database up to PATH (checked)")
    backup.add_argument("path")
    backup.add_argument("--database-url", help="default: ECP_DATABASE_URL")
    backup.set_defaults(func=cmd_backup)
    restore = subparsers.add_parser("restore", help="restore the database from PATH")
    restore.add_argument("path")
    restore.add_argument("--database-url", help="default: ECP_DATABASE_URL")
    restore.add_argument(
        "--force", action="store_true", help="overwrite a database that already holds tables"
    )
    restore.set_defaults(func=cmd_restore)
