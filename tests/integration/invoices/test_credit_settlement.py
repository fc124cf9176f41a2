"""Credit notes per day, and what their amount does (both engines): it settles the family's
unpaid invoices (the one it corrects first, then the oldest), shown on both documents and
journalled; what nothing is due against is refunded by the régie, recorded and journalled."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.auth.principal import Principal
from ecp.errors import Rejected
from ecp.invoices import queries, services
from ecp.invoices.billing import run_billing
from ecp.invoices.credit_notes import CreditNoteError, issue_credit_note
from ecp.invoices.tables import CreditAllocation, CreditRefund, Invoice, InvoiceLine
from ecp.payments.allocation import record_payment
from tests import factories
from tests.invoices_cleanup import delete_credit_notes_first  # noqa: F401
from tests.invoices_factories import NOV, book_days, make_billed_family, make_commune

D = dt.date
OCT = D(2026, 10, 1)


def _actor(staff) -> Principal:
    return Principal(kind="staff", session_id=1, name="Régie", staff_id=staff.id, role="regisseur")


async def _billed(settings, days=(2, 3, 5)):
    clock.set_now(dt.datetime(2026, 12, 2, 9, 0, tzinfo=clock.PARIS))
    commune = await make_commune()
    family, lea = await make_billed_family(commune, code="F00001", days=days)
    await run_billing(NOV, settings=settings)
    invoice = await Invoice.select().where(Invoice.month == NOV).first()
    line = await InvoiceLine.select().where(InvoiceLine.invoice == invoice["id"]).first()
    return commune, family, lea, invoice, line


async def test_days_of_a_line_are_credited_once_each(settings):
    _, family, _, invoice, line = await _billed(settings)
    actor = _actor(await factories.make_staff(role="regisseur"))
    result = await issue_credit_note(
        invoice_id=invoice["id"],
        line_ids=[],
        days={line["id"]: [D(2026, 11, 5), D(2026, 11, 2)]},
        cause="sortie_scolaire",
        reason="du 2 et du 5 novembre",
        actor=actor,
    )
    assert (result["total_cents"], result["applied_cents"], result["refund_cents"]) == (
        -420,
        420,
        0,
    )
    credit = await Invoice.select().where(Invoice.id == result["id"]).first()
    assert credit["note"] == "Sortie scolaire\u00a0: du 2 et du 5 novembre"
    [copy] = await InvoiceLine.select().where(InvoiceLine.invoice == result["id"])
    assert (copy["days"], copy["quantity"], copy["amount_cents"]) == (
        "2026-11-02,2026-11-05",
        2,
        -420,
    )
    assert (copy["credits_line"], copy["cause"]) == (line["id"], "sortie_scolaire")
    doc = await queries.staff_invoice_document(invoice["id"])
    assert doc["lines"][0]["open_days"] == [D(2026, 11, 3)] and not doc["lines"][0]["credited"]
    # A day already credited is refused, whatever else is asked with it.
    with pytest.raises(CreditNoteError) as refused:
        await issue_credit_note(
            invoice_id=invoice["id"],
            line_ids=[],
            days={line["id"]: [D(2026, 11, 3), D(2026, 11, 5)]},
            cause="autre",
            reason="Erreur",
        )
    assert (
        "jeudi 5 novembre" in refused.value.message and "déjà fait l’objet" in refused.value.message
    )
    # The whole line now credits what is left of it, then nothing is left.
    rest = await issue_credit_note(
        invoice_id=invoice["id"], line_ids=[line["id"]], cause="maladie_certificat", reason=""
    )
    assert rest["total_cents"] == -210
    assert (await Invoice.select(Invoice.note).where(Invoice.id == rest["id"]).first())[
        "note"
    ] == "Maladie avec certificat"
    with pytest.raises(CreditNoteError, match="déjà fait l’objet"):
        await issue_credit_note(
            invoice_id=invoice["id"], line_ids=[line["id"]], cause="autre", reason="Encore"
        )
    after = await Invoice.select().where(Invoice.id == invoice["id"]).first()
    assert (after["total_cents"], after["paid_cents"]) == (630, 630)
    entry = (
        await AuditLog.select()
        .where(AuditLog.action == "avoir_emis")
        .output(load_json=True)
        .first()
    )
    assert entry["details"]["raison"] == "sortie_scolaire"
    assert entry["details"]["jours"] == {str(line["id"]): ["2026-11-02", "2026-11-05"]}


async def test_a_credit_note_names_billed_days_and_a_reason(settings):
    _, _, _, invoice, line = await _billed(settings)
    with pytest.raises(CreditNoteError) as refused:
        await issue_credit_note(
            invoice_id=invoice["id"],
            line_ids=[],
            days={line["id"]: [D(2026, 11, 4)]},
            cause="fermeture",
            reason="",
        )
    assert "mercredi 4 novembre n’est pas facturé" in refused.value.message
    with pytest.raises(Rejected) as refused:
        await issue_credit_note(
            invoice_id=invoice["id"], line_ids=[line["id"]], cause="autre", reason=" "
        )
    assert refused.value.field == "motif"
    with pytest.raises(Rejected) as refused:
        await issue_credit_note(
            invoice_id=invoice["id"], line_ids=[line["id"]], cause="gratuit", reason="x"
        )
    assert refused.value.field == "raison"
    assert await Invoice.count().where(Invoice.kind == "avoir") == 0


async def test_a_credit_settles_the_oldest_unpaid_invoice_when_its_own_is_paid(settings):
    commune, family, lea, invoice, line = await _billed(settings)
    await book_days(lea, commune, [D(2026, 10, 12), D(2026, 10, 13)])
    await run_billing(OCT, settings=settings)
    october = await Invoice.select().where(Invoice.month == OCT).first()
    await record_payment(
        family_id=family.id, method="cheque", amount_cents=630, invoice_ids=[invoice["id"]]
    )
    actor = _actor(await factories.make_staff(role="regisseur"))
    result = await issue_credit_note(
        invoice_id=invoice["id"],
        line_ids=[],
        days={line["id"]: [D(2026, 11, 3)]},
        cause="fermeture",
        reason="",
        actor=actor,
    )
    assert result["allocations"] == [
        {"invoice_id": october["id"], "number": october["number"], "amount_cents": 210}
    ]
    october = await Invoice.select().where(Invoice.id == october["id"]).first()
    assert (october["total_cents"], october["paid_cents"]) == (420, 210)
    [allocation] = await CreditAllocation.select()
    assert (allocation["credit"], allocation["invoice"], allocation["allocated_by"]) == (
        result["id"],
        october["id"],
        actor.staff_id,
    )
    # Visible on both documents.
    on_invoice = (await queries.invoice_document(october["id"]))["settlements"]
    assert [(s["role"], s["number"], s["amount_cents"]) for s in on_invoice] == [
        ("deduit", result["number"], 210)
    ]
    on_credit = (await queries.invoice_document(result["id"]))["settlements"]
    assert [(s["role"], s["number"], s["amount_cents"]) for s in on_credit] == [
        ("impute", october["number"], 210)
    ]
    entry = (
        await AuditLog.select()
        .where(AuditLog.action == "avoir_impute")
        .output(load_json=True)
        .first()
    )
    assert entry["family"] == family.id
    assert entry["details"]["factures"] == [{"facture": october["number"], "montant_cents": 210}]


async def test_a_credit_nothing_is_due_against_is_refunded_once(settings):
    _, family, _, invoice, line = await _billed(settings)
    await record_payment(
        family_id=family.id, method="especes", amount_cents=630, invoice_ids=[invoice["id"]]
    )
    actor = _actor(await factories.make_staff(role="regisseur"))
    result = await issue_credit_note(
        invoice_id=invoice["id"], line_ids=[line["id"]], cause="fermeture", reason="", actor=actor
    )
    assert result["refund_cents"] == 630
    credit = await Invoice.select().where(Invoice.id == result["id"]).first()
    assert queries.decorate(credit)["credit_left_cents"] == 630
    with pytest.raises(Rejected) as refused:
        await services.refund_credit(
            actor,
            result["id"],
            method="virement",
            refunded_on=clock.today() + dt.timedelta(days=1),
            reference="VIR-1",
        )
    assert refused.value.field == "date"
    today = clock.today()
    done = await services.refund_credit(
        actor, result["id"], method="virement", refunded_on=today, reference="VIR-2026-12"
    )
    assert done["refunded_cents"] == 630 and done["allocations"] == []
    [refund] = await CreditRefund.select()
    assert (
        refund["amount_cents"],
        refund["method"],
        refund["refunded_on"],
        refund["reference"],
    ) == (
        630,
        "virement",
        today,
        "VIR-2026-12",
    )
    credit = await Invoice.select().where(Invoice.id == result["id"]).first()
    assert queries.decorate(credit)["credit_left_cents"] == 0
    on_credit = (await queries.invoice_document(result["id"]))["settlements"]
    assert [(s["role"], s["amount_cents"], s["method_label"], s["day"]) for s in on_credit] == [
        ("rembourse", 630, "Virement", today)
    ]
    entry = (
        await AuditLog.select()
        .where(AuditLog.action == "avoir_rembourse")
        .output(load_json=True)
        .first()
    )
    assert entry["details"]["montant_cents"] == 630 and entry["details"]["mode"] == "virement"
    with pytest.raises(Rejected, match="rien à rembourser"):
        await services.refund_credit(
            actor, result["id"], method="especes", refunded_on=today, reference=""
        )
    assert await CreditRefund.count() == 1
    assert (
        await services.refund_credit(
            actor, 99999, method="especes", refunded_on=today, reference=""
        )
        is None
    )
    page = await queries.family_invoices_page(family.id)
    assert page["totals"]["balance_cents"] == 0  # 630 billed, 630 paid, 630 credited and refunded


async def test_a_refund_first_settles_what_the_family_owes(settings):
    commune, family, lea, invoice, line = await _billed(settings)
    await record_payment(
        family_id=family.id, method="especes", amount_cents=630, invoice_ids=[invoice["id"]]
    )
    actor = _actor(await factories.make_staff(role="regisseur"))
    result = await issue_credit_note(
        invoice_id=invoice["id"], line_ids=[line["id"]], cause="fermeture", reason=""
    )
    # An invoice issued since, by hand in this test, without the billing run's settlement.
    await Invoice(
        number="FAC-2026-000099",
        kind="facture",
        family=family.id,
        month=OCT,
        issued_at=clock.now(),
        due_on=clock.today(),
        total_cents=200,
        paid_cents=0,
    ).save()
    done = await services.refund_credit(
        actor, result["id"], method="cheque", refunded_on=clock.today(), reference="CHQ 123"
    )
    assert [a["amount_cents"] for a in done["allocations"]] == [200]
    assert done["refunded_cents"] == 430
