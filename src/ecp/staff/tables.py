"""Staff accounts of the SEJ service."""

from piccolo.columns import Boolean, Integer, Timestamptz, Varchar
from piccolo.table import Table

ROLES = ("agent", "regisseur", "administrateur")


class StaffUser(Table):
    username = Varchar(length=60, unique=True)
    display_name = Varchar(length=120)
    email = Varchar(length=200, default="")
    password_hash = Varchar(length=200)
    role = Varchar(length=20, default="agent", help_text="agent < regisseur < administrateur")
    active = Boolean(default=True)
    failed_logins = Integer(default=0)
    locked_until = Timestamptz(null=True, default=None)
    last_login_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
