"""Piccolo's migration state catches up with the database: no SQL runs, either way.

setup_version was created by raw SQL (2026-11-29T21:40:00) because its row and the triggers
that keep it must exist in the same step, so Piccolo's state never heard of the table and
`piccolo migrations new ecp --auto` proposed to create it again (and the generated migration
failed: the table exists). This step records the table exactly as that raw SQL made it
(SQLite: INTEGER id and version; PostgreSQL: SERIAL id, BIGINT version; NOT NULL DEFAULT 0).
Nothing is created or dropped, forwards or backwards: the raw migration owns the table.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "setup_version known to the migration state"


class StateOnlyMigrationManager(MigrationManager):
    """Adds to the state `--auto` diffs against; runs nothing on the database."""

    async def run(self, backwards: bool = False):
        print(f"  - {self.migration_id} [state only, no SQL]... ", end="")


async def forwards():
    manager = StateOnlyMigrationManager(migration_id=ID, app_name="ecp",
                                        description=DESCRIPTION)
    manager.add_table(class_name="SetupVersion", tablename="setup_version", schema=None,
                      columns=None)
    manager.add_column(
        table_class_name="SetupVersion", tablename="setup_version", column_name="version",
        db_column_name="version", column_class_name="BigInt", column_class=BigInt,
        params={"default": 0, "null": False, "primary_key": False, "unique": False,
                "index": False, "index_method": IndexMethod.btree, "choices": None,
                "db_column_name": None, "secret": False},
        schema=None,
    )
    return manager
