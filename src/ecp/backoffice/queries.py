"""Read models of the staff side; each function costs a fixed number of queries."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.accounts.services import describe
from ecp.audit import services as audit
from ecp.booking.tables import Booking, Inscription
from ecp.commune.tables import School
from ecp.families.tables import Child, ContactChangeRequest, Family, Guardian
from ecp.invoices.status import LABELS as INVOICE_LABELS
from ecp.invoices.status import invoice_status
from ecp.invoices.tables import Invoice
from ecp.payments.allocation import METHODS
from ecp.payments.tables import Payment

INSCRIPTION_LABELS = {"en_attente": "en attente", "validee": "validée", "refusee": "refusée"}
BOOKING_LABELS = {"reservee": "réservé", "annulee": "annulé", "malade": "absence signalée"}


async def dashboard_figures() -> dict[str, int]:
    today = clock.today()
    return {
        "families": await Family.count().where(Family.active == True),  # noqa: E712
        "children": await Child.count().where(Child.active == True),  # noqa: E712
        "bookings_today": await Booking.count().where(
            (Booking.day == today) & (Booking.state == "reservee")
        ),
        "inscriptions_waiting": await Inscription.count().where(Inscription.status == "en_attente"),
        "requests_waiting": await ContactChangeRequest.count().where(
            ContactChangeRequest.status == "en_attente"
        ),
    }


async def family(family_id: int) -> dict | None:
    return (
        await Family.select(
            Family.id,
            Family.code,
            Family.name,
            Family.email,
            Family.quotient_familial,
            Family.out_of_town,
            Family.paperless,
            Family.reminders,
            Family.active,
            Family.last_login_at,
            Family.created_at,
            Family.anonymised_at,
            Family.locked_until,
        )
        .where(Family.id == family_id)
        .first()
    )


async def children(family_id: int) -> list[dict]:
    """Everything but the health notes, which are shown only on request (and journalled)."""
    return (
        await Child.select(
            Child.id,
            Child.first_name,
            Child.last_name,
            Child.birth_date,
            Child.level,
            Child.has_allergy,
            Child.needs_support,
            Child.diet,
            Child.active,
            Child.school.name.as_alias("school_name"),
            Child.school_class.name.as_alias("class_name"),
        )
        .where(Child.family == family_id)
        .order_by(Child.birth_date)
    )


async def family_record(family_id: int) -> dict | None:
    row = await family(family_id)
    if row is None:
        return None
    today = clock.today()
    kids = await children(family_id)
    child_ids = [c["id"] for c in kids] or [-1]
    inscriptions = (
        await Inscription.select(
            Inscription.id,
            Inscription.status,
            Inscription.requested_at,
            Inscription.child.first_name.as_alias("child_name"),
            Inscription.activity.label.as_alias("activity_label"),
            Inscription.school_year.label.as_alias("year_label"),
        )
        .where(Inscription.child.is_in(child_ids))
        .order_by(Inscription.id, ascending=False)
        .limit(60)
    )
    for i in inscriptions:
        i["status_label"] = INSCRIPTION_LABELS.get(i["status"], i["status"])
    bookings = (
        await Booking.select(
            Booking.id,
            Booking.day,
            Booking.state,
            Booking.child.first_name.as_alias("child_name"),
            Booking.activity.short_label.as_alias("activity_label"),
        )
        .where(
            (Booking.child.is_in(child_ids))
            & (Booking.day >= today)
            & (Booking.day <= today + dt.timedelta(days=21))
        )
        .order_by(Booking.day)
        .limit(100)
    )
    for b in bookings:
        b["state_label"] = BOOKING_LABELS.get(b["state"], b["state"])
    invoices = (
        await Invoice.select(
            Invoice.id,
            Invoice.number,
            Invoice.kind,
            Invoice.month,
            Invoice.due_on,
            Invoice.total_cents,
            Invoice.paid_cents,
        )
        .where(Invoice.family == family_id)
        .order_by(Invoice.month, ascending=False)
        .limit(24)
    )
    for inv in invoices:
        code = invoice_status(
            inv["total_cents"], inv["paid_cents"], inv["due_on"], today, inv["kind"]
        )
        inv["status_label"] = INVOICE_LABELS[code]
    payments = (
        await Payment.select(
            Payment.id,
            Payment.method,
            Payment.amount_cents,
            Payment.received_at,
            Payment.reference,
        )
        .where(Payment.family == family_id)
        .order_by(Payment.received_at, ascending=False)
        .limit(24)
    )
    for p in payments:
        p["method_label"] = METHODS.get(p["method"], p["method"])
    requests = (
        await ContactChangeRequest.select(
            ContactChangeRequest.id,
            ContactChangeRequest.changes,
            ContactChangeRequest.status,
            ContactChangeRequest.submitted_at,
            ContactChangeRequest.decided_at,
            ContactChangeRequest.applied_fields,
            ContactChangeRequest.reason,
            ContactChangeRequest.guardian.first_name.as_alias("guardian_first_name"),
            ContactChangeRequest.guardian.last_name.as_alias("guardian_last_name"),
        )
        .where(ContactChangeRequest.family == family_id)
        .order_by(ContactChangeRequest.submitted_at, ascending=False)
        .limit(20)
    )
    return {
        "family": row,
        "guardians": await Guardian.select()
        .where(Guardian.family == family_id)
        .order_by(Guardian.rank),
        "children": kids,
        "inscriptions": inscriptions,
        "bookings": bookings,
        "invoices": invoices,
        "payments": payments,
        "requests": [describe(r) for r in requests],
        "history": await audit.entries(family_id=family_id, limit=30),
    }


async def search_details(families: list[dict]) -> list[dict]:
    """Adds the guardians' and children's names to search results (two queries)."""
    ids = [f["id"] for f in families] or [-1]
    guardians = await Guardian.select(
        Guardian.family, Guardian.first_name, Guardian.last_name, Guardian.phone_mobile
    ).where(Guardian.family.is_in(ids))
    kids = await Child.select(Child.family, Child.first_name).where(
        (Child.family.is_in(ids)) & (Child.active == True)
    )  # noqa: E712
    for f in families:
        f["guardians"] = [
            f"{g['first_name']} {g['last_name']}" for g in guardians if g["family"] == f["id"]
        ]
        f["children"] = [c["first_name"] for c in kids if c["family"] == f["id"]]
    return families


async def waiting_requests(limit: int = 100) -> list[dict]:
    rows = (
        await ContactChangeRequest.select(
            ContactChangeRequest.id,
            ContactChangeRequest.changes,
            ContactChangeRequest.status,
            ContactChangeRequest.submitted_at,
            ContactChangeRequest.decided_at,
            ContactChangeRequest.applied_fields,
            ContactChangeRequest.reason,
            ContactChangeRequest.family,
            ContactChangeRequest.family.code.as_alias("family_code"),
            ContactChangeRequest.family.name.as_alias("family_name"),
            ContactChangeRequest.guardian.first_name.as_alias("guardian_first_name"),
            ContactChangeRequest.guardian.last_name.as_alias("guardian_last_name"),
        )
        .where(ContactChangeRequest.status == "en_attente")
        .order_by(ContactChangeRequest.submitted_at)
        .limit(limit)
    )
    return [describe(r) for r in rows]


async def schools() -> list[dict]:
    return await School.select(School.id, School.name, School.active).order_by(School.name)
