"""Where the package's own files are: templates, static files and migrations ship inside the
package (wheel package data), so they are found next to this module wherever ecp is installed.
The ONE definition of each folder: the Jinja loader, the static router, the PDF renderer and
Piccolo's migrations folder all read it from here."""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
TEMPLATES = PACKAGE / "templates"
STATIC = PACKAGE / "static"
MIGRATIONS = PACKAGE / "migrations"
