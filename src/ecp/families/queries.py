"""Read models for the family side; each function costs a fixed number of queries."""

from __future__ import annotations

import datetime as dt

from ecp.families.tables import Child, DirectDebitMandate, Family, Guardian, QuotientHistory


async def family_with_children(family_id: int) -> tuple[dict, list[dict]]:
    family = (
        await Family.select(Family.id, Family.code, Family.name, Family.email, Family.paperless)
        .where(Family.id == family_id)
        .first()
    )
    children = (
        await Child.select(
            Child.id,
            Child.first_name,
            Child.last_name,
            Child.level,
            Child.birth_date,
            Child.school.name.as_alias("school_name"),
        )
        .where((Child.family == family_id) & (Child.active == True))
        .order_by(Child.birth_date)
    )  # noqa: E712
    return family, children


async def guardians(family_id: int) -> list[dict]:
    return await Guardian.select().where(Guardian.family == family_id).order_by(Guardian.rank)


async def quotient_on(family_id: int, day: dt.date) -> int | None:
    """The quotient familial in force on `day`: the latest one recorded from that day or
    before (QuotientHistory). A family with no history yet (recorded before it existed) has
    the one on its row; a day before its first recorded quotient has none (the highest bracket
    applies). One query, two for a family without history."""
    row = (
        await QuotientHistory.select(QuotientHistory.value)
        .where((QuotientHistory.family == family_id) & (QuotientHistory.effective_from <= day))
        .order_by(QuotientHistory.effective_from, ascending=False)
        .first()
    )
    if row is not None:
        return row["value"]
    if await QuotientHistory.exists().where(QuotientHistory.family == family_id):
        return None
    family = await Family.select(Family.quotient_familial).where(Family.id == family_id).first()
    return family["quotient_familial"] if family else None


async def payer(family_id: int) -> dict | None:
    """The responsable who pays the family's invoices: the one marked so, or else the first."""
    rows = await Guardian.select().where(Guardian.family == family_id).order_by(Guardian.rank)
    return next((g for g in rows if g["is_payer"]), rows[0] if rows else None)


async def mail_recipients(family_id: int) -> list[str]:
    """The addresses the service's e-mails go to: every responsable who receives them and has
    an address, in order; the account's address when none does."""
    rows = (
        await Guardian.select(Guardian.email, Guardian.receives_email)
        .where(Guardian.family == family_id)
        .order_by(Guardian.rank)
    )
    found = [g["email"] for g in rows if g["receives_email"] and g["email"]]
    if found:
        return list(dict.fromkeys(found))
    family = await Family.select(Family.email).where(Family.id == family_id).first()
    return [family["email"]] if family and family["email"] else []


async def direct_debit_mandate(family_id: int) -> dict | None:
    """The family's active SEPA mandate as anyone may read it (RUM and masked IBAN), or None;
    the invoice pre-notifies its debit with it (ecp.payments.mandates writes mandates)."""
    return (
        await DirectDebitMandate.select(DirectDebitMandate.rum, DirectDebitMandate.iban_hint)
        .where((DirectDebitMandate.family == family_id) & (DirectDebitMandate.status == "actif"))
        .order_by(DirectDebitMandate.id, ascending=False)
        .first()
    )


def debit_prenotice(invoice: dict, mandate: dict | None, today: dt.date) -> dict | None:
    """What the invoice pre-notifies: the amount still owed and the debit date (its due date),
    while that date is to come; None when nothing will be debited."""
    remaining = invoice["total_cents"] - invoice["paid_cents"]
    if mandate is None or invoice.get("kind") != "facture" or remaining <= 0:
        return None
    if invoice["due_on"] < today:
        return None
    return {"amount_cents": remaining, "debit_on": invoice["due_on"], **mandate}
