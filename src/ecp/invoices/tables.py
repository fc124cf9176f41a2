"""Billing runs, gapless invoice numbering, invoices, credit notes and their lines."""

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
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

from ecp.auth.tables import StaffUser
from ecp.commune.tables import Activity
from ecp.families.tables import Child, Family
from ecp.schema import Index


class BillingRun(Table):
    month = Date(help_text="First day of the month billed")
    status = Varchar(length=20, default="en_cours", help_text="en_cours terminee")
    started_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)
    started_by = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.set_null)
    families_total = Integer(default=0)
    families_done = Integer(default=0)
    invoices_created = Integer(default=0)
    anomalies = JSON(default="[]")


class BillingAnomaly(Table):
    """Something a billing run found odd in a month (ecp.invoices.anomalies), kept until the
    régisseur handles it. One row per (month, kind, child, activity, day): a later run updates
    the row it finds again (last_seen_run) and never deletes one; BillingRun.anomalies keeps
    only what each run reported."""

    month = Date(help_text="First day of the month billed")
    kind = Varchar(length=30, help_text="present_sans_reservation reserve_absent tarif_manquant")
    family = ForeignKey(references=Family, null=False, on_delete=OnDelete.restrict)
    child = ForeignKey(references=Child, null=False, on_delete=OnDelete.restrict)
    activity = ForeignKey(references=Activity, null=False, on_delete=OnDelete.restrict)
    day = Date()
    detail = Text(default="", help_text="What the run said, in French, when it first saw it")
    state = Varchar(length=20, default="a_traiter", help_text="a_traiter justifiee corrigee")
    handled_by = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.set_null)
    handled_at = Timestamptz(null=True, default=None)
    note = Text(default="", help_text="The régisseur's justification, or why it was closed")
    first_seen_run = ForeignKey(references=BillingRun, null=True, on_delete=OnDelete.set_null)
    last_seen_run = ForeignKey(references=BillingRun, null=True, on_delete=OnDelete.set_null)
    first_seen_at = Timestamptz()
    last_seen_at = Timestamptz()


class InvoiceCounter(Table):
    """Last number used per year and kind; bumped in the same transaction as the invoice."""

    year = Integer()
    kind = Varchar(length=10, default="FAC", help_text="FAC or AV")
    last_number = Integer(default=0)


class Invoice(Table):
    number = Varchar(length=20, unique=True, help_text="FAC-2026-000001 or AV-2026-000001")
    kind = Varchar(length=10, default="facture", help_text="facture or avoir")
    family = ForeignKey(references=Family, null=False, on_delete=OnDelete.restrict)
    month = Date(help_text="First day of the month billed")
    issued_at = Timestamptz()
    due_on = Date()
    total_cents = Integer(default=0, help_text="Negative for a credit note")
    paid_cents = Integer(default=0, help_text="Sum of the allocations, kept with them")
    # A LazyTableReference, not the string "Invoice": Piccolo keeps a plain string in the
    # column's params, which `--auto` then sees as differing from the table its migration state
    # resolved, and proposes the same no-op alter_column forever.
    corrects = ForeignKey(
        references=LazyTableReference("Invoice", module_path="ecp.invoices.tables"),
        null=True,
        on_delete=OnDelete.restrict,
    )
    billing_run = ForeignKey(references=BillingRun, null=True, on_delete=OnDelete.restrict)
    # Frozen copies: an issued invoice shows what was true when it was issued.
    family_name = Varchar(length=200, default="")
    address = Text(default="")
    paperless = Varchar(length=10, default="papier", help_text="papier or courriel at issue")
    notified_at = Timestamptz(null=True, default=None)
    note = Text(default="", help_text="Reason of a credit note, printed on it")
    origin = Varchar(
        length=20,
        default="",
        help_text="'' (the billing run, or a credit note issued by hand) or regularisation",
    )


class InvoiceLine(Table):
    invoice = ForeignKey(references=Invoice, null=False, on_delete=OnDelete.restrict)
    child = ForeignKey(references=Child, null=True, on_delete=OnDelete.restrict)
    activity = ForeignKey(references=Activity, null=True, on_delete=OnDelete.restrict)
    kind = Varchar(length=20, default="prestation", help_text="prestation majoration avoir")
    label = Varchar(length=200)
    days = Text(default="", help_text="ISO dates billed, comma-separated: the line's trace")
    quantity = Integer(default=1)
    unit_price_cents = Integer(default=0)
    amount_cents = Integer(default=0)
    # A credit line names the line it cancels (some or all of its days): what makes a day
    # credited once only, and the régularisations' ledger exact.
    credits_line = ForeignKey(
        references=LazyTableReference("InvoiceLine", module_path="ecp.invoices.tables"),
        null=True,
        on_delete=OnDelete.restrict,
    )
    cause = Varchar(
        length=30,
        default="",
        help_text="Why a credit or régularisation line exists (ecp.invoices.pricing.CAUSES)",
    )


class CreditAllocation(Table):
    """Part of a credit note set against an invoice of the same family (its own first, then the
    oldest unpaid); Invoice.paid_cents of both documents moves with it."""

    credit = ForeignKey(references=Invoice, null=False, on_delete=OnDelete.restrict)
    invoice = ForeignKey(references=Invoice, null=False, on_delete=OnDelete.restrict)
    amount_cents = Integer()
    allocated_at = Timestamptz()
    allocated_by = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.set_null)


class CreditRefund(Table):
    """What the régie paid back of a credit note when the family owed nothing."""

    credit = ForeignKey(references=Invoice, null=False, on_delete=OnDelete.restrict)
    amount_cents = Integer()
    method = Varchar(length=20, help_text="virement cheque especes")
    refunded_on = Date()
    reference = Varchar(length=80, default="", help_text="Transfer label, cheque number...")
    recorded_at = Timestamptz()
    recorded_by = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.set_null)


# Composite, partial and multi-column unique indexes (raw SQL in migrations/; see ecp.schema).
INDEXES = [
    # Gapless numbering: one counter per year and kind.
    Index("invoice_counter_uniq", "invoice_counter", ("year", "kind"), unique=True),
    # A family's invoices by month.
    Index("invoice_family_month_idx", "invoice", ("family", "month")),
    # Credit notes set against invoices, seen from either document.
    Index("credit_allocation_invoice_idx", "credit_allocation", ("invoice",)),
    Index("credit_allocation_credit_idx", "credit_allocation", ("credit",)),
    # The refunds of a credit note.
    Index("credit_refund_credit_idx", "credit_refund", ("credit",)),
    # One invoice per family and month from the billing run; credit notes, and the additional
    # invoices of régularisations (which correct the month's first), are free to repeat.
    Index(
        "invoice_family_month_facture_uniq",
        "invoice",
        ("family", "month"),
        unique=True,
        where="kind = 'facture' AND corrects IS NULL",
    ),
    # The lines of an invoice.
    Index("invoice_line_invoice_idx", "invoice_line", ("invoice",)),
    # One anomaly per month, kind and subject: a re-run finds the row again instead of adding one.
    Index(
        "billing_anomaly_key",
        "billing_anomaly",
        ("month", "kind", "child", "activity", "day"),
        unique=True,
    ),
    # The month's anomalies by state (the régisseur's worklist and its counts).
    Index("billing_anomaly_month_state_idx", "billing_anomaly", ("month", "state")),
]
