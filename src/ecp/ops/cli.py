"""`ecp backup PATH` and `ecp restore PATH`; `ecp jobs` runs the job runner on its own."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _url(args) -> str:
    from ecp.settings import Settings

    return args.database_url or os.environ.get("ECP_DATABASE_URL") or Settings().database_url


def cmd_backup(args) -> int:
    from ecp.ops.backup import BackupError, backup

    try:
        backup(_url(args), Path(args.path))
    except BackupError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"Sauvegarde écrite et vérifiée : {args.path}")
    return 0


def cmd_restore(args) -> int:
    from ecp.ops.backup import BackupError, restore

    try:
        restore(_url(args), Path(args.path), force=args.force)
    except BackupError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"Base restaurée depuis {args.path}. Lancez « ecp migrate » si la sauvegarde est "
          "plus ancienne que la version installée.")
    return 0


def register(subparsers) -> None:
    backup = subparsers.add_parser("backup", help="back the database up to PATH (checked)")
    backup.add_argument("path")
    backup.add_argument("--database-url", help="default: ECP_DATABASE_URL")
    backup.set_defaults(func=cmd_backup)
    restore = subparsers.add_parser("restore", help="restore the database from PATH")
    restore.add_argument("path")
    restore.add_argument("--database-url", help="default: ECP_DATABASE_URL")
    restore.add_argument("--force", action="store_true",
                         help="overwrite a database that already holds tables")
    restore.set_defaults(func=cmd_restore)
