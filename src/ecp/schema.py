"""Indexes and triggers the rules rely on, declared beside their tables, checked against a database.

A Piccolo Table knows a column's own `index=True` and `unique=True`, not a composite, partial or
multi-column unique index, nor a trigger: those are raw SQL in ecp/migrations/ (piccolo.constraints
emits ALTER TABLE ... ADD CONSTRAINT, which SQLite rejects). So that a reader of a tables.py sees
all of them, each tables.py lists its own in module-level `INDEXES` and `TRIGGERS`, and
`schema_differences()` compares a live database with those lists plus the column flags: every
declared index must exist with its columns, uniqueness and predicate, every trigger must exist,
and any other index must be one Piccolo made from a column. `python -m ecp.schema` prints the
differences for the database of ECP_DATABASE_URL (exit status 1 if there are any).

Migrations stay the only thing that changes a database: a new index is declared here AND created
by a new migration (`Index.create_sql()` gives its statement, to be pasted as literal SQL, since a
migration must keep doing what it did even if a declaration changes later).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = (
    "Index",
    "Trigger",
    "declared_indexes",
    "declared_triggers",
    "live_indexes",
    "live_triggers",
    "schema_differences",
    "compare_indexes",
)


@dataclass(frozen=True)
class Index:
    """An index made by raw SQL in a migration. `where` is a partial index's predicate, written
    as in CREATE INDEX ... WHERE (compared loosely: PostgreSQL gives it back with casts)."""

    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool = False
    where: str = ""

    def create_sql(self) -> str:
        columns = ", ".join(f'"{c}"' for c in self.columns)
        unique = "UNIQUE " if self.unique else ""
        sql = f'CREATE {unique}INDEX "{self.name}" ON "{self.table}" ({columns})'
        return f"{sql} WHERE {self.where}" if self.where else sql

    def drop_sql(self) -> str:
        return f'DROP INDEX IF EXISTS "{self.name}"'

    def shape(self) -> tuple:
        return (self.table, tuple(self.columns), self.unique, _normal_predicate(self.where))

    def describe(self) -> str:
        text = f"{'unique ' if self.unique else ''}{self.table} ({', '.join(self.columns)})"
        return f"{text} WHERE {self.where}" if self.where else text


@dataclass(frozen=True)
class Trigger:
    """A trigger made by raw SQL in a migration. SQLite triggers fire on one event each, so a
    trigger on several events is one per event there, named `<name>_<event>`; on PostgreSQL it
    is one trigger calling `pg_function` (a plpgsql function the same migration creates)."""

    name: str
    table: str
    events: tuple[str, ...]
    pg_function: str = ""

    def names(self, engine_type: str) -> tuple[str, ...]:
        if engine_type == "sqlite" and len(self.events) > 1:
            return tuple(f"{self.name}_{event.lower()}" for event in self.events)
        return (self.name,)


def _table_modules() -> tuple:
    # Imported late: the table modules import this one (Index, Trigger).
    from ecp.piccolo_app import TABLE_MODULES

    return TABLE_MODULES


def declared_indexes() -> list[Index]:
    out: list[Index] = []
    for module in _table_modules():
        out.extend(getattr(module, "INDEXES", ()))
    return out


def declared_triggers() -> list[Trigger]:
    out: list[Trigger] = []
    for module in _table_modules():
        out.extend(getattr(module, "TRIGGERS", ()))
    return out


def _normal_predicate(sql: str) -> str:
    # PostgreSQL returns `((kind)::text = 'facture'::text)` for `kind = 'facture'`.
    # Casts, brackets, quotes and spaces go; what is left compares equal on both engines.
    sql = re.sub(r"::(character varying|timestamp with time zone|[a-z]+)", "", sql.lower())
    return re.sub(r'[()"\s]', "", sql)


def _column_indexes() -> tuple[set[tuple], set[tuple]]:
    """Shapes of the indexes Piccolo makes from column flags: (required, allowed). A primary
    key is allowed but not required (SQLite's INTEGER PRIMARY KEY is the rowid, no index)."""
    from piccolo.apps.migrations.tables import Migration

    from ecp.piccolo_app import APP_CONFIG

    required: set[tuple] = set()
    allowed: set[tuple] = set()
    for table in [*APP_CONFIG.table_classes, Migration]:
        name = table._meta.tablename
        for column in table._meta.columns:
            db_name = column._meta.db_column_name
            if column._meta.primary_key:
                allowed.add((name, (db_name,), True, ""))
            elif column._meta.unique:
                required.add((name, (db_name,), True, ""))
            elif column._meta.index:
                required.add((name, (db_name,), False, ""))
    return required, required | allowed


async def _rows(sql: str) -> list[dict]:
    from ecp.db import fetch

    return await fetch(sql)


def _engine_type() -> str:
    from ecp.db import engine

    return engine().engine_type


async def live_indexes() -> list[Index]:
    """Every index of the database's user tables, automatic ones included."""
    if _engine_type() == "sqlite":
        out = []
        tables = await _rows(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        for table in (t["name"] for t in tables):
            for index in await _rows(f'PRAGMA index_list("{table}")'):
                columns = await _rows(f'PRAGMA index_info("{index["name"]}")')
                where = ""
                if index["partial"]:
                    (sql,) = await _rows(
                        "SELECT sql FROM sqlite_master WHERE type = 'index' "
                        f"AND name = '{index['name']}'"
                    )
                    where = re.split(r"\bwhere\b", sql["sql"], maxsplit=1, flags=re.I)[1]
                names = tuple(c["name"] for c in sorted(columns, key=lambda c: c["seqno"]))
                out.append(Index(index["name"], table, names, bool(index["unique"]), where.strip()))
        return out
    rows = await _rows(
        "SELECT i.relname AS name, t.relname AS tablename, x.indisunique AS is_unique, "
        "coalesce(pg_get_expr(x.indpred, x.indrelid), '') AS predicate, "
        "array(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, n) "
        "      JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum "
        "      ORDER BY k.n)::text[] AS columns "
        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace s ON s.oid = t.relnamespace "
        "WHERE s.nspname = current_schema()"
    )
    return [
        Index(r["name"], r["tablename"], tuple(r["columns"]), r["is_unique"], r["predicate"])
        for r in rows
    ]


async def live_triggers() -> dict[tuple[str, str], str]:
    """(table, trigger name) -> its definition, and on PostgreSQL the plpgsql functions as
    ("", function name) -> ""."""
    if _engine_type() == "sqlite":
        rows = await _rows("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
        return {(r["tbl_name"], r["name"]): r["sql"] for r in rows}
    rows = await _rows(
        "SELECT t.tgname AS name, c.relname AS tablename, pg_get_triggerdef(t.oid) AS definition "
        "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_namespace s ON s.oid = c.relnamespace "
        "WHERE NOT t.tgisinternal AND s.nspname = current_schema()"
    )
    out = {(r["tablename"], r["name"]): r["definition"] for r in rows}
    functions = await _rows(
        "SELECT p.proname AS name FROM pg_proc p "
        "JOIN pg_namespace s ON s.oid = p.pronamespace "
        "WHERE s.nspname = current_schema()"
    )
    out.update({("", r["name"]): "" for r in functions})
    return out


def compare_indexes(
    declared: Iterable[Index], live: Iterable[Index], required: set[tuple], allowed: set[tuple]
) -> list[str]:
    """What differs between the indexes a database has and those it should have, in French."""
    declared = {i.name: i for i in declared}
    live = list(live)
    by_name = {i.name: i for i in live}
    out = []
    for name, index in declared.items():
        found = by_name.get(name)
        if found is None:
            out.append(f"index manquant : {name}, déclaré {index.describe()}")
        elif found.shape() != index.shape():
            out.append(
                f"index {name} : {found.describe()} dans la base, déclaré {index.describe()}"
            )
    automatic = [i for i in live if i.name not in declared]
    for index in automatic:
        if index.shape() not in allowed:
            out.append(
                f"index non déclaré : {index.name}, {index.describe()} "
                "(à déclarer dans INDEXES à côté de sa table)"
            )
    shapes = {i.shape() for i in automatic}
    for table, columns, unique, _where in sorted(required - shapes):
        out.append(
            f"index de colonne manquant : {table} ({', '.join(columns)})"
            f"{', unique' if unique else ''}"
        )
    return out


def compare_triggers(
    declared: Iterable[Trigger], live: dict[tuple[str, str], str], engine_type: str
) -> list[str]:
    expected: dict[tuple[str, str], tuple[str, ...]] = {}
    for trigger in declared:
        names = trigger.names(engine_type)
        for name in names:
            events = trigger.events if len(names) == 1 else (name.rsplit("_", 1)[1].upper(),)
            expected[(trigger.table, name)] = events
        if engine_type == "postgres" and trigger.pg_function:
            expected[("", trigger.pg_function)] = ()

    def what(table: str, name: str) -> tuple[str, str]:  # the thing, and its agreement
        return (f"fonction {name}", "e") if not table else (f"déclencheur {name} sur {table}", "")

    out = []
    for (table, name), events in sorted(expected.items()):
        definition = live.get((table, name))
        thing, e = what(table, name)
        if definition is None:
            out.append(f"{thing} manquant{e}")
        elif any(event not in definition.upper() for event in events):
            out.append(f"{thing} : ne porte pas sur {', '.join(events)}")
    for table, name in sorted(set(live) - set(expected)):
        thing, e = what(table, name)
        out.append(f"{thing} non déclaré{e} (à déclarer dans TRIGGERS à côté de sa table)")
    return out


async def schema_differences() -> list[str]:
    """Empty when the database has exactly the declared indexes and triggers."""
    required, allowed = _column_indexes()
    return compare_indexes(
        declared_indexes(), await live_indexes(), required, allowed
    ) + compare_triggers(declared_triggers(), await live_triggers(), _engine_type())


def main() -> int:
    import asyncio

    differences = asyncio.run(schema_differences())
    for line in differences:
        print(line)
    if not differences:
        print("Index et déclencheurs conformes aux déclarations.")
    return 1 if differences else 0


if __name__ == "__main__":
    raise SystemExit(main())
