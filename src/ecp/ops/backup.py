"""Backups and restores of the whole database.

SQLite: the online backup API copies a consistent snapshot while the app keeps writing (WAL:
readers never block the writer), then `PRAGMA integrity_check` vets the copy before it replaces
the target file. PostgreSQL: `pg_dump --format=custom`, vetted with `pg_restore --list`;
restore with `pg_restore --clean --single-transaction`. The password never appears on a
command line (ps): it travels in PGPASSWORD. Every expected failure (a folder that cannot be
created or written, a missing backup, a database out of reach) is a BackupError with one French
line for the operator.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from ecp.failures import CommandError


class BackupError(CommandError):
    """A backup or restore refused; ecp.failures prints its message as the command's line."""


def _reason(exc: BaseException) -> str:
    from ecp.failures import os_reason, sqlite_reason

    if isinstance(exc, OSError):
        return os_reason(exc)
    if isinstance(exc, sqlite3.Error):
        return sqlite_reason(exc)
    return " ".join(str(exc).split())


def _engine_of(url: str) -> str:
    if url.startswith("sqlite:///"):
        return "sqlite"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgres"
    raise BackupError(
        f"ECP_DATABASE_URL non pris en charge ({url.split(':', 1)[0]}) : "
        "sqlite:///chemin ou postgresql://… attendu."
    )


def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def integrity_check(path: Path) -> str:
    """'ok', or what SQLite found wrong (a file that is no database at all included)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return "; ".join(r[0] for r in rows)


def _table_count_sqlite(path: Path) -> int:
    if not path.exists():
        return 0
    conn = sqlite3.connect(path, timeout=30)
    try:
        return conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        ).fetchone()[0]
    finally:
        conn.close()


def backup_sqlite(url: str, dest: Path) -> None:
    source = _sqlite_path(url)
    if not source.exists():
        raise BackupError(f"Base introuvable : {source}")
    partial = dest.with_name(dest.name + ".partial")
    try:
        partial.unlink(missing_ok=True)
        src = sqlite3.connect(source, timeout=30)
        try:
            dst = sqlite3.connect(partial)
            try:
                # One step (pages=-1): a single read transaction, hence one consistent snapshot;
                # in WAL mode the app's writers carry on meanwhile. Step-wise copying would
                # restart each time another connection writes, and might never finish on a busy
                # day.
                src.backup(dst, pages=-1)
                dst.execute("PRAGMA journal_mode=DELETE")  # self-contained, no -wal beside it
            finally:
                dst.close()
        finally:
            src.close()
    except (OSError, sqlite3.Error) as exc:
        _discard(partial)
        raise BackupError(
            f"Écriture de la sauvegarde impossible ({_reason(exc)}) : {dest}"
        ) from exc
    result = integrity_check(partial)
    if result != "ok":
        _discard(partial)
        raise BackupError(f"Contrôle d'intégrité de la sauvegarde en échec : {result}")
    _move(partial, dest)


def _discard(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass  # nothing was written there, or it cannot be removed: the error above says why


def _move(partial: Path, dest: Path) -> None:
    try:
        os.replace(partial, dest)
    except OSError as exc:
        _discard(partial)
        raise BackupError(
            f"Écriture de la sauvegarde impossible ({_reason(exc)}) : {dest}"
        ) from exc


def restore_sqlite(url: str, source: Path, *, force: bool = False) -> None:
    target = _sqlite_path(url)
    result = integrity_check(source)
    if result != "ok":
        raise BackupError(f"Sauvegarde corrompue : {result}")
    try:
        if not force and _table_count_sqlite(target):
            raise BackupError("La base cible n'est pas vide : ajoutez --force pour l'écraser.")
        target.parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            dst = sqlite3.connect(target, timeout=30)
            try:
                # Through the backup API rather than a file copy: it takes the target's locks,
                # so a process that still has the file open sees either the old or the new
                # database.
                src.backup(dst, pages=-1)
                dst.execute("PRAGMA journal_mode=WAL")
            finally:
                dst.close()
        finally:
            src.close()
    except (OSError, sqlite3.Error) as exc:
        raise BackupError(f"Restauration impossible dans {target} ({_reason(exc)}).") from exc
    result = integrity_check(target)
    if result != "ok":
        raise BackupError(f"Base restaurée en échec au contrôle d'intégrité : {result}")


def _pg_env_and_dsn(url: str) -> tuple[dict, str]:
    parts = urlsplit(url)
    # pg_dump/pg_restore inherit the environment (PATH, PG* variables); no ECP_* is read here.
    env = dict(os.environ)
    netloc = parts.netloc
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
        user = parts.username or ""
        host = parts.hostname or ""
        if ":" in host:  # an IPv6 literal
            host = f"[{host}]"
        netloc = f"{user}@{host}" if user else host
        if parts.port:
            netloc += f":{parts.port}"
    return env, urlunsplit(parts._replace(netloc=netloc))


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} introuvable : installez postgresql-client.")
    return path


def _run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        # One line: pg_dump's message spans several ("Is the server running...").
        detail = " ".join(done.stderr.split())[:500]
        tool = Path(args[0]).name
        if "connection to server" in detail or "could not translate host name" in detail:
            raise BackupError(f"Base de données injoignable, {tool} a échoué : {detail}")
        raise BackupError(f"{tool} a échoué : {detail}")
    return done


def backup_postgres(url: str, dest: Path) -> None:
    env, dsn = _pg_env_and_dsn(url)
    partial = dest.with_name(dest.name + ".partial")
    # pg_dump works inside one repeatable-read snapshot: concurrent bookings do not tear it.
    try:
        _run(
            [
                _tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--file={partial}",
                f"--dbname={dsn}",
            ],
            env,
        )
    except BackupError:
        _discard(partial)
        raise
    listing = _run([_tool("pg_restore"), "--list", str(partial)], env).stdout
    if "TABLE DATA" not in listing:
        _discard(partial)
        raise BackupError("L'archive pg_dump ne contient aucune donnée.")
    _move(partial, dest)


def _pg_table_count(env: dict, dsn: str) -> int:
    done = _run(
        [
            _tool("psql"),
            "--no-psqlrc",
            "-tAc",
            "SELECT count(*) FROM information_schema.tables WHERE table_schema='public'",
            dsn,
        ],
        env,
    )
    return int(done.stdout.strip() or 0)


def restore_postgres(url: str, source: Path, *, force: bool = False) -> None:
    env, dsn = _pg_env_and_dsn(url)
    _run([_tool("pg_restore"), "--list", str(source)], env)  # a readable archive first
    if not force and _pg_table_count(env, dsn):
        raise BackupError("La base cible n'est pas vide : ajoutez --force pour l'écraser.")
    _run(
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={dsn}",
            str(source),
        ],
        env,
    )


def backup(url: str, dest: Path) -> None:
    engine = _engine_of(url)
    if dest.is_dir():
        raise BackupError(
            f"{dest} est un dossier : donnez le chemin du fichier de sauvegarde, "
            f"par exemple {dest / 'ecp-sauvegarde'}."
        )
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(
            f"Dossier de sauvegarde impossible à créer ({_reason(exc)}) : {dest.parent}"
        ) from exc
    if not os.access(dest.parent, os.W_OK):
        raise BackupError(f"Dossier de sauvegarde non accessible en écriture : {dest.parent}")
    # The file is tried first, the same way for both engines: pg_dump would say it in English.
    partial = dest.with_name(dest.name + ".partial")
    try:
        with open(partial, "wb"):
            pass
    except OSError as exc:
        raise BackupError(
            f"Écriture de la sauvegarde impossible ({_reason(exc)}) : {dest}"
        ) from exc
    if engine == "sqlite":
        backup_sqlite(url, dest)
    else:
        backup_postgres(url, dest)


def restore(url: str, source: Path, *, force: bool = False) -> None:
    engine = _engine_of(url)
    if not source.is_file():
        raise BackupError(f"Sauvegarde introuvable : {source}")
    if not os.access(source, os.R_OK):
        raise BackupError(f"Sauvegarde illisible (permission refusée) : {source}")
    if engine == "sqlite":
        restore_sqlite(url, source, force=force)
    else:
        restore_postgres(url, source, force=force)
