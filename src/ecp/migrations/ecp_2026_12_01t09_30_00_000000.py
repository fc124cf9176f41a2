"""RefusedNotification: requests to the Paybox notification URL that were not notifications,
counted per (hour, address, reason) instead of one row each (hand-written; both engines)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T09:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "refused paybox notifications, counted"


def _params(**extra):
    params = {"null": False, "primary_key": False, "unique": False, "index": False,
              "index_method": IndexMethod.btree, "choices": None, "db_column_name": None,
              "secret": False}
    params.update(extra)
    return params


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ecp", description=DESCRIPTION)
    manager.add_table(class_name="RefusedNotification", tablename="refused_notification",
                      schema=None, columns=None)
    for name, column_class, params in (
        ("hour", Timestamptz, _params(default=TimestamptzNow())),
        ("source_ip", Varchar, _params(length=45, default="")),
        ("reason", Varchar, _params(length=20, default="")),
        ("hits", Integer, _params(default=0)),
        ("first_at", Timestamptz, _params(default=TimestamptzNow())),
        ("last_at", Timestamptz, _params(default=TimestamptzNow())),
        ("sample", Text, _params(default="")),
    ):
        manager.add_column(table_class_name="RefusedNotification",
                           tablename="refused_notification", column_name=name,
                           db_column_name=name, column_class_name=column_class.__name__,
                           column_class=column_class, params=params, schema=None)

    return manager
