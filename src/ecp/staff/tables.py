"""Staff accounts of the SEJ service, and the index behind the staff's family search."""

from piccolo.columns import Boolean, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

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


class FamilySearchTerm(Table):
    """The staff search index: one row per searchable word of a family (names, code, e-mail,
    phone digits), folded to lower-case ASCII, so a prefix search is an index range scan
    instead of a scan of every family, guardian and child (see ecp.staff.search)."""

    family = ForeignKey(
        references=LazyTableReference("Family", module_path="ecp.families.tables"),
        null=False, on_delete=OnDelete.cascade,
    )
    term = Varchar(length=120, help_text="Folded word; binary collation on both engines")


# Composite, partial and multi-column unique indexes (raw SQL in migrations/; see ecp.schema).
# On PostgreSQL family_search_term.term is also COLLATE "C" (migration 2026-11-29T18:38:45), so
# the prefix search is a byte-wise B-tree range scan whatever the server's locale.
INDEXES = [
    # The staff search's prefix range scan.
    Index("family_search_term_idx", "family_search_term", ("term",)),
    # A family's terms, replaced whenever the family changes.
    Index("family_search_term_family_idx", "family_search_term", ("family",)),
]
