"""Payments (card and counter), their allocation to invoices, card attempts and notifications."""

from piccolo.columns import (
    Boolean,
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
from ecp.families.tables import DirectDebitMandate, Family
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
    method = Varchar(length=20, help_text="carte especes cheque cesu ancv virement")
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
    # A cheque's bordereau de remise lists who signed it and on which bank it is drawn.
    drawer = Varchar(length=120, default="", help_text="Cheque: the tireur, as printed on it")
    bank = Varchar(length=80, default="", help_text="Cheque: the bank it is drawn on")


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


class PayfipOperation(Table):
    """One PayFiP operation (idOp) opened for a card attempt by creerPaiementSecurise; only the
    answer of recupererDetailPaiementSecurise for it settles the attempt (ecp.payments.payfip)."""

    attempt = ForeignKey(references=PaymentAttempt, null=False, on_delete=OnDelete.restrict)
    id_op = Varchar(length=64, unique=True, help_text="PayFiP's idOp")
    refdet = Varchar(length=30, help_text="The debt reference sent to PayFiP")
    exer = Integer(help_text="The year sent to PayFiP")
    created_at = Timestamptz()
    checked_at = Timestamptz(null=True, default=None)
    resultrans = Varchar(length=2, default="", help_text="P paid, R refused, A abandoned...")


class PayfipSimulatorOperation(Table):
    """The local PayFiP simulator's own record of what the portal asked it (demo and tests
    only; ecp.payments.payfip_simulator): what recupererDetailPaiementSecurise answers."""

    id_op = Varchar(length=64, unique=True)
    numcli = Varchar(length=6)
    exer = Varchar(length=4)
    refdet = Varchar(length=30)
    montant = Integer()
    mel = Varchar(length=80)
    objet = Varchar(length=100, default="")
    saisie = Varchar(length=1)
    urlnotif = Text()
    urlredirect = Text()
    created_at = Timestamptz()
    resultrans = Varchar(length=2, default="")
    numauto = Varchar(length=20, default="")
    paid_at = Timestamptz(null=True, default=None)


class DebitBatch(Table):
    """One SEPA direct-debit file (pain.008) the régisseur produced for a billed month."""

    month = Date(help_text="The billed month (first day)")
    message_id = Varchar(length=35, unique=True)
    created_at = Timestamptz()
    created_by = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.restrict)
    debits = Integer(default=0)
    total_cents = Integer(default=0)
    xml = Text(help_text="The file as produced, downloaded again unchanged")


class DirectDebit(Table):
    """One invoice debited in a batch; its payment went through the allocation. A rejected
    debit keeps its reason and the reversal that put the invoice back to pay."""

    batch = ForeignKey(references=DebitBatch, null=False, on_delete=OnDelete.restrict)
    invoice = ForeignKey(references=Invoice, null=False, on_delete=OnDelete.restrict)
    family = ForeignKey(references=Family, null=False, on_delete=OnDelete.restrict)
    mandate = ForeignKey(references=DirectDebitMandate, null=False, on_delete=OnDelete.restrict)
    amount_cents = Integer()
    sequence = Varchar(length=4, help_text="FRST (a mandate's first debit) or RCUR")
    collection_on = Date()
    end_to_end = Varchar(length=35)
    payment = ForeignKey(references=Payment, null=True, on_delete=OnDelete.restrict)
    status = Varchar(length=10, default="preleve", help_text="preleve rejete")
    reject_reason = Varchar(length=4, default="")
    rejected_at = Timestamptz(null=True, default=None)
    rejected_by = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.restrict)
    reversal = ForeignKey(references=Payment, null=True, on_delete=OnDelete.restrict)


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


class ReminderBatch(Table):
    """One run of the relances at one level: its e-mails went out with it, its letters are
    printed together (one PDF for the whole batch)."""

    level = Integer(help_text="1 (first reminder) or 2 (second)")
    created_at = Timestamptz()
    created_by = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.restrict)
    emails = Integer(default=0, help_text="Families reminded by e-mail")
    letters = Integer(default=0, help_text="Families reminded by a printed letter")


class InvoiceReminder(Table):
    """The journal of relances: one row per invoice and level, never two (unique index)."""

    invoice = ForeignKey(references=Invoice, null=False, on_delete=OnDelete.restrict)
    family = ForeignKey(references=Family, null=False, on_delete=OnDelete.restrict)
    batch = ForeignKey(references=ReminderBatch, null=False, on_delete=OnDelete.restrict)
    level = Integer(help_text="1 or 2")
    channel = Varchar(length=10, help_text="courriel or courrier")
    owed_cents = Integer(default=0, help_text="What the invoice still owed when reminded")
    sent_at = Timestamptz()
    sent_by = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.restrict)


# Composite, partial and multi-column unique indexes (raw SQL in migrations/; see ecp.schema).
INDEXES = [
    # What was paid against an invoice.
    Index("payment_allocation_invoice_idx", "payment_allocation", ("invoice",)),
    # A relance is sent once per invoice and level, whoever runs the batch and however often.
    Index("invoice_reminder_level_uniq", "invoice_reminder", ("invoice", "level"), unique=True),
    # The letters of one batch.
    Index("invoice_reminder_batch_idx", "invoice_reminder", ("batch",)),
    # The refusal counter's upsert conflict target: one row per hour, address and reason.
    Index(
        "refused_notification_key",
        "refused_notification",
        ("hour", "source_ip", "reason"),
        unique=True,
    ),
]
