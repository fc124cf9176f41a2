"""A child present without a booking, recorded by staff: one row under concurrency, the audit
line, and the month's billing charging the day with the majoration."""

from __future__ import annotations

import asyncio
import datetime as dt

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.auth.principal import Principal
from ecp.booking import services
from ecp.booking.tables import Attendance
from ecp.commune.tables import Tariff, TariffBracket
from ecp.invoices.billing import run_billing
from ecp.invoices.tables import BillingRun, Invoice, InvoiceLine
from tests import booking_factories as bf
from tests import factories

NOON = dt.datetime(2026, 12, 7, 12, 0, tzinfo=clock.PARIS)


async def setup():
    clock.set_now(bf.NOW)
    commune = await bf.make_commune(capacity=10)
    family, (lea, hugo) = await bf.make_family_with_children(commune)
    cantine = commune.activities["restauration"].id
    await services.book(lea.id, cantine, bf.MONDAY, family_id=family.id)
    clock.set_now(NOON)
    staff = await factories.make_staff(role="agent")
    agent = Principal(
        kind="staff", session_id=1, name="Agent Test", staff_id=staff.id, role="agent"
    )
    return commune, family, lea, hugo, cantine, agent


async def test_two_agents_adding_the_same_child_at_once_give_one_row():
    commune, family, lea, hugo, cantine, agent = await setup()
    results = await asyncio.gather(
        *(
            services.record_unbooked_presence(
                agent,
                child_id=hugo.id,
                activity_id=cantine,
                school_id=commune.school.id,
                day=bf.MONDAY,
            )
            for _ in range(5)
        ),
        return_exceptions=True,
    )
    assert all(isinstance(r, services.UnbookedOutcome) for r in results), results
    assert sum(r.created for r in results) == 1
    assert await Attendance.count() == 1
    assert await AuditLog.count().where(AuditLog.action == "attendance_unbooked_add") == 1


async def test_a_cancelled_booking_does_not_count_as_booked():
    commune, family, lea, hugo, cantine, agent = await setup()
    clock.set_now(bf.NOW)
    await services.cancel(lea.id, cantine, bf.MONDAY, family_id=family.id)
    clock.set_now(NOON)
    outcome = await services.record_unbooked_presence(
        agent, child_id=lea.id, activity_id=cantine, school_id=commune.school.id, day=bf.MONDAY
    )
    assert outcome.created and outcome.child_name == "Léa Martin"
    row = await Attendance.select().first()
    assert (row["child"], row["status"], row["marked_by"]) == (lea.id, "present", agent.staff_id)


async def test_an_inactive_child_or_an_inscription_of_another_year_is_refused():
    commune, family, lea, hugo, cantine, agent = await setup()
    clock.set_now(dt.datetime(2027, 9, 6, 12, 0, tzinfo=clock.PARIS))  # next school year
    try:
        await services.record_unbooked_presence(
            agent,
            child_id=hugo.id,
            activity_id=cantine,
            school_id=commune.school.id,
            day=dt.date(2027, 9, 6),
        )
    except services.UnbookedRefused as exc:
        assert "inscription validée" in exc.message
    else:
        raise AssertionError("accepted without an inscription for that year")
    assert await Attendance.count() == 0


async def test_billing_the_month_charges_the_majoration_for_that_day(settings):
    commune, family, lea, hugo, cantine, agent = await setup()
    bracket = TariffBracket(label="Tranche unique", qf_min=0, qf_max=None, sort_order=0)
    await bracket.save()
    await Tariff(
        activity=cantine,
        bracket=bracket.id,
        price_cents=210,
        majoration_cents=300,
        valid_from=dt.date(2026, 9, 1),
    ).save()
    await services.record_unbooked_presence(
        agent, child_id=hugo.id, activity_id=cantine, school_id=commune.school.id, day=bf.MONDAY
    )

    result = await run_billing(
        dt.date(2026, 12, 1),
        settings=settings,
        issued_at=dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC),
    )

    assert result["invoices_created"] == 1
    invoice = await Invoice.select().where(Invoice.family == family.id).first()
    lines = (
        await InvoiceLine.select(
            InvoiceLine.child, InvoiceLine.kind, InvoiceLine.days, InvoiceLine.amount_cents
        )
        .where(InvoiceLine.invoice == invoice["id"])
        .order_by(InvoiceLine.child)
    )
    assert {(ln["child"], ln["kind"], ln["days"], ln["amount_cents"]) for ln in lines} == {
        (lea.id, "prestation", "2026-12-07", 210),
        (hugo.id, "majoration", "2026-12-07", 510),
    }
    assert invoice["total_cents"] == 720
    run = await BillingRun.select().output(load_json=True).first()
    assert [(a["kind"], a["child"], a["day"]) for a in run["anomalies"]] == [
        ("present_sans_reservation", "Hugo Martin", "2026-12-07")
    ]
