"""FamilySearchTerm: the staff family-search index (hand-written; runs on both engines).

Its indexes and the PostgreSQL collation come in the next migration: Piccolo runs raw steps
before it creates tables.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Serial, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-11-29T18:38:34:146419"
VERSION = "1.38.0"
DESCRIPTION = "family search index"


class Family(Table, tablename="family", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False,
                index_method=IndexMethod.btree, choices=None, db_column_name="id", secret=False)


def _params(**extra):
    params = {"null": False, "primary_key": False, "unique": False, "index": False,
              "index_method": IndexMethod.btree, "choices": None, "db_column_name": None,
              "secret": False}
    params.update(extra)
    return params


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ecp", description=DESCRIPTION)
    manager.add_table(class_name="FamilySearchTerm", tablename="family_search_term", schema=None,
                      columns=None)
    manager.add_column(
        table_class_name="FamilySearchTerm", tablename="family_search_term",
        column_name="family", db_column_name="family", column_class_name="ForeignKey",
        column_class=ForeignKey,
        params=_params(references=Family, on_delete=OnDelete.cascade, on_update=OnUpdate.cascade,
                       target_column=None),
        schema=None,
    )
    manager.add_column(
        table_class_name="FamilySearchTerm", tablename="family_search_term",
        column_name="term", db_column_name="term", column_class_name="Varchar",
        column_class=Varchar, params=_params(length=120, default=""), schema=None,
    )
    return manager
