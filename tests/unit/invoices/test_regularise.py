"""The régularisations' arithmetic (pricing.regularise) on hand-computed cases: the month computed
again against what its invoices and credit notes bill, day by day."""

from __future__ import annotations

import datetime as dt

from ecp.invoices.pricing import (
    Adjustment,
    BilledLine,
    ClosureRow,
    Day,
    TariffBook,
    TariffRow,
    bill_family,
    net_billed,
    regularise,
)

D = dt.date
NOV = D(2026, 11, 1)
CANTINE, GARDERIE = 1, 2
LEA = 100
SCHOOL = 7
BRACKET = 10
TARIFFS = TariffBook(
    [
        TariffRow(CANTINE, BRACKET, 210, 300, D(2026, 9, 1)),
        TariffRow(GARDERIE, BRACKET, 90, 200, D(2026, 9, 1)),
    ]
)


def book(day, state="reservee", activity=CANTINE):
    return Day(LEA, activity, SCHOOL, D(2026, 11, day), state)


def mark(day, status="present", activity=CANTINE):
    return Day(LEA, activity, SCHOOL, D(2026, 11, day), status)


def days(*numbers):
    return tuple(D(2026, 11, n) for n in numbers)


def diff(bookings, marks=(), billed=(), closures=(), billable=None):
    expected = bill_family(
        month=NOV,
        bracket_id=BRACKET,
        bookings=list(bookings),
        attendances=list(marks),
        closures=list(closures),
        tariffs=TARIFFS,
        billable_activities=billable,
    )
    return regularise(
        expected=expected,
        billed=list(billed),
        bookings=list(bookings),
        attendances=list(marks),
        closures=list(closures),
        billable_activities=billable,
    )


BILLED = BilledLine(1, LEA, CANTINE, "prestation", 210, days(2, 3, 5))


def test_nothing_changed_nothing_to_do():
    assert diff([book(2), book(3), book(5)], billed=[BILLED]) == []


def test_each_day_no_longer_due_is_credited_at_its_billed_price_with_its_cause():
    bookings = [book(2, "annulee"), book(3, "malade"), book(5, "fermee")]
    assert diff(bookings, billed=[BILLED]) == [
        Adjustment(LEA, CANTINE, D(2026, 11, 2), "prestation", -210, "annulation", 1),
        Adjustment(LEA, CANTINE, D(2026, 11, 3), "prestation", -210, "maladie", 1),
        Adjustment(LEA, CANTINE, D(2026, 11, 5), "prestation", -210, "fermeture", 1),
    ]
    # Any other state that is not billed is a régularisation too.
    [other] = diff([book(2), book(3), book(5, "reportee")], billed=[BILLED])
    assert (other.day, other.cause) == (D(2026, 11, 5), "non_facturable")


def test_a_closure_or_an_activity_no_longer_billed_is_credited():
    closure = ClosureRow(D(2026, 11, 3), D(2026, 11, 3), None, CANTINE)
    [closed] = diff([book(2), book(3), book(5)], billed=[BILLED], closures=[closure])
    assert (closed.day, closed.amount_cents, closed.cause) == (D(2026, 11, 3), -210, "fermeture")
    free = diff([book(2), book(3), book(5)], billed=[BILLED], billable=set())
    assert {a.cause for a in free} == {"activite_non_facturee"} and len(free) == 3


def test_a_price_change_alone_is_no_regularisation():
    dearer = BilledLine(1, LEA, CANTINE, "prestation", 199, days(2, 3, 5))
    assert diff([book(2), book(3), book(5)], billed=[dearer]) == []


def test_what_is_due_and_not_billed_is_billed_with_its_cause():
    added = diff(
        [book(2), book(3), book(5), book(6), book(9, "malade")],
        marks=[mark(9), mark(10)],
        billed=[BILLED],
    )
    assert added == [
        Adjustment(LEA, CANTINE, D(2026, 11, 6), "prestation", 210, "reservation"),
        Adjustment(LEA, CANTINE, D(2026, 11, 9), "prestation", 210, "presence_pointee"),
        Adjustment(LEA, CANTINE, D(2026, 11, 10), "majoration", 510, "presence_pointee"),
    ]


def test_a_corrected_pointage_swaps_the_majoration_for_the_booking():
    billed = [BilledLine(2, LEA, CANTINE, "majoration", 510, days(16))]
    # The child was marked present without a booking; the booking was there after all.
    assert diff([book(16)], marks=[mark(16)], billed=billed) == [
        Adjustment(LEA, CANTINE, D(2026, 11, 16), "majoration", -510, "pointage_corrige", 2),
        Adjustment(LEA, CANTINE, D(2026, 11, 16), "prestation", 210, "reservation"),
    ]


def test_credit_notes_count_and_those_issued_by_hand_are_not_billed_again():
    credited = BilledLine(9, LEA, CANTINE, "avoir", -210, days(3), credits_line=1)
    standing, waived = net_billed([BILLED, credited])
    assert [k[2] for k, v in standing.items() if v] == [D(2026, 11, 2), D(2026, 11, 5)]
    # Credited by a régularisation: due again once the booking stands again.
    assert diff([book(2), book(3), book(5)], billed=[BILLED, credited]) == [
        Adjustment(LEA, CANTINE, D(2026, 11, 3), "prestation", 210, "reservation")
    ]
    assert diff([book(2), book(3, "annulee"), book(5)], billed=[BILLED, credited]) == []
    # Credited by hand (a school trip): not due, whatever the booking says.
    waiver = BilledLine(9, LEA, CANTINE, "avoir", -210, days(3), credits_line=1, waiver=True)
    assert waived == set() and net_billed([BILLED, waiver])[1] == {(LEA, CANTINE, D(2026, 11, 3))}
    assert diff([book(2), book(3), book(5)], billed=[BILLED, waiver]) == []


def test_a_day_billed_twice_is_credited_once():
    twice = [BILLED, BilledLine(3, LEA, CANTINE, "prestation", 210, days(5))]
    assert diff([book(2), book(3), book(5)], billed=twice) == [
        Adjustment(LEA, CANTINE, D(2026, 11, 5), "prestation", -210, "correction", 3)
    ]
