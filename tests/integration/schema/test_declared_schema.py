"""Indexes and triggers: declared beside their tables, and exactly what the database holds."""

from __future__ import annotations

import importlib
import re

from ecp import schema
from ecp.piccolo_app import TABLE_MODULES
from ecp.resources import MIGRATIONS
from ecp.schema import Index, Trigger, compare_indexes, compare_triggers


async def test_the_database_has_exactly_the_declared_indexes_and_triggers():
    assert await schema.schema_differences() == []


async def test_the_rules_indexes_are_in_the_database_with_their_columns():
    live = {i.name: i for i in await schema.live_indexes()}
    assert live["booking_child_day_idx"].shape() == ("booking", ("child", "day"), False, "")
    assert live["booking_child_activity_day_uniq"].unique
    partial = live["invoice_family_month_facture_uniq"]
    assert partial.unique and partial.columns == ("family", "month")
    assert "facture" in partial.where
    assert live["refused_notification_key"].columns == ("hour", "source_ip", "reason")


def test_each_tables_module_declares_indexes_and_triggers_of_its_own_tables_only():
    for module in TABLE_MODULES:
        name = module.__name__
        own = {
            t._meta.tablename
            for t in vars(module).values()
            if isinstance(t, type) and hasattr(t, "_meta") and t.__module__ == name
        }
        for item in [*getattr(module, "INDEXES", ()), *getattr(module, "TRIGGERS", ())]:
            assert item.table in own, f"{item.name} is declared in {name}, its table is not"


def test_every_index_and_trigger_a_migration_creates_is_declared():
    """The names written in migrations/ (a new one must be declared too), read from the text."""
    text = "\n".join(p.read_text() for p in MIGRATIONS.glob("ecp_*.py"))
    created = set(re.findall(r'CREATE (?:UNIQUE )?INDEX "?(\w+)"?', text))
    # The first index migration builds its statements from a list of (name, unique, target).
    created |= set(re.findall(r'\("(\w+)", "(?:UNIQUE)?", "\w+ \(', text))
    declared = {i.name for i in schema.declared_indexes()}
    # Indexes a later migration replaced (and drops): no longer declared.
    retired = {"booking_day_school_activity_idx"}  # by booking_day_school_activity_state_idx
    assert not retired & declared
    assert len(created) >= 21 and created - retired <= declared
    triggers = set(re.findall(r'CREATE TRIGGER "?(\w+)', text))
    names = {n for t in schema.declared_triggers() for n in t.names("postgres")}
    assert "audit_log_no_update" in triggers and {"audit_log_no_update"} <= names
    assert {
        f"setup_version_{t}" for t in importlib.import_module("ecp.commune.tables").SETUP_TABLES
    } <= names


# --- The comparison itself can fail ----------------------------------------------------------

DECLARED = [
    Index("booking_child_day_idx", "booking", ("child", "day")),
    Index("invoice_once", "invoice", ("family", "month"), unique=True, where="kind = 'facture'"),
]
REQUIRED = {("family", ("code",), True, "")}
ALLOWED = REQUIRED | {("family", ("id",), True, "")}
LIVE = [
    Index("booking_child_day_idx", "booking", ("child", "day")),
    Index("invoice_once", "invoice", ("family", "month"), True, "((kind)::text = 'facture'::text)"),
    Index("family_pkey", "family", ("id",), True),
    Index("family_code_key", "family", ("code",), True),
]


def test_matching_indexes_compare_equal_whatever_the_engine_spelling():
    assert compare_indexes(DECLARED, LIVE, REQUIRED, ALLOWED) == []


def test_a_missing_declared_index_is_reported():
    assert compare_indexes(DECLARED, LIVE[1:], REQUIRED, ALLOWED) == [
        "index manquant : booking_child_day_idx, déclaré booking (child, day)"
    ]


def test_an_index_with_other_columns_or_predicate_is_reported():
    live = [
        Index("booking_child_day_idx", "booking", ("day", "child")),
        Index("invoice_once", "invoice", ("family", "month"), True, "kind = 'avoir'"),
        *LIVE[2:],
    ]
    out = compare_indexes(DECLARED, live, REQUIRED, ALLOWED)
    assert len(out) == 2
    assert out[0].startswith("index booking_child_day_idx : booking (day, child) dans la base")
    assert out[1].startswith(
        "index invoice_once : unique invoice (family, month) WHERE kind = 'avoir'"
    )


def test_an_undeclared_index_and_a_missing_column_index_are_reported():
    live = [*LIVE[:3], Index("family_name_idx", "family", ("name",))]
    assert compare_indexes(DECLARED, live, REQUIRED, ALLOWED) == [
        "index non déclaré : family_name_idx, family (name) "
        "(à déclarer dans INDEXES à côté de sa table)",
        "index de colonne manquant : family (code), unique",
    ]


def test_triggers_are_one_per_event_on_sqlite_and_have_their_function_on_postgresql():
    declared = [
        Trigger(
            "setup_version_closure",
            "closure",
            ("INSERT", "UPDATE", "DELETE"),
            pg_function="bump_setup_version",
        )
    ]
    sqlite = {
        ("closure", f"setup_version_closure_{e}"): f"CREATE TRIGGER x AFTER {e.upper()} ON closure"
        for e in ("insert", "update", "delete")
    }
    assert compare_triggers(declared, sqlite, "sqlite") == []
    del sqlite[("closure", "setup_version_closure_delete")]
    sqlite[("activity", "stray")] = "CREATE TRIGGER stray AFTER INSERT ON activity"
    assert compare_triggers(declared, sqlite, "sqlite") == [
        "déclencheur setup_version_closure_delete sur closure manquant",
        "déclencheur stray sur activity non déclaré (à déclarer dans TRIGGERS à côté de sa table)",
    ]
    postgres = {
        (
            "closure",
            "setup_version_closure",
        ): "CREATE TRIGGER setup_version_closure AFTER INSERT OR DELETE ON public.closure"
    }
    postgres[("", "stray_function")] = ""
    assert compare_triggers(declared, postgres, "postgres") == [
        "fonction bump_setup_version manquante",
        "déclencheur setup_version_closure sur closure : ne porte pas sur INSERT, UPDATE, DELETE",
        "fonction stray_function non déclarée (à déclarer dans TRIGGERS à côté de sa table)",
    ]
