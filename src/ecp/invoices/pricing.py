"""The billing arithmetic of one family for one month (pure, no database).

Rules (docs/product.md "Rules"): each booked day is billed at the family's tariff (its quotient
familial bracket, or the out-of-town rate); a day declared ill ("malade") or closed by the commune
is not billed; a child present without a booking is billed the day's price plus the majoration.
The tariff of a day is the latest one whose `valid_from` is on or before that day, so a change
applies from its date and never to the days before it.

Once a month is billed, `regularise` compares it computed again with what its documents bill,
day by day (see « Régularisations » below).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
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
    bracket_on: Callable[[dt.date], int | None] | None = None,
) -> FamilyBill:
    """Lines and anomalies for one family's month.

    Lines are grouped by child, activity, kind and unit price, so a tariff change mid-month
    gives two lines, each with its own days. `bracket_on(day)`, when given, is the family's
    bracket on that day (its quotient familial changed within the month) and replaces
    `bracket_id`.
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
        bracket = bracket_on(d.day) if bracket_on is not None else bracket_id
        tariff = tariffs.on(d.activity_id, bracket, d.day)
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


# ==== Régularisations =============================================================================
# Once a month is billed, staff may still change it: a late cancellation accepted, a closure, an
# illness, a corrected pointage. What the month owes is then computed again (bill_family) and
# compared, day by day and per child, activity and kind, with what its invoices and credit notes
# already bill: each day billed too much is credited, each day not billed is billed, each at its
# own price (what was billed is credited at the price it was billed; a price change alone is no
# régularisation, tariffs are never retroactive).

# A credit line's label: the label of the line it cancels, after this.
CREDIT_PREFIX = "Annulation\u00a0: "

# Why a credit or an additional line exists: the first group credits, the second bills.
CAUSES = {
    "annulation": "annulation acceptée après la facturation",
    "maladie": "absence pour maladie",
    "fermeture": "fermeture",
    "non_facturable": "jour devenu non facturable",
    "activite_non_facturee": "activité non facturée",
    "pointage_corrige": "pointage corrigé",
    "reservation": "réservation ajoutée après la facturation",
    "presence_pointee": "présence pointée après la facturation",
    "correction": "correction",
}
# The reasons a régisseur gives for a credit note issued by hand. Its days are not billed again
# by a régularisation: the régisseur decided they are not due.
MANUAL_REASONS = {
    "sortie_scolaire": "Sortie scolaire",
    "maladie_certificat": "Maladie avec certificat",
    "fermeture": "Fermeture",
    "erreur_pointage": "Erreur de pointage",
    "autre": "Autre",
}


@dataclass(frozen=True)
class BilledLine:
    """A line already issued for the month: an invoice's (prestation, majoration) or a credit
    note's (kind "avoir", naming the line it cancels in `credits_line`)."""

    id: int
    child_id: int | None
    activity_id: int | None
    kind: str
    unit_price_cents: int
    days: tuple[dt.date, ...]
    credits_line: int | None = None
    waiver: bool = False  # a credit note issued by hand: its days stay unbilled
    invoice_id: int | None = None


@dataclass(frozen=True)
class Adjustment:
    """One day to credit (amount < 0, `line_id` the line that billed it) or to bill (> 0)."""

    child_id: int
    activity_id: int
    day: dt.date
    kind: str  # prestation or majoration
    amount_cents: int
    cause: str
    line_id: int | None = None

    @property
    def cause_label(self) -> str:
        return CAUSES.get(self.cause, self.cause)


def net_billed(lines: list[BilledLine]) -> tuple[dict, set]:
    """What stands billed after the credit notes: (child, activity, day, kind) -> the lines
    still billing it, each (line id, unit price); and the (child, activity, day) a credit note
    issued by hand waived."""
    by_id = {ln.id: ln for ln in lines}
    billed: dict[tuple, list[tuple[int, int]]] = {}
    for ln in lines:
        if ln.kind == "avoir" or ln.child_id is None or ln.activity_id is None:
            continue
        for day in ln.days:
            billed.setdefault((ln.child_id, ln.activity_id, day, ln.kind), []).append(
                (ln.id, ln.unit_price_cents)
            )
    waived: set[tuple] = set()
    for credit in lines:
        if credit.kind != "avoir":
            continue
        line = by_id.get(credit.credits_line)
        if line is None:
            continue
        for day in credit.days:
            entries = billed.get((line.child_id, line.activity_id, day, line.kind), [])
            for i, (line_id, _) in enumerate(entries):
                if line_id == line.id:
                    del entries[i]
                    break
            if credit.waiver:
                waived.add((line.child_id, line.activity_id, day))
    return billed, waived


def _cause(kind: str, credit: bool, booking: Day | None, closed: bool, billable: bool) -> str:
    """Why a day is credited (`credit`) or billed now, from what the day looks like today."""
    if credit:
        if not billable:
            return "activite_non_facturee"
        if closed:
            return "fermeture"
        if kind == "majoration":
            return "pointage_corrige"
        state = booking.state if booking else "annulee"
        if state == "annulee":
            return "annulation"
        if state == "malade":
            return "maladie"
        if state.startswith("ferm"):
            return "fermeture"
        if state != "reservee":
            return "non_facturable"
        return "correction"
    if kind == "majoration" or (booking is not None and booking.state == "malade"):
        return "presence_pointee"
    if booking is not None and booking.state == "reservee":
        return "reservation"
    return "correction"


def regularise(
    *,
    expected: FamilyBill,
    billed: list[BilledLine],
    bookings: list[Day],
    attendances: list[Day],
    closures: list[ClosureRow],
    billable_activities: set[int] | None = None,
) -> list[Adjustment]:
    """The days to credit and to bill so that the month's documents bill what `expected` (the
    month computed again, bill_family) says, sorted by day, child, activity and kind."""
    standing, waived = net_billed(billed)
    due: dict[tuple, int] = {}
    for line in expected.lines:
        for day in line.days:
            due[(line.child_id, line.activity_id, day, line.kind)] = line.unit_price_cents
    booked = {(d.child_id, d.activity_id, d.day): d for d in bookings}
    marks = {(a.child_id, a.activity_id, a.day): a for a in attendances}
    out: list[Adjustment] = []
    for key in sorted(set(standing) | set(due), key=lambda k: (k[2], k[0], k[1], k[3])):
        child_id, activity_id, day, kind = key
        want = 0 if (child_id, activity_id, day) in waived or key not in due else 1
        have = standing.get(key, [])
        if len(have) == want:
            continue
        booking, mark = booked.get(key[:3]), marks.get(key[:3])
        school = booking.school_id if booking else (mark.school_id if mark else None)
        closed = any(c.covers(day, school, activity_id) for c in closures)
        billable = billable_activities is None or activity_id in billable_activities
        if len(have) > want:
            cause = _cause(kind, True, booking, closed, billable)
            for line_id, unit in have[want:]:
                out.append(Adjustment(child_id, activity_id, day, kind, -unit, cause, line_id))
        else:
            cause = _cause(kind, False, booking, closed, billable)
            out.append(Adjustment(child_id, activity_id, day, kind, due[key], cause))
    return out
