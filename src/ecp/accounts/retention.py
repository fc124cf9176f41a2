"""Retention (RGPD art. 5(1)(e), CNIL NS-058): anonymise families inactive for too long.

`anonymise_inactive(settings, now)` is meant to be run daily by the job runner. The period is
the administrator's "Durée de conservation" (Paramètres > Règles, CommuneSettings.retention_years,
3 years by default); `settings.extra["retention_years"]` overrides it (tests, one-off runs).

A family is inactive when, for the whole period before `now`, it has not logged in, and has no
booking day, invoice, payment or contact-change request; it was created before the period; and
it owes nothing (the régie may still need to reach a family that has not paid).

What anonymising does, in one transaction per family:
- erased: the responsables (rows deleted), their change requests, the emergency contacts and
  people allowed to collect the children, the quotient familial history, the family's name,
  e-mail, password, quotient familial, the service's notes and preferences, the children's
  names, birth day and month, health notes and needs, the login sessions, reset tokens, search
  terms, the addresses and text of the e-mails sent to it, and the notes staff wrote on its
  billing anomalies and on the card attempts they settled by hand;
- kept: the code famille, invoices (with the name and address frozen on them at issue, as the
  public accountant requires), invoice lines, payments and their allocations, bookings and
  attendance (anonymous once the child is), and the journal, which gains a
  "family_anonymised" line.
Running it twice changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt

from ecp.audit.services import record_system
from ecp.auth.tables import AuthSession, PasswordResetToken
from ecp.booking.tables import Booking
from ecp.commune.queries import commune_settings
from ecp.db import write_transaction
from ecp.families.tables import (
    Child,
    ContactChangeRequest,
    DirectDebitMandate,
    Family,
    FamilyContact,
    FamilySearchTerm,
    Guardian,
    QuotientHistory,
)
from ecp.invoices.tables import BillingAnomaly, Invoice
from ecp.mail.tables import OutboxEmail
from ecp.payments.tables import Payment, PaymentAttempt

BATCH = 500
ANONYMOUS_NAME = "Famille anonymisée"


def _years_before(now: dt.datetime, years: int) -> dt.datetime:
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


async def _still_active(ids: list[int], cutoff: dt.datetime) -> set[int]:
    """Among `ids`, the families with any activity since `cutoff` or an unpaid invoice."""
    busy: set[int] = set()
    cutoff_day = cutoff.date()
    rows = (
        await Booking.select(Booking.child.family.as_alias("family"))
        .where(Booking.child.family.is_in(ids) & (Booking.day >= cutoff_day))
        .distinct()
    )
    busy |= {r["family"] for r in rows}
    rows = (
        await Invoice.select(Invoice.family)
        .where(
            Invoice.family.is_in(ids)
            & (
                (Invoice.issued_at >= cutoff)
                | ((Invoice.kind == "facture") & (Invoice.paid_cents < Invoice.total_cents))
            )
        )
        .distinct()
    )
    busy |= {r["family"] for r in rows}
    rows = (
        await Payment.select(Payment.family)
        .where(Payment.family.is_in(ids) & (Payment.received_at >= cutoff))
        .distinct()
    )
    busy |= {r["family"] for r in rows}
    rows = (
        await ContactChangeRequest.select(ContactChangeRequest.family)
        .where(
            ContactChangeRequest.family.is_in(ids) & (ContactChangeRequest.submitted_at >= cutoff)
        )
        .distinct()
    )
    busy |= {r["family"] for r in rows}
    return busy


async def _anonymise(family_id: int, now: dt.datetime) -> None:
    async with write_transaction():
        await Family.update(
            {
                Family.name: ANONYMOUS_NAME,
                Family.email: "",
                Family.password_hash: "",
                Family.quotient_familial: None,
                Family.paperless: False,
                Family.reminders: False,
                Family.ics_token_hash: None,
                Family.active: False,
                Family.failed_logins: 0,
                Family.locked_until: None,
                Family.notes: "",
                Family.creation_key: None,
                Family.anonymised_at: now,
            }
        ).where(Family.id == family_id)
        await ContactChangeRequest.delete().where(ContactChangeRequest.family == family_id)
        await Guardian.delete().where(Guardian.family == family_id)
        await FamilyContact.delete().where(FamilyContact.family == family_id)
        await QuotientHistory.delete().where(QuotientHistory.family == family_id)
        # SEPA mandates: the account holder and the (encrypted) IBAN go; the RUM and the
        # masked hint stay with the debits already made (ecp.payments.debits).
        await DirectDebitMandate.update(
            {
                DirectDebitMandate.holder: ANONYMOUS_NAME,
                DirectDebitMandate.iban_sealed: "",
                DirectDebitMandate.status: "revoque",
            }
        ).where(DirectDebitMandate.family == family_id)
        children = await Child.select(Child.id, Child.birth_date).where(Child.family == family_id)
        for child in children:
            # The year stays (statistics by age); the day that identifies the child goes.
            await Child.update(
                {
                    Child.first_name: "Enfant",
                    Child.last_name: "anonymisé",
                    Child.birth_date: dt.date(child["birth_date"].year, 1, 1),
                    Child.health_notes: "",
                    Child.has_allergy: False,
                    Child.needs_support: False,
                    Child.diet: "standard",
                    Child.active: False,
                }
            ).where(Child.id == child["id"])
        await AuthSession.delete().where(AuthSession.family == family_id)
        await PasswordResetToken.delete().where(PasswordResetToken.family == family_id)
        await FamilySearchTerm.delete().where(FamilySearchTerm.family == family_id)
        # What staff wrote about the family's anomalies and card payments may name a child.
        await BillingAnomaly.update({BillingAnomaly.note: ""}).where(
            BillingAnomaly.family == family_id
        )
        await PaymentAttempt.update({PaymentAttempt.resolution_note: ""}).where(
            PaymentAttempt.family == family_id
        )
        await OutboxEmail.update(
            {
                OutboxEmail.to_address: "",
                OutboxEmail.subject: "",
                OutboxEmail.body_text: "",
                OutboxEmail.body_html: "",
                OutboxEmail.sealed_body: "",
            }
        ).where(OutboxEmail.family == family_id)
        await record_system(
            "family_anonymised", family_id=family_id, details={"children": len(children)}
        )


async def anonymise_inactive(settings, now: dt.datetime) -> int:
    """Anonymises every family inactive for the retention period; returns how many it did."""
    years = (settings.extra or {}).get("retention_years") if settings is not None else None
    if years is None:
        years = (await commune_settings())["retention_years"]
    cutoff = _years_before(now, int(years))
    done = 0
    last_id = 0
    while True:
        candidates = (
            await Family.select(Family.id)
            .where(
                (Family.id > last_id)
                & Family.anonymised_at.is_null()
                & (Family.created_at < cutoff)
                & (Family.last_login_at.is_null() | (Family.last_login_at < cutoff))
            )
            .order_by(Family.id)
            .limit(BATCH)
        )
        if not candidates:
            return done
        ids = [r["id"] for r in candidates]
        last_id = ids[-1]
        busy = await _still_active(ids, cutoff)
        for family_id in ids:
            if family_id not in busy:
                await _anonymise(family_id, now)
                done += 1
