"""The dashboard's numbers on the database (both engines): today per school and activity
against the places, what waits, what is unpaid, and the charts' series (occupancy per school
and week with holidays closed, bookings against presence per week, invoiced against collected
per month with months in Paris time)."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp import clock
from ecp.backoffice import dashboard_queries
from ecp.booking.tables import Attendance, Booking, Inscription
from ecp.families.tables import ContactChangeRequest
from ecp.invoices.tables import Invoice
from ecp.payments.tables import Payment
from tests import factories
from tests.booking_factories import make_commune

TUESDAY = dt.date(2026, 12, 1)


@pytest.fixture(autouse=True)
def tuesday():
    with clock.frozen(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)):
        yield


async def _book(child, activity, school, day, state="reservee"):
    await Booking(
        child=child.id,
        activity=activity.id,
        school=school.id,
        day=day,
        state=state,
        created_at=clock.now(),
        updated_at=clock.now(),
    ).save()


async def _invoice(family, month, total, paid, due_on, kind="facture", number=None):
    await Invoice(
        number=number or f"F{family.code[1:]}-{month:%Y%m}",
        kind=kind,
        family=family.id,
        month=month,
        issued_at=clock.now(),
        due_on=due_on,
        total_cents=total,
        paid_cents=paid,
    ).save()


async def test_todays_numbers_and_what_waits():
    commune = await make_commune(capacity=20)
    await factories.make_school("École Pasteur")
    family = await factories.make_family("F00001")
    other = await factories.make_family("F00002", name="Diallo")
    lea = await factories.make_child(family, "Léa", school=commune.school)
    hugo = await factories.make_child(family, "Hugo", school=commune.school)
    cantine = commune.activities["restauration"]
    await _book(lea, cantine, commune.school, TUESDAY)
    await _book(hugo, cantine, commune.school, TUESDAY)
    await _book(hugo, commune.activities["garderie_soir"], commune.school, TUESDAY, "annulee")
    await Inscription(
        child=lea.id,
        activity=cantine.id,
        school_year=commune.year.id,
        requested_at=clock.now(),
    ).save()
    await ContactChangeRequest(family=family.id, changes={}, submitted_at=clock.now()).save()
    nov, oct_ = dt.date(2026, 11, 1), dt.date(2026, 10, 1)
    await _invoice(family, nov, 5000, 1000, dt.date(2026, 11, 30))  # late
    await _invoice(other, nov, 3000, 0, dt.date(2026, 12, 15))
    await _invoice(other, oct_, 2000, 2000, dt.date(2026, 11, 15))  # paid
    await _invoice(family, nov, -500, 0, dt.date(2026, 11, 30), kind="avoir", number="AV-1")

    data = await dashboard_queries.dashboard()
    f = data.figures
    assert (f["families"], f["children"], f["bookings_today"]) == (2, 2, 2)
    assert (f["inscriptions_waiting"], f["requests_waiting"]) == (1, 1)
    assert (f["unpaid_cents"], f["unpaid_count"], f["overdue_count"]) == (7000, 2, 1)
    # Both schools: the activities' default places hold where a school has none of its own.
    assert [s.name for s in data.schools_today] == ["École Jules-Ferry", "École Pasteur"]
    school, pasteur = data.schools_today
    assert school.booked == 2 and pasteur.booked == 0
    by_label = {a.label: a for a in school.activities}
    # Tuesday: the three weekday activities run, the Wednesday one does not.
    assert set(by_label) == {
        "Restauration scolaire",
        "Garderie du soir",
        "Accueil de loisirs du soir",
    }
    cantine_today = by_label["Restauration scolaire"]
    assert (cantine_today.booked, cantine_today.capacity, cantine_today.rate) == (2, 20, 0.1)
    assert by_label["Garderie du soir"].booked == 0  # the cancelled booking does not count
    assert {a.capacity for a in pasteur.activities} == {20}


async def test_occupancy_per_school_and_week_closes_the_holidays():
    commune = await make_commune(capacity=20, mercredi_capacity=10)
    family = await factories.make_family("F00001")
    lea = await factories.make_child(family, "Léa", school=commune.school)
    cantine = commune.activities["restauration"]
    for day in (dt.date(2026, 11, 30), TUESDAY, dt.date(2026, 12, 3), dt.date(2026, 12, 8)):
        await _book(lea, cantine, commune.school, day)
    data = await dashboard_queries.dashboard()
    assert data.weeks_ahead[0] == dt.date(2026, 11, 30) and len(data.weeks_ahead) == 6
    row = next(s for s in data.occupancy if s["school_id"] == commune.school.id)
    first, second, _, christmas, *_ = row["cells"]
    # 4 weekdays x 3 activities x 20 places + 1 Wednesday x 10.
    assert (first["booked"], first["places"]) == (3, 250)
    assert first["rate"] == 3 / 250 and second["booked"] == 1
    assert christmas == {"booked": 0, "places": 0, "rate": None}  # 21-25 December: holidays


async def test_bookings_against_presence_and_money_per_month():
    commune = await make_commune()
    family = await factories.make_family("F00001")
    lea = await factories.make_child(family, "Léa", school=commune.school)
    hugo = await factories.make_child(family, "Hugo", school=commune.school)
    cantine = commune.activities["restauration"]
    tuesday_before = dt.date(2026, 11, 24)
    await _book(lea, cantine, commune.school, tuesday_before)
    await _book(hugo, cantine, commune.school, tuesday_before)
    for child, status in ((lea, "present"), (hugo, "absent")):
        await Attendance(
            child=child.id,
            activity=cantine.id,
            school=commune.school.id,
            day=tuesday_before,
            status=status,
            marked_at=clock.now(),
        ).save()
    await _invoice(family, dt.date(2026, 11, 1), 4200, 0, dt.date(2026, 12, 30))
    await _invoice(family, dt.date(2026, 11, 1), -200, 0, dt.date(2026, 12, 30), "avoir", "AV-1")
    for amount, at in (
        (2000, dt.datetime(2026, 11, 15, 10, 0, tzinfo=dt.UTC)),
        # 23:30 UTC on the 30th is 00:30 on 1 December in Paris: December's.
        (1000, dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)),
        (700, dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC)),  # before the six months shown
    ):
        await Payment(family=family.id, method="cheque", amount_cents=amount, received_at=at).save()
    data = await dashboard_queries.dashboard()
    weeks = {w["week"]: w for w in data.weekly}
    assert len(data.weekly) == 8 and data.weekly[-1]["week"] == dt.date(2026, 11, 30)
    assert (weeks[dt.date(2026, 11, 23)]["booked"], weeks[dt.date(2026, 11, 23)]["present"]) == (
        2,
        1,
    )
    months = {m["month"]: m for m in data.monthly}
    assert [m["month"] for m in data.monthly][0] == dt.date(2026, 7, 1)
    assert months[dt.date(2026, 11, 1)]["invoiced_cents"] == 4000
    assert months[dt.date(2026, 11, 1)]["collected_cents"] == 2000
    assert months[dt.date(2026, 12, 1)]["collected_cents"] == 1000
    assert months[dt.date(2026, 12, 1)]["label"] == "décembre 2026"
    assert sum(m["collected_cents"] for m in data.monthly) == 3000


async def test_an_empty_commune_has_a_dashboard():
    data = await dashboard_queries.dashboard()
    assert data.figures["families"] == 0 and data.schools_today == []
    assert data.occupancy == [] and all(w["booked"] == 0 for w in data.weekly)
    assert all(m["collected_cents"] == 0 for m in data.monthly)
