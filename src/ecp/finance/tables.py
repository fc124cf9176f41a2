"""The finance side's tables: the codes the public accountant gives (one row of settings, plus a
product code and budget nature per activity), the PES bordereaux with their gapless numbers per
year, and the pieces that tie each exported invoice or credit note to its bordereau."""

from piccolo.columns import (
    JSON,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from ecp.auth.tables import StaffUser
from ecp.commune.tables import Activity
from ecp.families.tables import Family
from ecp.invoices.tables import Invoice
from ecp.schema import Index


class FinanceSettings(Table):
    """One row: what the commune's public accountant (comptable du Trésor) gives for the PES
    files. Nothing here is secret; each field's meaning is written out on the settings page."""

    poste_comptable = Varchar(length=7, default="", help_text="IdPost: the accountant's poste")
    siret = Varchar(length=14, default="", help_text="IdColl: the commune's SIRET")
    code_collectivite = Varchar(length=3, default="", help_text="CodCol")
    code_budget = Varchar(length=10, default="", help_text="CodBud")
    libelle_emetteur = Varchar(length=50, default="", help_text="Emetteur/Sigle")
    type_bordereau = Varchar(length=2, default="06", help_text="TypBord")
    type_piece = Varchar(length=2, default="15", help_text="TypPce")
    nature_piece = Varchar(length=2, default="01", help_text="NatPce of an invoice")
    nature_piece_reduction = Varchar(length=2, default="06", help_text="NatPce of a credit note")
    edition_asap = Varchar(length=2, default="", help_text="Edition: '' sends no Edition element")
    produit_defaut = Varchar(length=4, default="", help_text="CodProdLoc when none per activity")
    nature_defaut = Varchar(length=10, default="", help_text="Nature (budget account) by default")
    exercice = Integer(null=True, default=None, help_text="Exer; empty = the year of issue")
    updated_at = Timestamptz(null=True, default=None)


class FinanceActivityCode(Table):
    """An activity's own product code and budget nature (else the settings' defaults)."""

    activity = ForeignKey(references=Activity, null=False, on_delete=OnDelete.cascade)
    produit = Varchar(length=4, default="")
    nature = Varchar(length=10, default="")


class PesCounter(Table):
    """Last bordereau number used per exercise; bumped in the transaction that issues one."""

    year = Integer()
    last_number = Integer(default=0)


class PesBordereau(Table):
    """A PES Recette file as issued: its number is never used again, even once cancelled."""

    year = Integer(help_text="Exercise (Exer)")
    number = Integer(help_text="IdBord, from 1 each exercise")
    scope = Varchar(length=20, help_text="mois or impayes")
    month = Date(null=True, default=None, help_text="First day of the month exported (scope mois)")
    issued_at = Timestamptz()
    issued_by = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.set_null)
    pieces = Integer(default=0)
    total_cents = Integer(default=0, help_text="Invoices less credit notes")
    filename = Varchar(length=100)
    xml = Text(help_text="The file exactly as issued: every download gives the same bytes")
    status = Varchar(length=10, default="emis", help_text="emis or annule")
    cancelled_at = Timestamptz(null=True, default=None)
    cancelled_by = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.set_null)
    cancel_reason = Text(default="")


class PesPiece(Table):
    """One invoice or credit note in a bordereau. `state` is 'active' while the bordereau
    stands; cancelling it releases its pieces ('liberee'), so the documents may go again."""

    bordereau = ForeignKey(references=PesBordereau, null=False, on_delete=OnDelete.restrict)
    invoice = ForeignKey(references=Invoice, null=False, on_delete=OnDelete.restrict)
    piece_number = Integer(help_text="IdPce inside the bordereau, from 1")
    amount_cents = Integer(help_text="Negative for a credit note (a reduction)")
    state = Varchar(length=10, default="active", help_text="active or liberee")


class CareCertificate(Table):
    """An attestation de frais de garde: what a family paid in a year for the care of its
    children under 6 (meals excluded), as computed once by the year's run. Never edited: the
    PDF is drawn from these figures each time it is downloaded."""

    year = Integer()
    family = ForeignKey(references=Family, null=False, on_delete=OnDelete.restrict)
    amount_cents = Integer()
    children = JSON(default="[]", help_text="[{name, birth_date, amount_cents}]")
    family_name = Varchar(length=200, default="")
    address = Text(default="")
    issued_at = Timestamptz()
    issued_by = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.set_null)
    emailed = Varchar(length=10, default="non", help_text="oui when queued to a paperless family")


INDEXES = [
    # Gapless numbering: one counter per exercise, one bordereau per exercise and number.
    Index("pes_counter_year_uniq", "pes_counter", ("year",), unique=True),
    Index("pes_bordereau_number_uniq", "pes_bordereau", ("year", "number"), unique=True),
    # An invoice sits in one standing bordereau at most: a second export is refused here too.
    Index(
        "pes_piece_invoice_active_uniq",
        "pes_piece",
        ("invoice",),
        unique=True,
        where="state = 'active'",
    ),
    Index("pes_piece_bordereau_idx", "pes_piece", ("bordereau",)),
    Index("finance_activity_code_uniq", "finance_activity_code", ("activity",), unique=True),
    # One certificate per family and year: the year's run, run again, adds nothing.
    Index("care_certificate_year_family_uniq", "care_certificate", ("year", "family"), unique=True),
    Index("care_certificate_family_idx", "care_certificate", ("family",)),
]
