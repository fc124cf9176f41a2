"""StaffTotp and PendingLogin: staff two-factor authentication (hand-written; runs on both
engines). docs/security.md A10: no staff session without a TOTP code.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import BigInt, ForeignKey, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-11-29T21:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "staff totp and pending login"


class StaffUser(Table, tablename="staff_user", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False,
                index_method=IndexMethod.btree, choices=None, db_column_name="id", secret=False)


def _params(**extra):
    params = {"null": False, "primary_key": False, "unique": False, "index": False,
              "index_method": IndexMethod.btree, "choices": None, "db_column_name": None,
              "secret": False}
    params.update(extra)
    return params


def _staff_fk(**extra):
    return _params(references=StaffUser, on_delete=OnDelete.cascade, on_update=OnUpdate.cascade,
                   target_column=None, **extra)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ecp", description=DESCRIPTION)

    manager.add_table(class_name="StaffTotp", tablename="staff_totp", schema=None, columns=None)
    for name, column_class, params in (
        ("staff", ForeignKey, _staff_fk(unique=True)),
        ("secret_encrypted", Varchar, _params(length=200, default="")),
        ("last_step", BigInt, _params(null=True, default=None)),
        ("enrolled_at", Timestamptz, _params(default=TimestamptzNow())),
    ):
        manager.add_column(table_class_name="StaffTotp", tablename="staff_totp",
                           column_name=name, db_column_name=name,
                           column_class_name=column_class.__name__, column_class=column_class,
                           params=params, schema=None)

    manager.add_table(class_name="PendingLogin", tablename="pending_login", schema=None,
                      columns=None)
    for name, column_class, params in (
        ("token_hash", Varchar, _params(length=64, default="", unique=True)),
        ("staff", ForeignKey, _staff_fk()),
        ("next_path", Varchar, _params(length=300, default="/agents/")),
        ("enrol_secret", Varchar, _params(length=200, default="")),
        ("created_at", Timestamptz, _params(default=TimestamptzNow())),
        ("expires_at", Timestamptz, _params(default=TimestamptzNow())),
    ):
        manager.add_column(table_class_name="PendingLogin", tablename="pending_login",
                           column_name=name, db_column_name=name,
                           column_class_name=column_class.__name__, column_class=column_class,
                           params=params, schema=None)
    return manager
