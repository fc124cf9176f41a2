"""The append-only journal of staff actions on families' data."""

from piccolo.columns import JSON, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

from ecp.families.tables import Family
from ecp.schema import Index, Trigger


class AuditLog(Table):
    at = Timestamptz(index=True)
    staff = ForeignKey(
        references=LazyTableReference("StaffUser", module_path="ecp.auth.tables"),
        null=True,
        on_delete=OnDelete.restrict,
    )
    actor = Varchar(length=80, help_text="Username copied, so the line reads alone")
    family = ForeignKey(references=Family, null=True, on_delete=OnDelete.restrict)
    action = Varchar(length=60, index=True)
    target = Varchar(length=120, default="")
    details = JSON(default="{}")


# Composite, partial and multi-column unique indexes (raw SQL in migrations/; see ecp.schema).
INDEXES = [
    # A family's journal in time order.
    Index("audit_log_family_idx", "audit_log", ("family", "at")),
]

# The journal is append-only: an UPDATE is refused by the database itself.
TRIGGERS = [
    Trigger("audit_log_no_update", "audit_log", ("UPDATE",), pg_function="audit_log_append_only"),
]
