"""Payments (card and counter), their allocation to invoices, card attempts and notifications."""

from piccolo.columns import (
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from ecp.auth.tables import StaffUser
from ecp.families.tables import Family
from ecp.invoices.tables import Invoice
from ecp.schema import Index


class PaymentAttempt(Table):
    """A card payment started by a family; only a signed notification settles it."""

    reference = Varchar(length=64, unique=True, help_text="PBX_CMD, unguessable")
    family = ForeignKey(references=Family, null=False, on_delete=OnDelete.restrict)
    amount_cents = Integer()
    provider = Varchar(length=20, default="paybox")
    status = Varchar(
        length=20,
        default="en_attente",
        index=True,
        help_text="en_attente payee refusee annulee expiree",
    )
    created_at = Timestamptz()
    expires_at = Timestamptz()
    settled_at = Timestamptz(null=True, default=None)
    error_code = Varchar(length=10, default="")
    # Settled by the régisseur from Paybox's back office when no notification came
    # (ecp.payments.services.resolve_attempt); a later notification is checked against it.
    resolution = Varchar(length=20, default="", help_text="'' payee echouee")
    resolved_by = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.set_null)
    resolved_at = Timestamptz(null=True, default=None)
    resolution_note = Text(default="")


class PaymentAttemptInvoice(Table):
    attempt = ForeignKey(references=PaymentAttempt, null=False, on_delete=OnDelete.restrict)
    invoice = ForeignKey(references=Invoice, null=False, on_delete=OnDelete.restrict)
    amount_cents = Integer()


class Payment(Table):
    family = ForeignKey(references=Family, null=False, on_delete=OnDelete.restrict)
    method = Varchar(length=20, help_text="carte especes cheque cesu virement")
    amount_cents = Integer()
    received_at = Timestamptz()
    reference = Varchar(length=80, default="", help_text="Cheque number, transfer label...")
    provider_transaction = Varchar(
        length=40,
        null=True,
        default=None,
        unique=True,
        help_text="Paybox transaction number (S); once only",
    )
    attempt = ForeignKey(references=PaymentAttempt, null=True, on_delete=OnDelete.restrict)
    recorded_by = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.restrict)
    unallocated_cents = Integer(default=0, help_text="Overpayment left to refund or allocate")
    note = Text(default="")


class PaymentAllocation(Table):
    payment = ForeignKey(references=Payment, null=False, on_delete=OnDelete.restrict)
    invoice = ForeignKey(references=Invoice, null=False, on_delete=OnDelete.restrict)
    amount_cents = Integer()


class PaymentNotification(Table):
    """Every IPN received, whatever its fate, for the régisseur's reconciliation."""

    received_at = Timestamptz()
    source_ip = Varchar(length=45, default="")
    raw_query = Text()
    signature_valid = Boolean(default=False)
    outcome = Varchar(length=30, help_text="payee doublon refusee montant reference signature")
    attempt = ForeignKey(references=PaymentAttempt, null=True, on_delete=OnDelete.restrict)
    transaction = Varchar(length=40, default="")
    amount_cents = Integer(null=True, default=None)
    error_code = Varchar(length=10, default="")


class RefusedNotification(Table):
    """Requests to the notification URL that were not Paybox notifications, counted per hour,
    address and reason: a flood of forged requests costs one row an hour, not one row each.
    Kept REFUSED_RETENTION_DAYS (ecp.payments.refusals), then deleted by the clean-up job."""

    hour = Timestamptz(help_text="The hour the requests arrived in (UTC, minutes at zero)")
    source_ip = Varchar(length=45, default="")
    reason = Varchar(length=20, help_text="signature format")
    hits = Integer(default=0)
    first_at = Timestamptz()
    last_at = Timestamptz()
    sample = Text(default="", help_text="The first request's bytes, shortened")


# Composite, partial and multi-column unique indexes (raw SQL in migrations/; see ecp.schema).
INDEXES = [
    # What was paid against an invoice.
    Index("payment_allocation_invoice_idx", "payment_allocation", ("invoice",)),
    # The refusal counter's upsert conflict target: one row per hour, address and reason.
    Index(
        "refused_notification_key",
        "refused_notification",
        ("hour", "source_ip", "reason"),
        unique=True,
    ),
]
