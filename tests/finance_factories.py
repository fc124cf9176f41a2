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


JAN_2027 = dt.datetime(2027, 1, 15, 10, tzinfo=clock.PARIS)


async def paid_care_2026() -> dict:
    """Martin (paperless): Tom (born 2022, under 6 on 1 January 2026) and Léa (born 2018).
    November invoice 60,00 €: Tom's garderie 30,00, Tom's canteen 20,00, Léa's garderie 10,00;
    paid 30,00 € on 10 December 2026 (half of each line). October invoice 20,00 € of Tom's
    garderie, paid on 5 January 2027 (another year). Diallo (paper): Zoé (born 2021), an
    invoice of 10,00 € of garderie paid in full in 2026."""
    from ecp.payments.allocation import record_payment

    clock.set_now(JAN_2027)
    school = await factories.make_school("École des Tilleuls")
    cantine = await factories.make_activity("restauration", "Restauration scolaire")
    garderie = await factories.make_activity("garderie_soir", "Garderie du soir")
    martin = await factories.make_family(
        "F00001", name="Martin", paperless=True, email="martin@example.org"
    )
    diallo = await factories.make_family("F00002", name="Diallo")
    for family in (martin, diallo):
        await factories.make_guardian(family)
    tom = await factories.make_child(
        martin, "Tom", "MS", school=school, birth_date=dt.date(2022, 5, 1)
    )
    lea = await factories.make_child(martin, "Léa", school=school, birth_date=dt.date(2018, 2, 1))
    zoe = await factories.make_child(
        diallo, "Zoé", "GS", school=school, birth_date=dt.date(2021, 1, 2)
    )

    async def invoice(family, number, month, lines):
        doc = await document(
            family, number, month, [(a, label, cents) for a, label, cents, _ in lines]
        )
        children = [child for *_, child in lines]
        rows = (
            await InvoiceLine.select(InvoiceLine.id)
            .where(InvoiceLine.invoice == doc.id)
            .order_by(InvoiceLine.id)
        )
        for row, child in zip(rows, children, strict=True):
            await InvoiceLine.update({InvoiceLine.child: child.id}).where(
                InvoiceLine.id == row["id"]
            )
        return doc

    nov = await invoice(
        martin,
        "FAC-2026-000101",
        dt.date(2026, 11, 1),
        [
            (garderie, "Garderie", 3000, tom),
            (cantine, "Cantine", 2000, tom),
            (garderie, "Garderie", 1000, lea),
        ],
    )
    octo = await invoice(
        martin, "FAC-2026-000090", dt.date(2026, 10, 1), [(garderie, "Garderie", 2000, tom)]
    )
    zinv = await invoice(
        diallo, "FAC-2026-000102", dt.date(2026, 11, 1), [(garderie, "Garderie", 1000, zoe)]
    )
    await record_payment(
        family_id=martin.id,
        method="cheque",
        amount_cents=3000,
        invoice_ids=[nov.id],
        received_at=dt.datetime(2026, 12, 10, 11, tzinfo=clock.PARIS),
        reference="CHQ 1",
    )
    await record_payment(
        family_id=martin.id,
        method="especes",
        amount_cents=2000,
        invoice_ids=[octo.id],
        received_at=dt.datetime(2027, 1, 5, 11, tzinfo=clock.PARIS),
    )
    await record_payment(
        family_id=diallo.id,
        method="especes",
        amount_cents=1000,
        invoice_ids=[zinv.id],
        received_at=dt.datetime(2026, 11, 30, 11, tzinfo=clock.PARIS),
    )
    return {"martin": martin, "diallo": diallo, "tom": tom, "lea": lea, "zoe": zoe}
