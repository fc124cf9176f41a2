"""Read models for the family side; each function costs a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

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


def payer_of(guardian_rows: list[dict]) -> dict | None:
    """Among a family's responsables (in rank order), the one who pays: the one marked so, or
    else the first."""
    return next(
        (g for g in guardian_rows if g["is_payer"]), guardian_rows[0] if guardian_rows else None
    )


def recipients_of(guardian_rows: list[dict], account_email: str | None) -> list[str]:
    """Among a family's responsables (in rank order), the addresses the service's e-mails go
    to: every one who receives them and has an address; the account's address when none does."""
    found = [g["email"] for g in guardian_rows if g["receives_email"] and g["email"]]
    if found:
        return list(dict.fromkeys(found))
    return [account_email] if account_email else []


async def payer(family_id: int) -> dict | None:
    """The responsable who pays the family's invoices: the one marked so, or else the first."""
    return payer_of(
        await Guardian.select().where(Guardian.family == family_id).order_by(Guardian.rank)
    )


async def mail_recipients(family_id: int) -> list[str]:
    """The addresses the service's e-mails go to: every responsable who receives them and has
    an address, in order; the account's address when none does."""
    rows = (
        await Guardian.select(Guardian.email, Guardian.receives_email)
        .where(Guardian.family == family_id)
        .order_by(Guardian.rank)
    )
    if any(g["receives_email"] and g["email"] for g in rows):
        return recipients_of(rows, None)
    family = await Family.select(Family.email).where(Family.id == family_id).first()
    return recipients_of([], family["email"] if family else None)


@dataclass(frozen=True)
class QuotientTimeline:
    """A family's quotient familial over time, for a bulk reader (billing): `on(day)` answers
    as quotient_on does."""

    steps: tuple[tuple[dt.date, int | None], ...]  # (effective_from, value), by date
    row_value: int | None  # the family row's value, used when it has no history at all

    def on(self, day: dt.date) -> int | None:
        if not self.steps:
            return self.row_value
        found = None
        for effective_from, value in self.steps:
            if effective_from > day:
                break
            found = value
        return found


async def quotient_timelines(families: dict[int, dict]) -> dict[int, QuotientTimeline]:
    """The quotient timeline of each family of `families` ({id: row with quotient_familial}),
    in one query whatever their number."""
    steps: dict[int, list[tuple[dt.date, int | None]]] = {}
    if families:
        for r in (
            await QuotientHistory.select(
                QuotientHistory.family, QuotientHistory.effective_from, QuotientHistory.value
            )
            .where(QuotientHistory.family.is_in(list(families)))
            .order_by(QuotientHistory.effective_from)
        ):
            steps.setdefault(r["family"], []).append((r["effective_from"], r["value"]))
    return {
        fid: QuotientTimeline(tuple(steps.get(fid, ())), row.get("quotient_familial"))
        for fid, row in families.items()
    }


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


# ---------------------------------------------------------------- agents limited to schools
# An agent may work for some schools only (ecp.auth.scope): the families they see are those
# with a child at one of them. These take plain school ids, for any feature to apply.


def families_of_schools(school_ids: Collection[int]):
    """A subquery of the ids of the families with a child at one of `school_ids`, for
    `Family.id.is_in(...)` or `<Table>.family.is_in(...)`."""
    return Child.select(Child.family).where(Child.school.is_in(list(school_ids) or [-1]))


async def family_in_schools(family_id: int, school_ids: Collection[int]) -> bool:
    return await Child.exists().where(
        (Child.family == family_id) & Child.school.is_in(list(school_ids) or [-1])
    )
