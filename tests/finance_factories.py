"""Builders for the finance tests: the accountant's codes, and a billed month (October 2026) of
two families with their invoices, lines and one credit note, plus an invoice of another month."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.finance.tables import FinanceSettings
from ecp.invoices.tables import Invoice, InvoiceLine
from tests import factories

OCT = dt.date(2026, 10, 1)
SEP = dt.date(2026, 9, 1)
NOW = dt.datetime(2026, 11, 20, 10, tzinfo=clock.PARIS)

CODES = dict(
    poste_comptable="0780100",
    siret="21780999900017",
    code_collectivite="099",
    code_budget="00",
    libelle_emetteur="MAIRIE DE VILLEBELLE",
    type_bordereau="06",
    type_piece="15",
    nature_piece="01",
    nature_piece_reduction="06",
    edition_asap="",
    produit_defaut="20",
    nature_defaut="7067",
)


async def save_codes(**changes) -> None:
    await FinanceSettings.insert(FinanceSettings(**{**CODES, **changes}))


async def document(family, number: str, month: dt.date, lines, *, kind="facture", paid=0, due=None):
    """An issued invoice (or credit note) with its lines [(activity, label, cents)]."""
    total = sum(cents for _, _, cents in lines)
    invoice = Invoice(
        number=number,
        kind=kind,
        family=family.id,
        month=month,
        issued_at=clock.now(),
        due_on=due or (month + dt.timedelta(days=45)),
        total_cents=total,
        paid_cents=paid,
        family_name=family.name,
    )
    await invoice.save()
    for activity, label, cents in lines:
        await InvoiceLine(
            invoice=invoice.id,
            activity=activity.id if activity else None,
            kind="avoir" if kind == "avoir" else "prestation",
            label=label,
            quantity=1,
            unit_price_cents=cents,
            amount_cents=cents,
        ).save()
    return invoice


async def billed_october(codes: bool = True) -> dict:
    """Martin: October invoice 40,00 € (cantine 25,00 + garderie 15,00) and a credit note of
    -5,00 €; Diallo: October invoice 30,00 €; Martin's September invoice (another month)."""
    clock.set_now(NOW)
    if codes:
        await save_codes()
    cantine = await factories.make_activity("restauration", "Restauration scolaire")
    garderie = await factories.make_activity("garderie_matin", "Garderie du matin")
    martin = await factories.make_family("F00001", name="Martin", paperless=True)
    diallo = await factories.make_family("F00002", name="Diallo")
    for family in (martin, diallo):
        await factories.make_guardian(family)
    oct_martin = await document(
        martin,
        "FAC-2026-000011",
        OCT,
        [(cantine, "Restauration", 2500), (garderie, "Garderie", 1500)],
    )
    oct_diallo = await document(diallo, "FAC-2026-000012", OCT, [(cantine, "Restauration", 3000)])
    credit = await document(
        martin, "AV-2026-000003", OCT, [(cantine, "Repas non pris", -500)], kind="avoir"
    )
    sep_martin = await document(martin, "FAC-2026-000005", SEP, [(cantine, "Restauration", 2000)])
    return {
        "cantine": cantine,
        "garderie": garderie,
        "martin": martin,
        "diallo": diallo,
        "oct_martin": oct_martin,
        "oct_diallo": oct_diallo,
        "credit": credit,
        "sep_martin": sep_martin,
    }
