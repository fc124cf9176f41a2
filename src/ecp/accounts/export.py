"""'Mes données' (RGPD art. 15): everything stored about one family, and nothing about others.

Only secrets are left out (password and calendar-feed hashes, reset tokens, session tokens):
they are not information about the family but keys to its account.
"""

from __future__ import annotations

import datetime as dt
import json

from ecp.booking.tables import Attendance, Booking, Inscription
from ecp.families.tables import Child, ContactChangeRequest, Family, Guardian
from ecp.invoices.tables import Invoice, InvoiceLine
from ecp.mail.tables import OutboxEmail
from ecp.payments.tables import Payment, PaymentAllocation

SECRET_COLUMNS = {"password_hash", "ics_token_hash"}


def _plain(value):
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _rows(rows: list[dict]) -> list[dict]:
    return [{k: _plain(v) for k, v in row.items() if k not in SECRET_COLUMNS} for row in rows]


async def family_data(family_id: int) -> dict:
    """A fixed number of queries, whatever the size of the family's history."""
    family = await Family.select().where(Family.id == family_id)
    children = (
        await Child.select(
            *Child.all_columns(),
            Child.school.name.as_alias("school_name"),
            Child.school_class.name.as_alias("class_name"),
        )
        .where(Child.family == family_id)
        .order_by(Child.id)
    )
    child_ids = [c["id"] for c in children] or [-1]
    inscriptions = (
        await Inscription.select(
            *Inscription.all_columns(exclude=[Inscription.decided_by]),
            Inscription.activity.label.as_alias("activity_label"),
            Inscription.school_year.label.as_alias("school_year_label"),
        )
        .where(Inscription.child.is_in(child_ids))
        .order_by(Inscription.id)
    )
    bookings = (
        await Booking.select(
            *Booking.all_columns(exclude=[Booking.updated_by]),
            Booking.activity.label.as_alias("activity_label"),
        )
        .where(Booking.child.is_in(child_ids))
        .order_by(Booking.day, Booking.id)
    )
    attendance = (
        await Attendance.select(
            *Attendance.all_columns(exclude=[Attendance.marked_by]),
            Attendance.activity.label.as_alias("activity_label"),
        )
        .where(Attendance.child.is_in(child_ids))
        .order_by(Attendance.day, Attendance.id)
    )
    invoices = await Invoice.select().where(Invoice.family == family_id).order_by(Invoice.id)
    invoice_ids = [i["id"] for i in invoices] or [-1]
    lines = (
        await InvoiceLine.select()
        .where(InvoiceLine.invoice.is_in(invoice_ids))
        .order_by(InvoiceLine.id)
    )
    payments = (
        await Payment.select(*Payment.all_columns(exclude=[Payment.recorded_by]))
        .where(Payment.family == family_id)
        .order_by(Payment.id)
    )
    payment_ids = [p["id"] for p in payments] or [-1]
    allocations = (
        await PaymentAllocation.select()
        .where(PaymentAllocation.payment.is_in(payment_ids))
        .order_by(PaymentAllocation.id)
    )
    requests = (
        await ContactChangeRequest.select(
            *ContactChangeRequest.all_columns(exclude=[ContactChangeRequest.decided_by])
        )
        .where(ContactChangeRequest.family == family_id)
        .order_by(ContactChangeRequest.id)
    )
    emails = (
        await OutboxEmail.select(
            OutboxEmail.id,
            OutboxEmail.to_address,
            OutboxEmail.subject,
            OutboxEmail.kind,
            OutboxEmail.status,
            OutboxEmail.created_at,
            OutboxEmail.sent_at,
        )
        .where(OutboxEmail.family == family_id)
        .order_by(OutboxEmail.id)
    )
    return {
        "famille": _rows(family)[0] if family else {},
        "responsables": _rows(
            await Guardian.select().where(Guardian.family == family_id).order_by(Guardian.rank)
        ),
        "enfants": _rows(children),
        "inscriptions": _rows(inscriptions),
        "reservations": _rows(bookings),
        "presences": _rows(attendance),
        "factures": _rows(invoices),
        "lignes_de_facture": _rows(lines),
        "paiements": _rows(payments),
        "affectations_de_paiement": _rows(allocations),
        "demandes_de_changement": _rows(requests),
        "courriels": _rows(emails),
    }


SECTION_LABELS = {
    "famille": "Famille",
    "responsables": "Responsables légaux",
    "enfants": "Enfants",
    "inscriptions": "Inscriptions",
    "reservations": "Réservations",
    "presences": "Présences",
    "factures": "Factures",
    "lignes_de_facture": "Lignes de facture",
    "paiements": "Paiements",
    "affectations_de_paiement": "Affectation des paiements aux factures",
    "demandes_de_changement": "Demandes de changement de coordonnées",
    "courriels": "Courriels envoyés",
}
