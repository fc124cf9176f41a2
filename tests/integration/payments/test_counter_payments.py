"""The régie counter's rules, called without HTTP: a payment spread over invoices in the order
given, what stays unallocated, the journal line, and refusals that leave nothing behind."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.auth.principal import Principal
from ecp.errors import Rejected
from ecp.invoices.tables import Invoice
from ecp.payments import services
from ecp.payments.tables import Payment, PaymentAllocation
from tests.factories import make_family, make_staff
from tests.payments_factories import make_invoice

NOW = dt.datetime(2026, 11, 20, 15, 30, tzinfo=clock.PARIS)


async def _regisseur() -> Principal:
    staff = await make_staff(role="regisseur", display_name="Régisseur Test")
    return Principal(
        kind="staff", session_id=0, name="Régisseur Test", staff_id=staff.id, role="regisseur"
    )


async def _paid() -> dict[int, int]:
    return {r["id"]: r["paid_cents"] for r in await Invoice.select(Invoice.id, Invoice.paid_cents)}


async def test_a_payment_settles_the_invoices_in_the_order_given_and_is_journalled():
    actor = await _regisseur()
    family = await make_family(code="F00001")
    older = await make_invoice(family, 4250)
    newer = await make_invoice(family, 990)
    with clock.frozen(NOW):
        result = await services.record_counter_payment(
            actor,
            family_id=family.id,
            method="cheque",
            amount_cents=2000,
            invoice_ids=[newer.id, older.id],
            received_on=NOW.date(),
            reference="CHQ 42",
        )
    assert result["allocations"] == [
        {"invoice_id": newer.id, "amount_cents": 990},
        {"invoice_id": older.id, "amount_cents": 1010},
    ]
    assert result["unallocated_cents"] == 0 and result["allocated_cents"] == 2000
    assert await _paid() == {older.id: 1010, newer.id: 990}
    payment = await Payment.select().first()
    assert payment["id"] == result["payment_id"] and payment["recorded_by"] == actor.staff_id
    assert payment["method"] == "cheque" and payment["reference"] == "CHQ 42"
    assert payment["received_at"] == NOW  # today: the moment it was recorded
    entry = await AuditLog.select().where(AuditLog.action == "paiement_guichet").first()
    assert entry["family"] == family.id and entry["staff"] == actor.staff_id
    assert entry["target"] == f"Payment:{payment['id']}"
    details = entry["details"]
    if isinstance(details, str):  # SQLite hands JSON back as text
        import json

        details = json.loads(details)
    assert details["montant_cents"] == 2000 and details["mode"] == "cheque"
    assert details["allocations"] == result["allocations"]


async def test_what_the_invoices_do_not_owe_stays_unallocated_and_an_earlier_day_is_noon():
    actor = await _regisseur()
    family = await make_family(code="F00001")
    invoice = await make_invoice(family, 1000, paid_cents=400)
    with clock.frozen(NOW):
        result = await services.record_counter_payment(
            actor,
            family_id=family.id,
            method="especes",
            amount_cents=1500,
            invoice_ids=[invoice.id],
            received_on=dt.date(2026, 11, 18),
        )
    assert result["allocated_cents"] == 600 and result["unallocated_cents"] == 900
    payment = await Payment.select().first()
    assert payment["unallocated_cents"] == 900
    assert payment["received_at"] == dt.datetime(2026, 11, 18, 12, tzinfo=clock.PARIS)
    assert payment["received_at"].astimezone(clock.PARIS).date() == dt.date(2026, 11, 18)


@pytest.mark.parametrize(
    ("method", "day", "field"),
    [("carte", dt.date(2026, 11, 20), "mode"), ("especes", dt.date(2026, 11, 21), "date")],
)
async def test_a_card_payment_or_a_day_to_come_is_refused(method, day, field):
    actor = await _regisseur()
    family = await make_family(code="F00001")
    invoice = await make_invoice(family, 1000)
    with clock.frozen(NOW), pytest.raises(Rejected) as refused:
        await services.record_counter_payment(
            actor,
            family_id=family.id,
            method=method,
            amount_cents=500,
            invoice_ids=[invoice.id],
            received_on=day,
        )
    assert refused.value.field == field
    assert await Payment.count() == 0 and await AuditLog.count() == 0


async def test_another_familys_invoice_leaves_nothing_behind():
    actor = await _regisseur()
    family = await make_family(code="F00001")
    other = await make_family(code="F00002", name="Diallo")
    ours = await make_invoice(family, 1000)
    theirs = await make_invoice(other, 1000)
    with clock.frozen(NOW), pytest.raises(Rejected, match="n’appartient pas à cette famille"):
        await services.record_counter_payment(
            actor,
            family_id=family.id,
            method="especes",
            amount_cents=2000,
            invoice_ids=[ours.id, theirs.id],
            received_on=NOW.date(),
        )
    assert await Payment.count() == 0 and await PaymentAllocation.count() == 0
    assert await AuditLog.count() == 0
    assert await _paid() == {ours.id: 0, theirs.id: 0}


async def test_the_export_holds_the_period_only_and_is_journalled():
    actor = await _regisseur()
    family = await make_family(code="F00001", name="Martin")
    first = await make_invoice(family, 1000, number="FAC-2026-000001")
    second = await make_invoice(family, 1000, number="FAC-2026-000002")
    with clock.frozen(NOW):
        for day, invoice, cents in (
            (dt.date(2026, 10, 31), first, 1000),
            (dt.date(2026, 11, 2), second, 1250),
        ):
            await services.record_counter_payment(
                actor,
                family_id=family.id,
                method="cheque",
                amount_cents=cents,
                invoice_ids=[invoice.id],
                received_on=day,
                reference=f"CHQ {cents}",
            )
        content = await services.export_payments(actor, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert content.startswith("\ufeffDate;Code famille;Famille;Mode;Montant (€)")
    lines = content.lstrip("\ufeff").strip().split("\r\n")
    assert len(lines) == 2
    assert lines[1].split(";") == [
        "02/11/2026",
        "F00001",
        "Martin",
        "Chèque",
        "12,50",
        "CHQ 1250",
        "FAC-2026-000002 (10,00)",
        "2,50",
        "",
        "Régisseur Test",
    ]
    entry = await AuditLog.select().where(AuditLog.action == "export_paiements").first()
    details = entry["details"]
    if isinstance(details, str):
        import json

        details = json.loads(details)
    assert details == {"du": "2026-11-01", "au": "2026-11-30", "lignes": 1}
