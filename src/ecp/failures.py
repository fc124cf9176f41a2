"""The expected failures of the `ecp` commands, as one French line each.

An operator who types a wrong folder, or runs a command while the database is down, gets a
sentence that says what to fix, never a Python traceback. Anything not recognised here is a bug:
main() lets it through with its traceback, which is what has to be reported.
"""

from __future__ import annotations

import errno
import socket
import sqlite3
import traceback


class CommandError(Exception):
    """A command refuses to go on; the message is the French line the operator reads."""


# errno -> the French words for it (Python's strerror is in English).
OS_REASONS = {
    errno.ENOENT: "fichier ou dossier introuvable",
    errno.EACCES: "permission refusée",
    errno.EPERM: "opération non permise",
    errno.ENOTDIR: "un élément du chemin est un fichier, pas un dossier",
    errno.EEXIST: "un fichier de ce nom existe déjà",
    errno.EISDIR: "c’est un dossier, pas un fichier",
    errno.EROFS: "système de fichiers en lecture seule",
    errno.ENOSPC: "plus de place sur le disque",
    errno.EDQUOT: "quota disque dépassé",
    errno.ENAMETOOLONG: "nom de fichier trop long",
    errno.ECONNREFUSED: "connexion refusée",
    errno.EHOSTUNREACH: "serveur inaccessible",
    errno.ENETUNREACH: "réseau inaccessible",
    errno.ETIMEDOUT: "délai de connexion dépassé",
}

# Modules whose frames mean "this failed while talking to the database".
DATABASE_MODULES = ("/asyncpg/", "/aiosqlite/", "/piccolo/engine/", "/ecp/db.py")


def os_reason(exc: OSError) -> str:
    if isinstance(exc, socket.gaierror):
        return "nom de serveur inconnu"
    reason = OS_REASONS.get(exc.errno or -1)
    if reason is None:
        reason = exc.strerror or str(exc) or type(exc).__name__
    return reason


def sqlite_reason(exc: sqlite3.Error) -> str:
    text = str(exc)
    if "unable to open database file" in text:
        return "fichier impossible à ouvrir ou à créer"
    if "readonly" in text:
        return "fichier en lecture seule"
    if "disk I/O error" in text:
        return "erreur d’entrée-sortie du disque"
    if "database or disk is full" in text:
        return "plus de place sur le disque"
    if "file is not a database" in text:
        return "ce fichier n’est pas une base SQLite"
    return _one_line(text)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _through_database(exc: BaseException) -> bool:
    frames = traceback.extract_tb(exc.__traceback__)
    return any(any(m in frame.filename for m in DATABASE_MODULES) for frame in frames)


def _asyncpg_message(exc: BaseException) -> str | None:
    try:
        from asyncpg import exceptions as pg
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return None
    if isinstance(exc, pg.InvalidCatalogNameError):
        return (
            "Base de données introuvable sur le serveur PostgreSQL : créez-la ou corrigez "
            "ECP_DATABASE_URL."
        )
    if isinstance(exc, pg.InvalidAuthorizationSpecificationError):
        return (
            "Connexion à PostgreSQL refusée (utilisateur ou mot de passe) : vérifiez "
            "ECP_DATABASE_URL."
        )
    if isinstance(
        exc,
        (
            pg.CannotConnectNowError,
            pg.TooManyConnectionsError,
            pg.PostgresConnectionError,
            pg.ConnectionDoesNotExistError,
        ),
    ):
        return f"Base de données injoignable ({_one_line(exc)}) : réessayez dans un instant."
    if isinstance(exc, pg.UndefinedTableError):
        return "La base n’est pas initialisée : lancez d’abord « ecp migrate »."
    if isinstance(exc, pg.ClientConfigurationError):
        return f"ECP_DATABASE_URL invalide : {_one_line(exc)}"
    return None


def describe(exc: BaseException) -> str | None:
    """The French line for an expected failure, or None for a bug."""
    from ecp.db import DatabaseConfigError
    from ecp.settings import SettingsError

    if isinstance(exc, (CommandError, DatabaseConfigError, SettingsError)):
        return _one_line(exc)
    message = _asyncpg_message(exc)
    if message:
        return message
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc)
        if "no such table" in text:
            return "La base n’est pas initialisée : lancez d’abord « ecp migrate »."
        if "unable to open database file" in text:
            return (
                "Base SQLite impossible à ouvrir : vérifiez le chemin de ECP_DATABASE_URL et "
                "les droits sur son dossier."
            )
        if "locked" in text:
            return "Base SQLite occupée par un autre processus : réessayez dans un instant."
        return None
    if isinstance(exc, (OSError, TimeoutError)):
        if _through_database(exc):
            return (
                f"Base de données injoignable ({os_reason(exc)}) : vérifiez ECP_DATABASE_URL "
                "et que le serveur de base de données est démarré."
            )
        if isinstance(exc, (ConnectionError, TimeoutError)) or exc.errno in (
            errno.EHOSTUNREACH,
            errno.ENETUNREACH,
            errno.ETIMEDOUT,
        ):
            return f"Connexion impossible ({os_reason(exc)}) : le serveur est-il démarré ?"
        where = f" : {exc.filename}" if exc.filename else ""
        return f"Opération impossible ({os_reason(exc)}){where}"
    return None


__all__ = ["CommandError", "describe", "os_reason", "sqlite_reason"]
