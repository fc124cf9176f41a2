"""Login sessions, password-reset tokens, staff TOTP authenticators and the login step between
password and code; only SHA-256 hashes of the tokens are stored, TOTP secrets are encrypted."""

from piccolo.columns import BigInt, Boolean, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from ecp.commune.tables import School
from ecp.families.tables import Family
from ecp.schema import Index

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
    must_change_password = Boolean(
        default=False,
        help_text="Set by an administrator (creation, new password): chosen anew at next login",
    )


class StaffSchool(Table):
    """An agent limited to some schools (docs/product.md « Comptes agents »): one row per school
    the agent works for; an agent without any row sees every school."""

    staff = ForeignKey(references=StaffUser, null=False, on_delete=OnDelete.cascade)
    school = ForeignKey(references=School, null=False, on_delete=OnDelete.cascade)


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


class StaffTotp(Table):
    """A staff member's authenticator app (docs/security.md A10). The secret is encrypted at rest
    (AES-GCM, key derived from ECP_SECRET_KEY, bound to the account); last_step is the last
    accepted 30-second time step, so a code is never accepted twice."""

    staff = ForeignKey(references=StaffUser, null=False, unique=True, on_delete=OnDelete.cascade)
    secret_encrypted = Varchar(length=200)
    last_step = BigInt(null=True, default=None)
    enrolled_at = Timestamptz()


class PendingLogin(Table):
    """A correct staff password waiting for its TOTP code: five minutes, single use. With an
    enrol_secret (encrypted) the account has no authenticator yet and enrols at this login."""

    token_hash = Varchar(length=64, unique=True)
    staff = ForeignKey(references=StaffUser, null=False, on_delete=OnDelete.cascade)
    next_path = Varchar(length=300, default="/agents/")
    enrol_secret = Varchar(length=200, default="")
    created_at = Timestamptz()
    expires_at = Timestamptz()


# Composite, partial and multi-column unique indexes (raw SQL in migrations/; see ecp.schema).
INDEXES = [
    # A family's sessions, ended together (password change, anonymisation).
    Index("auth_session_family_idx", "auth_session", ("family",)),
    # An agent's schools, once each.
    Index("staff_school_uniq", "staff_school", ("staff", "school"), unique=True),
]
