"""The French line for each expected failure of a command; a bug stays a bug (None)."""

from __future__ import annotations

import argparse
import errno
import socket
import sqlite3

import asyncpg
import pytest

from ecp.cli import run_command
from ecp.db import DatabaseConfigError, engine_from_url
from ecp.failures import CommandError, describe
from ecp.ops.backup import BackupError


def raised_in_database_code(exc: BaseException) -> BaseException:
    """The exception as if asyncpg had raised it (describe looks at the traceback)."""
    code = compile("raise exc", "/site-packages/asyncpg/connect_utils.py", "exec")
    try:
        exec(code, {"exc": exc})
    except BaseException as caught:  # noqa: BLE001 - handed back to the test
        return caught
    raise AssertionError("not raised")


def test_own_errors_are_shown_as_they_are():
    assert describe(CommandError("Le port 80 est déjà utilisé.")) == "Le port 80 est déjà utilisé."
    assert describe(BackupError("pg_dump a échoué :\n ligne 1\n ligne 2")) == (
        "pg_dump a échoué : ligne 1 ligne 2"
    )


def test_postgres_refusals():
    assert describe(asyncpg.InvalidCatalogNameError('database "x" does not exist')).startswith(
        "Base de données introuvable sur le serveur PostgreSQL"
    )
    assert describe(asyncpg.InvalidPasswordError("password authentication failed")).startswith(
        "Connexion à PostgreSQL refusée (utilisateur ou mot de passe)"
    )
    assert describe(asyncpg.UndefinedTableError('relation "family" does not exist')) == (
        "La base n’est pas initialisée : lancez d’abord « ecp migrate »."
    )


def test_network_errors_while_connecting_to_the_database():
    refused = raised_in_database_code(ConnectionRefusedError(errno.ECONNREFUSED, "refused"))
    assert describe(refused) == (
        "Base de données injoignable (connexion refusée) : vérifiez ECP_DATABASE_URL et que le "
        "serveur de base de données est démarré."
    )
    unknown = raised_in_database_code(socket.gaierror(-2, "Name or service not known"))
    assert "(nom de serveur inconnu)" in describe(unknown)
    # The same error elsewhere (an SMTP server) does not blame the database.
    assert describe(ConnectionRefusedError(errno.ECONNREFUSED, "refused")) == (
        "Connexion impossible (connexion refusée) : le serveur est-il démarré ?"
    )


def test_file_errors_in_french():
    exc = PermissionError(errno.EACCES, "Permission denied", "/srv/sauvegardes")
    assert describe(exc) == "Opération impossible (permission refusée) : /srv/sauvegardes"
    assert describe(sqlite3.OperationalError("no such table: family")) == (
        "La base n’est pas initialisée : lancez d’abord « ecp migrate »."
    )


def test_database_urls(tmp_path):
    with pytest.raises(DatabaseConfigError, match="non pris en charge"):
        engine_from_url("mysql://localhost/ecp")
    (tmp_path / "f").write_text("")
    with pytest.raises(DatabaseConfigError, match="impossible à créer"):
        engine_from_url(f"sqlite:///{tmp_path}/f/ecp.sqlite")


def test_a_bug_keeps_its_traceback_and_ctrl_c_exits_130(capsys):
    assert describe(ValueError("bug")) is None and describe(KeyError("x")) is None

    def buggy(_args):
        raise ZeroDivisionError("division by zero")

    with pytest.raises(ZeroDivisionError):
        run_command(argparse.Namespace(func=buggy))

    def interrupted(_args):
        raise KeyboardInterrupt

    assert run_command(argparse.Namespace(func=interrupted)) == 130
    assert capsys.readouterr().err == "Interrompu.\n"
