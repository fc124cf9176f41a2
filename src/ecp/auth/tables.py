"""Login sessions and password-reset tokens; only SHA-256 hashes of the tokens are stored."""

from piccolo.columns import ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from ecp.families.tables import Family
from ecp.staff.tables import StaffUser


class AuthSession(Table):
    token_hash = Varchar(length=64, unique=True)
    kind = Varchar(length=10, help_text="family or staff")
    family = ForeignKey(references=Family, null=True, on_delete=OnDelete.cascade)
    staff = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.cascade)
    created_at = Timestamptz()
    last_seen_at = Timestamptz()


class PasswordResetToken(Table):
    token_hash = Varchar(length=64, unique=True)
    family = ForeignKey(references=Family, null=True, on_delete=OnDelete.cascade)
    staff = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.cascade)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
