"""Families, their responsables légaux, their children and their contact-change requests."""

from piccolo.columns import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

from ecp.commune.tables import School, SchoolClass
from ecp.schema import Index

LEVELS = ("PS", "MS", "GS", "CP", "CE1", "CE2", "CM1", "CM2")


class Family(Table):
    code = Varchar(length=12, unique=True, help_text="Code famille, the login identifier")
    name = Varchar(length=120, help_text="Family name shown to staff and in the header")
    password_hash = Varchar(length=200, default="")
    email = Varchar(length=200, default="", index=True, help_text="Address for mail and resets")
    quotient_familial = Integer(null=True, default=None)
    out_of_town = Boolean(default=False)
    paperless = Boolean(default=False, help_text="Facture électronique")
    reminders = Boolean(default=False, help_text="Opted in to deadline reminders")
    ics_token_hash = Varchar(length=64, null=True, default=None, unique=True)
    active = Boolean(default=True)
    failed_logins = Integer(default=0)
    locked_until = Timestamptz(null=True, default=None)
    last_login_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    anonymised_at = Timestamptz(null=True, default=None)
    notes = Text(default="", help_text="The service's notes on the family; never shown to it")
    creation_key = Varchar(
        length=64,
        null=True,
        default=None,
        help_text="The creation form's one-time key: posting it again creates nothing",
    )
    letter_issued_at = Timestamptz(
        null=True, default=None, help_text="When the first password on the letter was issued"
    )
    must_change_password = Boolean(
        default=False,
        help_text="The password is the letter's provisional one: chosen anew at the next login",
    )


class Guardian(Table):
    """A responsable légal (one or two per family)."""

    family = ForeignKey(references=Family, null=False, on_delete=OnDelete.cascade)
    rank = Integer(default=1)
    civility = Varchar(length=10, default="")
    first_name = Varchar(length=80)
    last_name = Varchar(length=80, index=True)
    email = Varchar(length=200, default="")
    phone_mobile = Varchar(length=20, default="", index=True)
    phone_home = Varchar(length=20, default="")
    phone_work = Varchar(length=20, default="")
    address_line1 = Varchar(length=200, default="")
    address_line2 = Varchar(length=200, default="")
    postcode = Varchar(length=10, default="")
    city = Varchar(length=100, default="")
    is_payer = Boolean(default=False, help_text="Pays the invoices; none set = the first one")
    receives_email = Boolean(default=True, help_text="Gets the service's e-mails")


class Child(Table):
    family = ForeignKey(references=Family, null=False, on_delete=OnDelete.restrict)
    first_name = Varchar(length=80)
    last_name = Varchar(length=80, index=True)
    birth_date = Date()
    school = ForeignKey(references=School, null=True, on_delete=OnDelete.restrict)
    school_class = ForeignKey(references=SchoolClass, null=True, on_delete=OnDelete.set_null)
    level = Varchar(length=4, help_text="PS MS GS CP CE1 CE2 CM1 CM2")
    has_allergy = Boolean(default=False, help_text="Flag shown on lists; details in health_notes")
    health_notes = Text(default="", help_text="PAI / allergies; every staff read is audited")
    needs_support = Boolean(default=False, help_text="Besoin d'accompagnement, never its nature")
    diet = Varchar(length=20, default="standard", help_text="standard, sans_porc, sans_viande")
    active = Boolean(default=True)


class FamilyContact(Table):
    """Someone to call in an emergency, or allowed to collect the children (or both): not a
    responsable légal, and never a login."""

    family = ForeignKey(references=Family, null=False, on_delete=OnDelete.cascade)
    first_name = Varchar(length=80)
    last_name = Varchar(length=80)
    relationship = Varchar(length=40, default="", help_text="Grand-mère, voisin, nourrice…")
    phone = Varchar(length=20, default="")
    emergency = Boolean(default=True, help_text="To be called in an emergency")
    may_collect = Boolean(default=False, help_text="Allowed to collect the children")
    created_at = Timestamptz()


class QuotientHistory(Table):
    """A family's quotient familial from a day on: the history the tariff of a day is read
    from (ecp.families.queries.quotient_on). A correction of the same day replaces its row."""

    family = ForeignKey(references=Family, null=False, on_delete=OnDelete.cascade)
    value = Integer()
    effective_from = Date()
    source = Varchar(length=20, help_text="caf msa avis_imposition attestation autre")
    recorded_at = Timestamptz()
    recorded_by = ForeignKey(
        references=LazyTableReference("StaffUser", module_path="ecp.auth.tables"),
        null=True,
        on_delete=OnDelete.set_null,
    )


class DirectDebitMandate(Table):
    """A family's SEPA direct-debit mandate (written by ecp.payments.mandates). The IBAN is
    kept encrypted (`iban_sealed`); `iban_hint` is all anyone reads: its country, check digits
    and last four characters. Kept here, beside the family, because the invoice and its e-mail
    (lower features) pre-notify the debit."""

    family = ForeignKey(references=Family, null=False, on_delete=OnDelete.restrict)
    rum = Varchar(length=35, unique=True, help_text="Référence unique du mandat")
    holder = Varchar(length=70, help_text="The account holder, as on the bank's records")
    iban_sealed = Text(help_text="AES-GCM ciphertext of the IBAN (ecp.payments.mandates)")
    iban_hint = Varchar(length=40, help_text="Masked IBAN: FR76 … 0189")
    bic = Varchar(length=11)
    signed_on = Date()
    created_at = Timestamptz()
    recorded_by = Varchar(length=120, default="", help_text="« la famille » or the agent's name")
    status = Varchar(length=12, default="actif", help_text="actif revoque")
    revoked_at = Timestamptz(null=True, default=None)


class ContactChangeRequest(Table):
    family = ForeignKey(references=Family, null=False, on_delete=OnDelete.cascade)
    guardian = ForeignKey(references=Guardian, null=True, on_delete=OnDelete.cascade)
    changes = JSON(help_text="{field: {before, after}} as submitted")
    status = Varchar(length=20, default="en_attente", index=True)
    submitted_at = Timestamptz()
    decided_at = Timestamptz(null=True, default=None)
    decided_by = ForeignKey(
        references=LazyTableReference("StaffUser", module_path="ecp.auth.tables"),
        null=True,
        on_delete=OnDelete.set_null,
    )
    applied_fields = JSON(default="[]")
    reason = Text(default="")


class FamilySearchTerm(Table):
    """The staff search index: one row per searchable word of a family (names, code, e-mail,
    phone digits), folded to lower-case ASCII, so a prefix search is an index range scan
    instead of a scan of every family, guardian and child (see ecp.families.search)."""

    family = ForeignKey(
        references=Family,
        null=False,
        on_delete=OnDelete.cascade,
    )
    # On PostgreSQL the column is COLLATE "C" (migration 2026-11-29T18:38:45), so the prefix
    # search is a byte-wise B-tree range scan whatever the server's locale.
    term = Varchar(length=120, help_text="Folded word; binary collation on both engines")


# Composite, partial and multi-column unique indexes (raw SQL in migrations/; see ecp.schema).
INDEXES = [
    # The staff search's prefix range scan.
    Index("family_search_term_idx", "family_search_term", ("term",)),
    # A family's terms, replaced whenever the family changes.
    Index("family_search_term_family_idx", "family_search_term", ("family",)),
    # A family's children and responsables légaux.
    Index("child_family_idx", "child", ("family",)),
    # A school's children (effectifs, the unbooked children a list may add): without it SQLite
    # walked every child of the commune in name order (3.5 ms a page at 10,000 families).
    Index("child_school_idx", "child", ("school",)),
    Index("guardian_family_idx", "guardian", ("family",)),
    # The creation form's key is used once (unique in INDEXES: SQLite cannot add a UNIQUE
    # column to a table that exists).
    Index("family_creation_key_uniq", "family", ("creation_key",), unique=True),
    # A family's emergency contacts and people allowed to collect the children.
    Index("family_contact_family_idx", "family_contact", ("family",)),
    # One quotient familial per family and day; the one in force is the latest before a day.
    Index(
        "quotient_history_family_day_uniq",
        "quotient_history",
        ("family", "effective_from"),
        unique=True,
    ),
]
