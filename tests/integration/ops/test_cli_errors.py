"""Every `ecp` command ends an expected failure with one French line on stderr and a non-zero
exit status, never a Python traceback: a folder that cannot be created, a missing backup, a
database out of reach, a port already taken."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ecp.cli import main
from tests.conftest import DATABASE_URL

ROOT = Path(__file__).resolve().parents[3]
DOWN = "postgresql://postgres@127.0.0.1:1/ecp"  # nothing listens on port 1


def ecp(*args: str, url: str = DATABASE_URL) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "ECP_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "ecp.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_french_line(done: subprocess.CompletedProcess, starts: str) -> str:
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr and "Error:" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("Erreur : ")]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith(f"Erreur : {starts}"), errors[0]
    return errors[0]


@pytest.fixture
def a_file(tmp_path) -> Path:
    path = tmp_path / "un-fichier"
    path.write_text("pas un dossier")
    return path


def test_backup_into_an_uncreatable_folder(a_file):
    line = one_french_line(
        ecp("backup", str(a_file / "sauvegardes" / "ecp.sqlite")),
        "Dossier de sauvegarde impossible à créer",
    )
    assert "un élément du chemin est un fichier, pas un dossier" in line
    assert str(a_file / "sauvegardes") in line


def test_backup_into_an_unwritable_place(tmp_path):
    line = one_french_line(
        ecp("backup", "/proc/ecp-sauvegarde.sqlite"), "Écriture de la sauvegarde impossible ("
    )
    assert line.endswith(": /proc/ecp-sauvegarde.sqlite")
    one_french_line(ecp("backup", str(tmp_path)), f"{tmp_path} est un dossier")


def test_restore_of_a_missing_file(tmp_path):
    one_french_line(
        ecp("restore", str(tmp_path / "absente.sqlite")),
        f"Sauvegarde introuvable : {tmp_path / 'absente.sqlite'}",
    )


@pytest.mark.parametrize(
    "command",
    [
        ["migrate"],
        ["seed-demo"],
        ["jobs", "--once"],
        ["bill", "--month", "2026-11"],
        ["reindex-familles"],
    ],
)
def test_database_out_of_reach(command):
    line = one_french_line(ecp(*command, url=DOWN), "Base de données injoignable")
    assert "connexion refusée" in line and "ECP_DATABASE_URL" in line


def test_backup_with_the_database_out_of_reach():
    one_french_line(
        ecp("backup", "/tmp/ecp-test-never-written.dump", url=DOWN),
        "Base de données injoignable, pg_dump a échoué",
    )
    assert not Path("/tmp/ecp-test-never-written.dump").exists()
    assert not Path("/tmp/ecp-test-never-written.dump.partial").exists()


def test_bad_database_urls(a_file):
    one_french_line(
        ecp("migrate", url="mysql://localhost/ecp"), "ECP_DATABASE_URL non pris en charge (mysql)"
    )
    one_french_line(
        ecp("backup", "/tmp/x.dump", url="mysql://localhost/ecp"),
        "ECP_DATABASE_URL non pris en charge (mysql)",
    )
    one_french_line(
        ecp("migrate", url=f"sqlite:///{a_file}/ecp.sqlite"),
        "Dossier de la base SQLite impossible à créer",
    )


def test_serve_on_a_port_already_taken():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = ecp("serve", "--host", "127.0.0.1", "--port", str(port))
    one_french_line(done, f"Le port {port} est déjà utilisé")


def test_counts_read_in_french():
    done = ecp("reindex-familles")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("Index de recherche reconstruit : 0 famille.")
    done = ecp("bill", "--month", "2026-11")
    assert done.returncode == 0, done.stderr
    assert "0 facture créée pour 0 famille concernée." in done.stdout


# In-process: main() itself, with capsys.


def test_main_backup_error_is_one_line_and_exit_1(a_file, capsys):
    assert main(["backup", str(a_file / "x" / "y.sqlite"), "--database-url", DATABASE_URL]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("Erreur : Dossier de sauvegarde impossible")


def test_main_restore_missing_file(tmp_path, capsys):
    missing = tmp_path / "nulle-part.dump"
    assert main(["restore", str(missing), "--database-url", DATABASE_URL]) == 1
    assert capsys.readouterr().err == f"Erreur : Sauvegarde introuvable : {missing}\n"
