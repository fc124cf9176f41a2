"""The append-only journal of staff actions on families' data."""

from piccolo.columns import JSON, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from ecp.families.tables import Family
from ecp.staff.tables import StaffUser


class AuditLog(Table):
    at = Timestamptz(index=True)
    staff = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.restrict)
    actor = Varchar(length=80, help_text="Username copied, so the line reads alone")
    family = ForeignKey(references=Family, null=True, on_delete=OnDelete.restrict)
    action = Varchar(length=60, index=True)
    target = Varchar(length=120, default="")
    details = JSON(default="{}")
