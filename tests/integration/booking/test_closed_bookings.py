"""Bookings a closure cancelled (state « fermee »): the calendar shows the day closed while the
closure stands and free once it is gone, the ICS feed cancels their events, billing never
charges them (a child present after the closure was removed is a presence without booking),
and nobody books the closed day, family or staff."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp.backoffice import settings_services
from ecp.booking import calendar as cal
from ecp.booking import services, views
from ecp.commune.tables import Closure
from ecp.invoices import pricing
from tests import booking_factories as bf
from tests import factories
from tests.conftest import default_settings
from tests.integration.backoffice.closure_commune import (
    MONDAY,
    admin_principal,
    make_closure_commune,
)

ACTIVITY = cal.ActivityInfo(
    id=1,
    code="restauration",
    label="Restauration scolaire",
    short_label="Cantine",
    weekdays=frozenset({1, 2, 4, 5}),
    eligible_levels=frozenset(),
    group_code="",
    deadline_rule="working_days",
    starts_at=dt.time(11, 30),
    ends_at=dt.time(13, 30),
)


def rules(*closures: cal.ClosureSpec) -> cal.Rules:
    return cal.Rules(dt.date(2026, 9, 1), dt.date(2027, 7, 3), closures=tuple(closures))


def cell(state: str | None, closures=()) -> cal.Cell:
    return cal.cell_state(
        day=MONDAY,
        activity=ACTIVITY,
        level="CE1",
        school_id=7,
        inscribed=True,
        booking_state=state,
        booked=3,
        capacity=0,
        rules=rules(*closures),
        now=bf.NOW,
    )


def test_a_closed_booking_shows_the_closure_then_a_free_day():
    strike = cal.ClosureSpec(MONDAY, MONDAY, 7, None, "Grève")
    closed = cell("fermee", [strike])
    assert (closed.state, closed.label, closed.reason, closed.action) == (
        "ferme",
        "fermé",
        "Grève",
        None,
    )
    reopened = cell("fermee")
    assert (reopened.state, reopened.action) == ("libre", "reserver")  # nothing rebooked
    assert cal.BOOKING_STATES["fermee"] == "fermé" and "fermee" not in cal.STANDING


def test_billing_never_charges_a_closed_booking():
    closure = pricing.ClosureRow(MONDAY, MONDAY, 7, None)
    tariffs = pricing.TariffBook([pricing.TariffRow(1, None, 350, 150, dt.date(2026, 9, 1))])
    booked = pricing.Day(10, 1, 7, MONDAY, "fermee")
    present = pricing.Day(10, 1, 7, MONDAY, "present")
    bill = pricing.bill_family(
        month=MONDAY,
        bracket_id=None,
        bookings=[booked],
        attendances=[],
        closures=[closure],
        tariffs=tariffs,
    )
    assert bill.lines == [] and bill.anomalies == []
    # The closure removed, nothing rebooked: a closed booking alone bills nothing either...
    alone = pricing.bill_family(
        month=MONDAY,
        bracket_id=None,
        bookings=[booked],
        attendances=[],
        closures=[],
        tariffs=tariffs,
    )
    assert alone.lines == []
    # ... and a child who came anyway is present without a booking (the majoration, flagged).
    came = pricing.bill_family(
        month=MONDAY,
        bracket_id=None,
        bookings=[booked],
        attendances=[present],
        closures=[],
        tariffs=tariffs,
    )
    assert [(ln.kind, ln.unit_price_cents) for ln in came.lines] == [("majoration", 500)]
    assert [a.kind for a in came.anomalies] == ["present_sans_reservation"]


def test_the_calendar_feed_cancels_a_closed_day():
    rows = [
        {
            "id": 1,
            "day": MONDAY,
            "state": "fermee",
            "updated_at": bf.NOW,
            "child": "Léa",
            "label": "Restauration scolaire",
            "starts_at": dt.time(11, 30),
            "ends_at": dt.time(13, 30),
            "school": "École Jules-Ferry",
        }
    ]
    ics = views.ics_calendar(rows, "Martin").decode()
    assert "SUMMARY:Restauration scolaire – Léa (fermé)" in ics
    assert "STATUS:CANCELLED" in ics


async def test_nobody_books_a_closed_day_and_the_family_books_again_once_it_is_gone():
    c = await make_closure_commune()
    admin = admin_principal(await factories.make_staff("admin"))
    cantine = c.activity("restauration")
    done = await settings_services.add_closure(
        admin,
        starts_on=MONDAY,
        ends_on=MONDAY,
        reason="Grève",
        school_id=c.commune.school.id,
        confirmed=True,
        settings=default_settings(),
    )
    for actor, family_id in ((None, c.martin.id), (admin, None)):
        with pytest.raises(services.Closed):
            await services.book(c.lea.id, cantine, MONDAY, family_id=family_id, actor=actor)
    with pytest.raises(services.NothingToDo):
        await services.cancel(c.lea.id, cantine, MONDAY, family_id=c.martin.id)
    await settings_services.delete_closure(admin, done.closure_id, confirmed=True)
    assert await Closure.count() == 0
    outcome = await services.book(c.lea.id, cantine, MONDAY, family_id=c.martin.id)
    assert outcome.state == "reservee" and outcome.booked == 1
    rows = await bf.booking_rows(c.lea.id)
    assert [r["state"] for r in rows if r["day"] == MONDAY and r["activity"] == cantine] == [
        "reservee"
    ]
