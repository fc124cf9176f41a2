"""Billing arithmetic on hand-computed cases."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp.invoices.pricing import (
    Bracket,
    ClosureRow,
    Day,
    TariffBook,
    TariffRow,
    bill_family,
    bracket_for,
    month_bounds,
    parse_month,
)

D = dt.date
CANTINE, GARDERIE = 1, 2
A, B, C = 10, 11, 12
BRACKETS = [Bracket(A, 0, 500), Bracket(B, 501, 800), Bracket(C, 801, None)]
SCHOOL = 7
LEA, HUGO = 100, 101
NOV = D(2026, 11, 1)


def book(child, activity, day, state="reservee", school=SCHOOL):
    return Day(child, activity, school, day, state)


def tariffs(*extra):
    rows = [
        TariffRow(CANTINE, A, 120, 300, D(2026, 9, 1)),
        TariffRow(CANTINE, B, 210, 300, D(2026, 9, 1)),
        TariffRow(CANTINE, C, 305, 300, D(2026, 9, 1)),
        TariffRow(CANTINE, None, 620, 300, D(2026, 9, 1)),
        TariffRow(GARDERIE, B, 90, 200, D(2026, 9, 1)),
    ]
    return TariffBook(rows + list(extra))


@pytest.mark.parametrize(
    "qf, outside, expected",
    [
        (0, False, A),
        (500, False, A),
        (501, False, B),
        (800, False, B),
        (801, False, C),
        (99999, False, C),
        (None, False, C),
        (300, True, None),
        (None, True, None),
    ],
)
def test_bracket_is_chosen_by_quotient_familial_inclusive_bounds(qf, outside, expected):
    assert bracket_for(qf, outside, BRACKETS) == expected


def test_month_bounds_handle_february_and_december():
    assert month_bounds(D(2028, 2, 14)) == (D(2028, 2, 1), D(2028, 2, 29))
    assert month_bounds(D(2027, 2, 1)) == (D(2027, 2, 1), D(2027, 2, 28))
    assert month_bounds(D(2026, 12, 5)) == (D(2026, 12, 1), D(2026, 12, 31))
    assert parse_month("2026-11") == NOV
    for bad in ("2026-13", "11-2026", "2026/11", "", "2026-1"):
        with pytest.raises(ValueError):
            parse_month(bad)


def test_booked_days_at_the_bracket_price():
    bookings = [book(LEA, CANTINE, D(2026, 11, d)) for d in (2, 3, 5, 6)]
    bill = bill_family(
        month=NOV, bracket_id=B, bookings=bookings, attendances=[], closures=[], tariffs=tariffs()
    )
    assert len(bill.lines) == 1
    line = bill.lines[0]
    assert (line.kind, line.quantity, line.unit_price_cents, line.amount_cents) == (
        "prestation",
        4,
        210,
        840,
    )
    assert line.days == [D(2026, 11, 2), D(2026, 11, 3), D(2026, 11, 5), D(2026, 11, 6)]
    assert bill.total_cents == 840


def test_out_of_town_rate():
    bill = bill_family(
        month=NOV,
        bracket_id=None,
        bookings=[book(LEA, CANTINE, D(2026, 11, 2)), book(LEA, CANTINE, D(2026, 11, 3))],
        attendances=[],
        closures=[],
        tariffs=tariffs(),
    )
    assert bill.total_cents == 2 * 620


def test_ill_and_cancelled_days_are_not_billed():
    bookings = [
        book(LEA, CANTINE, D(2026, 11, 2)),
        book(LEA, CANTINE, D(2026, 11, 3), "malade"),
        book(LEA, CANTINE, D(2026, 11, 5), "annulee"),
    ]
    bill = bill_family(
        month=NOV, bracket_id=A, bookings=bookings, attendances=[], closures=[], tariffs=tariffs()
    )
    assert [ln.days for ln in bill.lines] == [[D(2026, 11, 2)]]
    assert bill.total_cents == 120


def test_commune_closures_are_not_billed_by_school_and_activity():
    bookings = [book(LEA, CANTINE, D(2026, 11, d)) for d in (2, 3, 5)] + [
        book(LEA, GARDERIE, D(2026, 11, 3)),
        book(HUGO, CANTINE, D(2026, 11, 5), school=8),
    ]
    closures = [
        ClosureRow(D(2026, 11, 3), D(2026, 11, 3)),  # the whole commune, every activity
        ClosureRow(D(2026, 11, 5), D(2026, 11, 5), school_id=SCHOOL, activity_id=CANTINE),
    ]
    bill = bill_family(
        month=NOV,
        bracket_id=B,
        bookings=bookings,
        attendances=[],
        closures=closures,
        tariffs=tariffs(),
    )
    by_child = {(ln.child_id, ln.activity_id): ln.days for ln in bill.lines}
    # Léa: only the 2nd (3rd closed everywhere, 5th closed at her school's canteen);
    # Hugo's other school is open on the 5th.
    assert by_child == {(LEA, CANTINE): [D(2026, 11, 2)], (HUGO, CANTINE): [D(2026, 11, 5)]}
    assert bill.total_cents == 210 + 210


def test_majoration_for_a_child_present_without_booking():
    bookings = [book(LEA, CANTINE, D(2026, 11, 2))]
    marks = [
        Day(LEA, CANTINE, SCHOOL, D(2026, 11, 2), "present"),
        Day(LEA, CANTINE, SCHOOL, D(2026, 11, 3), "present"),
        Day(HUGO, CANTINE, SCHOOL, D(2026, 11, 3), "absent"),
    ]
    bill = bill_family(
        month=NOV,
        bracket_id=B,
        bookings=bookings,
        attendances=marks,
        closures=[],
        tariffs=tariffs(),
    )
    lines = {(ln.kind, ln.unit_price_cents): ln.days for ln in bill.lines}
    assert lines == {("prestation", 210): [D(2026, 11, 2)], ("majoration", 510): [D(2026, 11, 3)]}
    assert bill.total_cents == 210 + 510
    assert [(a.kind, a.day) for a in bill.anomalies] == [
        ("present_sans_reservation", D(2026, 11, 3))
    ]


def test_booked_but_absent_is_billed_and_reported():
    bill = bill_family(
        month=NOV,
        bracket_id=B,
        bookings=[book(LEA, CANTINE, D(2026, 11, 2))],
        attendances=[Day(LEA, CANTINE, SCHOOL, D(2026, 11, 2), "absent")],
        closures=[],
        tariffs=tariffs(),
    )
    assert bill.total_cents == 210
    assert [a.kind for a in bill.anomalies] == ["reserve_absent"]


def test_only_days_of_the_month_are_billed():
    bookings = [
        book(LEA, CANTINE, D(2026, 10, 30)),
        book(LEA, CANTINE, D(2026, 11, 30)),
        book(LEA, CANTINE, D(2026, 12, 1)),
    ]
    marks = [
        Day(LEA, CANTINE, SCHOOL, D(2026, 12, 1), "present"),
        Day(LEA, CANTINE, SCHOOL, D(2026, 10, 29), "present"),
    ]
    bill = bill_family(
        month=NOV,
        bracket_id=A,
        bookings=bookings,
        attendances=marks,
        closures=[],
        tariffs=tariffs(),
    )
    assert [ln.days for ln in bill.lines] == [[D(2026, 11, 30)]]
    assert bill.total_cents == 120 and bill.anomalies == []


def test_tariff_change_mid_month_applies_from_its_date_only():
    change = TariffRow(CANTINE, B, 250, 300, D(2026, 11, 16))
    later = TariffRow(CANTINE, B, 999, 300, D(2026, 12, 1))
    bookings = [book(LEA, CANTINE, D(2026, 11, d)) for d in (12, 13, 16, 17)]
    bill = bill_family(
        month=NOV,
        bracket_id=B,
        bookings=bookings,
        attendances=[],
        closures=[],
        tariffs=tariffs(change, later),
    )
    assert [(ln.unit_price_cents, ln.days) for ln in bill.lines] == [
        (210, [D(2026, 11, 12), D(2026, 11, 13)]),
        (250, [D(2026, 11, 16), D(2026, 11, 17)]),
    ]
    assert bill.total_cents == 2 * 210 + 2 * 250


def test_a_day_without_tariff_is_not_billed_but_reported():
    bill = bill_family(
        month=NOV,
        bracket_id=A,
        bookings=[book(LEA, GARDERIE, D(2026, 11, 2))],
        attendances=[],
        closures=[],
        tariffs=tariffs(),
    )
    assert bill.lines == [] and [a.kind for a in bill.anomalies] == ["tarif_manquant"]


def test_non_billable_activity_is_ignored():
    bill = bill_family(
        month=NOV,
        bracket_id=B,
        bookings=[book(LEA, GARDERIE, D(2026, 11, 2))],
        attendances=[],
        closures=[],
        tariffs=tariffs(),
        billable_activities={CANTINE},
    )
    assert bill.lines == []


def test_several_children_and_activities_make_separate_lines():
    bookings = [
        book(LEA, CANTINE, D(2026, 11, 2)),
        book(LEA, GARDERIE, D(2026, 11, 2)),
        book(HUGO, CANTINE, D(2026, 11, 2)),
        book(HUGO, CANTINE, D(2026, 11, 3)),
    ]
    bill = bill_family(
        month=NOV, bracket_id=B, bookings=bookings, attendances=[], closures=[], tariffs=tariffs()
    )
    assert [(ln.child_id, ln.activity_id, ln.amount_cents) for ln in bill.lines] == [
        (LEA, CANTINE, 210),
        (LEA, GARDERIE, 90),
        (HUGO, CANTINE, 420),
    ]
    assert bill.total_cents == 720
