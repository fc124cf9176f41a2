"""Régularisations against the database (both engines): a billed month changed by staff
afterwards — a late cancellation accepted, a closure, a booking made non-billable, a corrected
pointage — gives one credit note per day billed too much and one additional invoice for what was
not billed, numbered without gaps, each line traced to its day and cause; the family's balance
stays the sum of its documents; a second run issues nothing."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.auth.principal import Principal
from ecp.booking import services as booking
from ecp.booking.tables import Booking
from ecp.commune.tables import Closure
from ecp.errors import Rejected
from ecp.invoices import queries, regularisations
from ecp.invoices.billing import run_billing
from ecp.invoices.tables import CreditAllocation, Invoice, InvoiceCounter, InvoiceLine
from ecp.mail.tables import OutboxEmail
from ecp.payments.allocation import record_payment
from tests import factories
from tests.invoices_cleanup import delete_credit_notes_first  # noqa: F401
from tests.invoices_factories import NOV, book_days, make_billed_family, make_commune, mark

D = dt.date
BILLED_AT = dt.datetime(2026, 12, 1, 8, 0, tzinfo=clock.PARIS)
LATER = dt.datetime(2026, 12, 3, 10, 0, tzinfo=clock.PARIS)


def _actor(staff) -> Principal:
    return Principal(kind="staff", session_id=1, name="Régie", staff_id=staff.id, role="regisseur")


async def _billed_martin(settings, **family):
    """Léa, canteen at 2,10 €: booked 2, 3, 5, 6, 9, 10 November, ill on the 12th (not billed),
    present without a booking on the 16th (2,10 € + 3 € majoration): 17,70 €, billed on
    1 December."""
    clock.set_now(BILLED_AT)
    commune = await make_commune()
    martin, lea = await make_billed_family(
        commune, code="F00001", days=(2, 3, 5, 6, 9, 10), **family
    )
    await book_days(lea, commune, [D(2026, 11, 12)], state="malade")
    await mark(lea, commune, D(2026, 11, 16), "present")
    await run_billing(NOV, settings=settings)
    invoice = await Invoice.select().where(Invoice.family == martin.id).first()
    assert invoice["total_cents"] == 6 * 210 + 510
    return commune, martin, lea, invoice


async def _change_november(commune, lea, actor):
    """What staff change after the billing, on 3 December."""
    clock.set_now(LATER)
    canteen = commune["canteen"].id
    # A late cancellation, accepted by the service (past the family's deadline).
    await booking.cancel(lea.id, canteen, D(2026, 11, 3), actor=actor)
    # A closure of the 5th, and the 6th made non-billable (the closed state of a booking).
    await Closure(starts_on=D(2026, 11, 5), ends_on=D(2026, 11, 5), reason="Grève").save()
    await Booking.update({Booking.state: "fermee"}).where(
        (Booking.child == lea.id) & (Booking.day == D(2026, 11, 6))
    )
    # Corrected pointage: present on the 12th after all (declared ill: now billed), and not
    # present on the 16th (the majoration goes).
    school = commune["school"].id
    await booking.record_pointage(
        actor,
        day=D(2026, 11, 12),
        activity_id=canteen,
        school_id=school,
        marks=[(lea.id, "present")],
    )
    await booking.record_pointage(
        actor,
        day=D(2026, 11, 16),
        activity_id=canteen,
        school_id=school,
        marks=[(lea.id, "absent")],
    )


async def _balance(family_id: int) -> tuple[int, int]:
    """(what the family page says it owes net of its credits, the sum of its documents less
    its payments plus its refunds)."""
    page = await queries.family_invoices_page(family_id)
    rows = await Invoice.select().where(Invoice.family == family_id)
    from ecp.invoices.tables import CreditRefund
    from ecp.payments.tables import Payment

    paid = sum(p["amount_cents"] for p in await Payment.select().where(Payment.family == family_id))
    refunded = sum(
        r["amount_cents"]
        for r in await CreditRefund.select().where(
            CreditRefund.credit.is_in([r["id"] for r in rows] or [-1])
        )
    )
    return page["totals"]["balance_cents"], sum(r["total_cents"] for r in rows) - paid + refunded


async def test_the_correction_run_credits_each_day_and_bills_the_rest_once(settings):
    commune, martin, lea, invoice = await _billed_martin(settings)
    actor = _actor(await factories.make_staff(role="regisseur"))
    await _change_november(commune, lea, actor)

    page = await queries.regularisations_page(NOV)
    [family] = page["families"]
    assert [(r["day"], r["cause"], r["amount_cents"]) for r in family.rows] == [
        (D(2026, 11, 3), "annulation", -210),
        (D(2026, 11, 5), "fermeture", -210),
        (D(2026, 11, 6), "fermeture", -210),
        (D(2026, 11, 12), "presence_pointee", 210),
        (D(2026, 11, 16), "pointage_corrige", -510),
    ]
    assert (page["credit_cents"], page["bill_cents"]) == (1140, 210)

    result = await regularisations.run_corrections(actor, NOV, settings)
    year = clock.today().year
    assert result == {
        "credit_notes": [f"AV-{year}-{n:06d}" for n in range(1, 5)],
        "invoices": [f"FAC-{year}-000002"],
        "families": 1,
    }
    credits = await Invoice.select().where(Invoice.kind == "avoir").order_by(Invoice.id)
    assert [(c["total_cents"], c["corrects"], c["origin"]) for c in credits] == [
        (-210, invoice["id"], "regularisation"),
        (-210, invoice["id"], "regularisation"),
        (-210, invoice["id"], "regularisation"),
        (-510, invoice["id"], "regularisation"),
    ]
    assert credits[0]["note"] == "Régularisation du mardi 3 novembre\u00a0: " + (
        "annulation acceptée après la facturation"
    )
    # Each credit line names the day, the line it cancels and why.
    lines = await InvoiceLine.select().where(InvoiceLine.invoice.is_in([c["id"] for c in credits]))
    original = {
        ln["kind"]: ln["id"]
        for ln in await InvoiceLine.select().where(InvoiceLine.invoice == invoice["id"])
    }
    assert sorted(
        (ln["days"], ln["cause"], ln["credits_line"], ln["amount_cents"]) for ln in lines
    ) == [
        ("2026-11-03", "annulation", original["prestation"], -210),
        ("2026-11-05", "fermeture", original["prestation"], -210),
        ("2026-11-06", "fermeture", original["prestation"], -210),
        ("2026-11-16", "pointage_corrige", original["majoration"], -510),
    ]
    extra = (
        await Invoice.select()
        .where((Invoice.kind == "facture") & (Invoice.corrects == invoice["id"]))
        .first()
    )
    assert extra["number"] == f"FAC-{year}-000002" and extra["origin"] == "regularisation"
    assert extra["total_cents"] == 210 and extra["month"] == NOV
    [extra_line] = await InvoiceLine.select().where(InvoiceLine.invoice == extra["id"])
    assert (extra_line["days"], extra_line["cause"], extra_line["kind"]) == (
        "2026-11-12",
        "presence_pointee",
        "prestation",
    )
    # The credits settle the invoice they correct; the family owes the rest and the extra.
    after = await Invoice.select().where(Invoice.id == invoice["id"]).first()
    assert (after["total_cents"], after["paid_cents"]) == (1770, 1140)
    assert await CreditAllocation.count() == 4
    owed, documents = await _balance(martin.id)
    assert owed == documents == 1770 - 1140 + 210
    # Gapless counters, both kinds.
    counters = {r["kind"]: r["last_number"] for r in await InvoiceCounter.select()}
    assert counters == {"FAC": 2, "AV": 4}
    # Journalled: the run, the family's documents and each credit set against an invoice.
    actions = [r["action"] for r in await AuditLog.select(AuditLog.action)]
    assert actions.count("regularisation_lancee") == 1
    assert actions.count("regularisation_emise") == 1
    assert actions.count("avoir_impute") == 4

    # Nothing left: a second run issues nothing, numbers do not move.
    assert (await queries.regularisations_page(NOV))["families"] == []
    again = await regularisations.run_corrections(actor, NOV, settings)
    assert again == {"credit_notes": [], "invoices": [], "families": 0}
    assert await Invoice.count() == 6
    assert {r["kind"]: r["last_number"] for r in await InvoiceCounter.select()} == counters


async def test_two_correction_runs_at_once_issue_the_documents_once(settings):
    commune, _, lea, _ = await _billed_martin(settings)
    actor = _actor(await factories.make_staff(role="regisseur"))
    await _change_november(commune, lea, actor)
    results = await asyncio.gather(
        *(regularisations.run_corrections(actor, NOV, settings) for _ in range(3))
    )
    assert sorted(len(r["credit_notes"]) for r in results) == [0, 0, 4]
    numbers = sorted(r["number"] for r in await Invoice.select(Invoice.number))
    year = clock.today().year
    assert numbers == [f"AV-{year}-{n:06d}" for n in range(1, 5)] + [
        f"FAC-{year}-{n:06d}" for n in (1, 2)
    ]


async def test_a_credit_note_issued_by_hand_is_not_billed_again(settings):
    """A day credited by the régisseur (a school trip) is not due: the régularisation leaves
    it; a day the correction run credited comes back if staff book it again."""
    commune, martin, lea, invoice = await _billed_martin(settings)
    actor = _actor(await factories.make_staff(role="regisseur"))
    from ecp.invoices.credit_notes import issue_credit_note

    line = (
        await InvoiceLine.select()
        .where((InvoiceLine.invoice == invoice["id"]) & (InvoiceLine.kind == "prestation"))
        .first()
    )
    await issue_credit_note(
        invoice_id=invoice["id"],
        line_ids=[],
        days={line["id"]: [D(2026, 11, 9)]},
        cause="sortie_scolaire",
        reason="",
        actor=actor,
    )
    clock.set_now(LATER)
    assert (await queries.regularisations_page(NOV))["families"] == []
    await booking.cancel(lea.id, commune["canteen"].id, D(2026, 11, 10), actor=actor)
    await regularisations.run_corrections(actor, NOV, settings)
    # Booked again by the service (as its week page does), after the correction run.
    await Booking.update({Booking.state: "reservee"}).where(
        (Booking.child == lea.id) & (Booking.day == D(2026, 11, 10))
    )
    [family] = (await queries.regularisations_page(NOV))["families"]
    assert [(r["day"], r["cause"], r["amount_cents"]) for r in family.rows] == [
        (D(2026, 11, 10), "reservation", 210)
    ]


async def test_a_family_first_billed_by_a_regularisation_gets_its_first_invoice(settings):
    commune, _, _, _ = await _billed_martin(settings)
    actor = _actor(await factories.make_staff(role="regisseur"))
    clock.set_now(LATER)
    # Hugo had nothing in November; staff add him as present without a booking afterwards.
    diallo = await factories.make_family("F00002", name="Diallo", quotient_familial=300)
    hugo = await factories.make_child(diallo, "Hugo", school=commune["school"])
    await mark(hugo, commune, D(2026, 11, 20), "present")
    result = await regularisations.run_corrections(actor, NOV, settings)
    assert result["credit_notes"] == [] and len(result["invoices"]) == 1
    first = await Invoice.select().where(Invoice.family == diallo.id).first()
    assert first["corrects"] is None and first["total_cents"] == 120 + 300
    assert first["origin"] == "regularisation"
    # The billing run of the month, run again, sees the family billed.
    assert (await run_billing(NOV, settings=settings))["invoices_created"] == 0


async def test_paperless_families_hear_of_each_document(settings):
    commune, martin, lea, _ = await _billed_martin(
        settings, paperless=True, email="claire.martin@example.org"
    )
    await OutboxEmail.delete(force=True)
    actor = _actor(await factories.make_staff(role="regisseur"))
    await _change_november(commune, lea, actor)
    # The agent's changes are e-mailed as they are made (one message each); what the
    # correction run adds is one message per document.
    before = {m["id"] for m in await OutboxEmail.select(OutboxEmail.id)}
    await regularisations.run_corrections(actor, NOV, settings)
    kinds = sorted(
        m["kind"]
        for m in await OutboxEmail.select(OutboxEmail.id, OutboxEmail.kind)
        if m["id"] not in before
    )
    assert kinds == ["avoir"] * 4 + ["facture"]


async def test_only_a_billed_month_is_regularised():
    actor = _actor(await factories.make_staff(role="regisseur"))
    with pytest.raises(Rejected) as refused:
        await regularisations.run_corrections(actor, NOV)
    assert refused.value.field == "mois" and "n’est pas facturé" in refused.value.message
    from ecp.invoices.billing import open_period

    await open_period(NOV)  # a run started, not finished
    with pytest.raises(Rejected) as refused:
        await regularisations.run_corrections(actor, NOV)
    assert "est en cours" in refused.value.message
    assert await Invoice.count() == 0


async def test_a_paid_invoice_credit_waits_for_the_next_invoice_or_a_refund(settings):
    commune, martin, lea, invoice = await _billed_martin(settings)
    actor = _actor(await factories.make_staff(role="regisseur"))
    await record_payment(
        family_id=martin.id, method="especes", amount_cents=1770, invoice_ids=[invoice["id"]]
    )
    clock.set_now(LATER)
    await booking.cancel(lea.id, commune["canteen"].id, D(2026, 11, 3), actor=actor)
    await regularisations.run_corrections(actor, NOV, settings)
    credit = await Invoice.select().where(Invoice.kind == "avoir").first()
    assert credit["paid_cents"] == 0  # nothing due: held for the family
    page = await queries.family_invoices_page(martin.id)
    assert page["totals"]["credit_cents"] == 210 and page["totals"]["balance_cents"] == -210
    # December is billed: the credit settles the new invoice at once.
    await book_days(lea, commune, [D(2026, 12, 7), D(2026, 12, 8)])
    clock.set_now(dt.datetime(2027, 1, 4, 8, 0, tzinfo=clock.PARIS))
    await run_billing(D(2026, 12, 1), settings=settings)
    december = await Invoice.select().where(Invoice.month == D(2026, 12, 1)).first()
    assert (december["total_cents"], december["paid_cents"]) == (420, 210)
    credit = await Invoice.select().where(Invoice.id == credit["id"]).first()
    assert credit["paid_cents"] == -210
    owed, documents = await _balance(martin.id)
    assert owed == documents == 210
