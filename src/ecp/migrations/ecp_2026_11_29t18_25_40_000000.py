"""Composite and partial unique indexes, and the audit log's no-UPDATE guard.

Written by hand: piccolo.constraints emits ALTER TABLE ... ADD CONSTRAINT, which SQLite rejects;
CREATE [UNIQUE] INDEX runs on both engines.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.table import Table

ID = "2026-11-29T18:25:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite indexes and audit guard"

INDEXES = [
    ("booking_child_activity_day_uniq", "UNIQUE", "booking (child, activity, day)"),
    ("booking_day_school_activity_idx", "", "booking (day, school, activity)"),
    ("slot_school_activity_day_uniq", "UNIQUE", "slot (school, activity, day)"),
    ("attendance_child_activity_day_uniq", "UNIQUE", "attendance (child, activity, day)"),
    ("attendance_day_school_idx", "", "attendance (day, school)"),
    ("inscription_child_activity_year_uniq", "UNIQUE", "inscription (child, activity, school_year)"),
    ("activity_capacity_uniq", "UNIQUE", "activity_capacity (activity, school)"),
    ("invoice_counter_uniq", "UNIQUE", "invoice_counter (year, kind)"),
    ("invoice_family_month_idx", "", "invoice (family, month)"),
    ("invoice_line_invoice_idx", "", "invoice_line (invoice)"),
    ("payment_allocation_invoice_idx", "", "payment_allocation (invoice)"),
    ("auth_session_family_idx", "", "auth_session (family)"),
    ("child_family_idx", "", "child (family)"),
    ("guardian_family_idx", "", "guardian (family)"),
    ("audit_log_family_idx", "", "audit_log (family, at)"),
    ("outbox_due_idx", "", "outbox_email (status, next_attempt_at)"),
]
# One invoice per family and month; credit notes are free to repeat.
PARTIAL = [
    (
        "invoice_family_month_facture_uniq",
        "CREATE UNIQUE INDEX invoice_family_month_facture_uniq ON invoice (family, month) "
        "WHERE kind = 'facture'",
    ),
]

SQLITE_GUARD = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
]
POSTGRES_GUARD = [
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
]


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ecp", description=DESCRIPTION)

    async def run():
        for name, unique, target in INDEXES:
            await RawTable.raw(f"CREATE {unique} INDEX {name} ON {target}")
        for _name, sql in PARTIAL:
            await RawTable.raw(sql)
        sqlite = engine_finder().engine_type == "sqlite"
        for sql in SQLITE_GUARD if sqlite else POSTGRES_GUARD:
            await RawTable.raw(sql)

    async def run_backwards():
        sqlite = engine_finder().engine_type == "sqlite"
        await RawTable.raw("DROP TRIGGER IF EXISTS audit_log_no_update" + ("" if sqlite else " ON audit_log"))
        if not sqlite:
            await RawTable.raw("DROP FUNCTION IF EXISTS audit_log_append_only()")
        for name, _sql in PARTIAL:
            await RawTable.raw(f"DROP INDEX IF EXISTS {name}")
        for name, _unique, _target in INDEXES:
            await RawTable.raw(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
