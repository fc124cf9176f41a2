"""The `ecp` command line: migrate, seed-demo, serve, create-admin (and each feature's commands).

Expected failures (a folder that cannot be written, a missing file, the database out of reach)
end every command with one French line on stderr and exit status 1, never a traceback; see
ecp.failures. An unrecognised exception is a bug and keeps its traceback for the report.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import warnings


def _run(coro):
    return asyncio.run(coro)


async def _migrate() -> None:
    from ecp import db

    await db.migrate()


def cmd_migrate(_args) -> int:
    _run(_migrate())
    print("Base de données à jour.")
    return 0


def cmd_seed_demo(_args) -> int:
    from ecp.demo.seed import seed_demo
    from ecp.settings import Settings

    async def go():
        await _migrate()
        return await seed_demo(Settings.from_env())

    summary = _run(go())
    print(summary)
    return 0


def cmd_create_admin(args) -> int:
    from ecp.auth.admin import create_admin
    from ecp.settings import Settings

    settings = Settings.from_env()
    password = settings.admin_password
    if not password:
        if not sys.stdin.isatty():
            print(
                "Donnez le mot de passe dans ECP_ADMIN_PASSWORD ou lancez la commande dans un terminal.",
                file=sys.stderr,
            )
            return 2
        password = getpass.getpass("Mot de passe (15 caractères au moins) : ")
    try:
        _run(create_admin(settings, args.username, args.name, password))
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"Compte administrateur « {args.username} » créé.")
    return 0


def cmd_serve(args) -> int:
    from granian import Granian

    from ecp.failures import CommandError
    from ecp.settings import Settings

    settings = Settings.from_env()
    args.host = args.host or settings.host
    args.port = args.port or settings.port
    args.workers = args.workers or settings.workers

    from ecp.resources import PACKAGE

    reload = {}
    if args.reload:
        # Granian's reloader is an extra (it watches files through watchfiles).
        try:
            import watchfiles  # noqa: F401
        except ImportError:
            print(
                "« ecp serve --reload » demande watchfiles : pip install 'granian[reload]'.",
                file=sys.stderr,
            )
            return 1
        # The package: its code and its templates (a changed template restarts the workers
        # too, so no ECP_DEBUG is needed to see it).
        reload = dict(reload=True, reload_paths=[PACKAGE])
    if args.migrate:
        _run(_migrate())
    server = Granian(
        "ecp.asgi:app",
        address=args.host,
        port=args.port,
        interface="asgi",
        workers=args.workers,
        # One crashed worker must not take the whole portal down.
        respawn_failed_workers=True,
        log_access=args.access_log,
        **reload,
    )
    try:
        server.serve()
    except RuntimeError as exc:  # granian reports socket errors as RuntimeError("... os error N")
        if "os error 98" in str(exc) or "Address already in use" in str(exc):
            raise CommandError(
                f"Le port {args.port} est déjà utilisé sur {args.host} : arrêtez "
                "l’autre serveur ou choisissez un autre port (--port)."
            ) from exc
        if "os error 13" in str(exc) or "Permission denied" in str(exc):
            raise CommandError(
                f"Droit refusé pour écouter sur le port {args.port} : choisissez "
                "un port au-dessus de 1024."
            ) from exc
        if "os error 99" in str(exc) or "Cannot assign requested address" in str(exc):
            raise CommandError(f"Adresse {args.host} inconnue sur cette machine (--host).") from exc
        raise
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ecp", description="Portail Famille (ECP)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply the database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("seed-demo", help="create or refresh the demo commune").set_defaults(
        func=cmd_seed_demo
    )
    admin = sub.add_parser("create-admin", help="create an administrator account")
    admin.add_argument("--username", required=True)
    admin.add_argument("--name", default="Administrateur")
    admin.set_defaults(func=cmd_create_admin)
    serve = sub.add_parser("serve", help="serve the app with granian")
    # Defaults from ECP_HOST, ECP_PORT, ECP_WORKERS, read lazily: a bad value elsewhere in the
    # environment must not stop `ecp --help`.
    serve.add_argument("--host", default=None, help="default: ECP_HOST, else 127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: ECP_PORT, else 8000")
    serve.add_argument("--workers", type=int, default=None, help="default: ECP_WORKERS, else 1")
    serve.add_argument("--migrate", action="store_true", help="apply migrations first")
    serve.add_argument("--access-log", action="store_true")
    serve.add_argument(
        "--reload",
        action="store_true",
        help="restart the workers when the code or a template changes (development)",
    )
    serve.set_defaults(func=cmd_serve)
    # Each feature's commands: ecp/<feature>/cli.py with register(subparsers), where each
    # subcommand sets `func` (a callable taking the parsed args and returning an exit code).
    from ecp.accounts import cli as accounts_cli
    from ecp.invoices import cli as invoices_cli
    from ecp.mail import cli as mail_cli
    from ecp.ops import cli as ops_cli

    for feature_cli in (invoices_cli, mail_cli, accounts_cli, ops_cli):
        feature_cli.register(sub)
    args = parser.parse_args(argv)
    return run_command(args)


def run_command(args) -> int:
    from ecp.failures import describe

    # Piccolo warns (two lines, in colour) before the connection error it then raises: the
    # French line below says it once.
    warnings.filterwarnings("ignore", message=r".*Unable to (connect to database|fetch server)")
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("Interrompu.", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - sorted below: expected failures, or re-raised
        message = describe(exc)
        if message is None:
            raise
        print(f"Erreur : {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
