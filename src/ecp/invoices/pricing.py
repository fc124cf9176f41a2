"""The billing arithmetic of one family for one month (pure, no database).

Rules (docs/product.md "Rules"): each booked day is billed at the family's tariff (its quotient
familial bracket, or the out-of-town rate); a day declared ill ("malade") or closed by the commune
is not billed; a child present without a booking is billed the day's price plus the majoration.
The tariff of a day is the latest one whose `valid_from` is on or before that day, so a change
applies from its date and never to the days before it.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Bracket:
    id: int
    qf_min: int
    qf_max: int | None
    sort_order: int = 0


@dataclass(frozen=True)
class TariffRow:
    activity_id: int
    bracket_id: int | None  # None = the out-of-town rate
    price_cents: int
    majoration_cents: int
    valid_from: dt.date


@dataclass(frozen=True)
class ClosureRow:
    starts_on: dt.date
    ends_on: dt.date
    school_id: int | None = None  # None = every school
    activity_id: int | None = None  # None = every activity

    def covers(self, day: dt.date, school_id: int | None, activity_id: int) -> bool:
        return (
            self.starts_on <= day <= self.ends_on
            and (self.school_id is None or self.school_id == school_id)
            and (self.activity_id is None or self.activity_id == activity_id)
        )


@dataclass(frozen=True)
class Day:
    """A booking or a pointage mark: one child, one activity, one day."""

    child_id: int
    activity_id: int
    school_id: int | None
    day: dt.date
    state: str  # booking: reservee annulee malade fermee; attendance: present absent excuse


@dataclass
class Line:
    child_id: int
    activity_id: int
    kind: str  # prestation or majoration
    unit_price_cents: int
    days: list[dt.date] = field(default_factory=list)

    @property
    def quantity(self) -> int:
        return len(self.days)

    @property
    def amount_cents(self) -> int:
        return self.quantity * self.unit_price_cents


@dataclass(frozen=True)
class Anomaly:
    kind: str  # present_sans_reservation, reserve_absent, tarif_manquant
    child_id: int
    activity_id: int
    day: dt.date


@dataclass
class FamilyBill:
    lines: list[Line]
    anomalies: list[Anomaly]

    @property
    def total_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    first = month.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def parse_month(text: str) -> dt.date:
    """'2026-11' -> date(2026, 11, 1); ValueError otherwise (years 1 or 9999 too: billing
    computes the months around)."""
    from ecp.web.params import parse_month as parse_month_code

    month = parse_month_code(text)
    if month is None:
        raise ValueError(text)
    return month


def bracket_for(
    quotient_familial: int | None, out_of_town: bool, brackets: list[Bracket]
) -> int | None:
    """The bracket id that prices a family; None means the out-of-town rate.

    A family without a known quotient pays the highest bracket, as communes do until the CAF
    certificate is given.
    """
    if out_of_town:
        return None
    ordered = sorted(brackets, key=lambda b: (b.qf_min, b.sort_order))
    if not ordered:
        return None
    if quotient_familial is None:
        return ordered[-1].id
    for bracket in ordered:
        if bracket.qf_min <= quotient_familial and (
            bracket.qf_max is None or quotient_familial <= bracket.qf_max
        ):
            return bracket.id
    # Outside every bracket: below the first one -> the first, above the last -> the last.
    return ordered[0].id if quotient_familial < ordered[0].qf_min else ordered[-1].id


class TariffBook:
    """Tariffs indexed by (activity, bracket), each list sorted by validity date."""

    def __init__(self, tariffs: list[TariffRow]):
        self._by_key: dict[tuple[int, int | None], list[TariffRow]] = {}
        for row in sorted(tariffs, key=lambda t: t.valid_from):
            self._by_key.setdefault((row.activity_id, row.bracket_id), []).append(row)

    def on(self, activity_id: int, bracket_id: int | None, day: dt.date) -> TariffRow | None:
        found = None
        for row in self._by_key.get((activity_id, bracket_id), ()):
            if row.valid_from <= day:
                found = row
            else:
                break
        return found


def bill_family(
    *,
    month: dt.date,
    bracket_id: int | None,
    bookings: list[Day],
    attendances: list[Day],
    closures: list[ClosureRow],
    tariffs: TariffBook,
    billable_activities: set[int] | None = None,
) -> FamilyBill:
    """Lines and anomalies for one family's month.

    Lines are grouped by child, activity, kind and unit price, so a tariff change mid-month
    gives two lines, each with its own days.
    """
    first, last = month_bounds(month)
    in_month = [d for d in bookings if first <= d.day <= last]
    booked = {(d.child_id, d.activity_id, d.day): d for d in in_month}
    marks = {(a.child_id, a.activity_id, a.day): a for a in attendances if first <= a.day <= last}

    def closed(d: Day) -> bool:
        return any(c.covers(d.day, d.school_id, d.activity_id) for c in closures)

    def billable(activity_id: int) -> bool:
        return billable_activities is None or activity_id in billable_activities

    groups: dict[tuple[int, int, str, int], Line] = {}
    anomalies: list[Anomaly] = []

    def add(d: Day, kind: str) -> None:
        tariff = tariffs.on(d.activity_id, bracket_id, d.day)
        if tariff is None:
            anomalies.append(Anomaly("tarif_manquant", d.child_id, d.activity_id, d.day))
            return
        unit = tariff.price_cents + (tariff.majoration_cents if kind == "majoration" else 0)
        key = (d.child_id, d.activity_id, kind, unit)
        line = groups.setdefault(key, Line(d.child_id, d.activity_id, kind, unit))
        line.days.append(d.day)

    for key, d in sorted(booked.items(), key=lambda item: (item[0][0], item[0][1], item[0][2])):
        if not billable(d.activity_id) or closed(d):
            continue
        mark = marks.get(key)
        if d.state == "reservee":
            add(d, "prestation")
            if mark is not None and mark.state == "absent":
                anomalies.append(Anomaly("reserve_absent", d.child_id, d.activity_id, d.day))
        elif d.state == "malade" and mark is not None and mark.state == "present":
            # Declared ill but came after all: the day was used, so it is billed as booked.
            add(d, "prestation")

    for key, mark in sorted(marks.items(), key=lambda item: (item[0][0], item[0][1], item[0][2])):
        if mark.state != "present" or not billable(mark.activity_id) or closed(mark):
            continue
        booking = booked.get(key)
        if booking is None or booking.state in ("annulee", "fermee"):
            add(mark, "majoration")
            anomalies.append(
                Anomaly("present_sans_reservation", mark.child_id, mark.activity_id, mark.day)
            )

    lines = sorted(
        groups.values(), key=lambda ln: (ln.child_id, ln.activity_id, ln.kind, ln.days[0])
    )
    return FamilyBill(lines=lines, anomalies=anomalies)
