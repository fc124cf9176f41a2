"""The pure calendar rules: running days, holidays, closures, deadlines at their boundaries."""

from __future__ import annotations

import datetime as dt

from ecp.booking import calendar as cal
from ecp.clock import PARIS

RULES = cal.Rules(year_start=dt.date(2026, 9, 1), year_end=dt.date(2027, 7, 3), zone="C")
CANTINE = cal.ActivityInfo(
    1,
    "restauration",
    "Restauration scolaire",
    "Cantine",
    frozenset({1, 2, 4, 5}),
    frozenset({"CP", "CE1"}),
    "",
    "working_days",
    dt.time(11, 30),
    dt.time(13, 30),
)
MERCREDI = cal.ActivityInfo(
    2,
    "alsh_mercredi_journee",
    "ALSH mercredi",
    "Mercredi journée",
    frozenset({3}),
    frozenset(),
    "alsh_mercredi",
    "previous_wednesday",
    dt.time(8, 30),
    dt.time(17, 30),
)


def paris(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


def test_week_codes_round_trip_and_bad_codes_are_refused():
    monday = cal.parse_week("2026-W49", dt.date(2026, 1, 1))
    assert monday == dt.date(2026, 11, 30)
    assert cal.week_code(monday) == "2026-W49"
    assert cal.parse_week(None, dt.date(2026, 12, 3)) == dt.date(2026, 11, 30)
    assert cal.parse_week("2026-W60", dt.date(2026, 1, 1)) is None
    assert cal.parse_week("n'importe", dt.date(2026, 1, 1)) is None
    assert cal.parse_month("2026-13", dt.date(2026, 1, 1)) is None
    assert cal.month_end(dt.date(2027, 2, 1)) == dt.date(2027, 2, 28)


def test_activity_runs_on_its_weekdays_only():
    assert cal.closed_reason(dt.date(2026, 12, 7), CANTINE, 1, RULES) is None
    assert cal.closed_reason(dt.date(2026, 12, 9), CANTINE, 1, RULES) == "Pas d’activité ce jour-là"
    assert cal.closed_reason(dt.date(2026, 12, 12), CANTINE, 1, RULES) is not None
    assert cal.closed_reason(dt.date(2026, 12, 9), MERCREDI, 1, RULES) is None


def test_public_and_school_holidays_and_year_bounds_close_the_day():
    # 11 novembre 2027 is a Thursday; Christmas holidays of zone C start on 19 December 2026.
    assert "férié" in cal.closed_reason(
        dt.date(2027, 11, 11), CANTINE, 1, cal.Rules(dt.date(2027, 9, 1), dt.date(2028, 7, 3))
    )
    assert cal.closed_reason(dt.date(2026, 12, 21), CANTINE, 1, RULES) == "Vacances de Noël"
    assert cal.closed_reason(dt.date(2026, 12, 18), CANTINE, 1, RULES) is None
    assert cal.closed_reason(dt.date(2026, 8, 31), CANTINE, 1, RULES) == "Hors de l’année scolaire"
    assert cal.closed_reason(dt.date(2027, 7, 5), CANTINE, 1, RULES) == "Hors de l’année scolaire"


def test_beyond_the_holiday_package_data_nothing_crashes():
    far = cal.Rules(dt.date(2035, 9, 1), dt.date(2036, 7, 3))
    assert cal.closed_reason(dt.date(2035, 12, 3), CANTINE, 1, far) is None


def test_closure_covers_its_days_school_and_activity_only():
    closure = cal.ClosureSpec(dt.date(2026, 12, 7), dt.date(2026, 12, 8), 1, None, "Grève")
    rules = cal.Rules(RULES.year_start, RULES.year_end, closures=(closure,))
    assert cal.closed_reason(dt.date(2026, 12, 7), CANTINE, 1, rules) == "Grève"
    assert cal.closed_reason(dt.date(2026, 12, 8), CANTINE, 1, rules) == "Grève"
    assert cal.closed_reason(dt.date(2026, 12, 10), CANTINE, 1, rules) is None
    assert cal.closed_reason(dt.date(2026, 12, 7), CANTINE, 2, rules) is None


def test_deadline_is_two_working_days_before_at_2359():
    # Monday 7 December -> Thursday 3 December 23:59.
    assert cal.deadline(dt.date(2026, 12, 7), CANTINE, RULES) == paris(2026, 12, 3, 23, 59)
    # Friday 13 November 2026: Wednesday 11 (Armistice) is not a working day -> Tuesday 10.
    assert cal.deadline(dt.date(2026, 11, 13), CANTINE, RULES) == paris(2026, 11, 10, 23, 59)


def test_deadline_follows_the_settings():
    rules = cal.Rules(
        RULES.year_start, RULES.year_end, deadline_working_days=1, deadline_time=dt.time(12, 0)
    )
    assert cal.deadline(dt.date(2026, 12, 7), CANTINE, rules) == paris(2026, 12, 4, 12, 0)


def test_alsh_mercredi_closes_the_wednesday_before():
    assert cal.deadline(dt.date(2026, 12, 9), MERCREDI, RULES) == paris(2026, 12, 2, 23, 59)


def test_deadline_boundary_2359_is_open_and_0000_is_closed():
    day = dt.date(2026, 12, 7)
    assert cal.open_for_family(day, CANTINE, RULES, paris(2026, 12, 3, 23, 59, 0))
    assert cal.open_for_family(day, CANTINE, RULES, paris(2026, 12, 3, 23, 59, 59))
    assert not cal.open_for_family(day, CANTINE, RULES, paris(2026, 12, 4, 0, 0, 0))
    # The same instants given in UTC.
    utc = paris(2026, 12, 4, 0, 0).astimezone(dt.UTC)
    assert not cal.open_for_family(day, CANTINE, RULES, utc)


def test_illness_is_declared_on_the_day_until_the_cutoff():
    day = dt.date(2026, 12, 7)
    assert cal.illness_open(day, RULES, paris(2026, 12, 7, 9, 0))
    assert not cal.illness_open(day, RULES, paris(2026, 12, 7, 9, 1))
    assert not cal.illness_open(day, RULES, paris(2026, 12, 6, 20, 0))


def cell(**kw):
    values = dict(
        day=dt.date(2026, 12, 7),
        activity=CANTINE,
        level="CE1",
        school_id=1,
        inscribed=True,
        booking_state=None,
        booked=0,
        capacity=10,
        rules=RULES,
        now=paris(2026, 11, 30, 10, 0),
    )
    values.update(kw)
    return cal.cell_state(**values)


def test_cell_states_in_words():
    assert cell().label == "libre" and cell().action == "reserver"
    assert cell(booking_state="reservee").label == "réservé"
    assert cell(booking_state="reservee").action == "annuler"
    assert cell(booking_state="malade").label == "absence signalée"
    assert cell(booked=10).label == "complet"
    assert cell(inscribed=False).label == "non inscrit"
    assert cell(level="PS").label == "non inscrit"
    assert cell(day=dt.date(2026, 12, 21)).label == "fermé"
    late = cell(now=paris(2026, 12, 4, 0, 0))
    assert late.label == "délai dépassé" and late.action is None


def test_places_left_are_shown_only_when_few():
    assert cell(booked=7).places_left == 3
    assert cell(booked=2).places_left is None
    assert cell(capacity=0, booked=500).places_left is None


def test_staff_ignore_the_deadline_but_not_capacity():
    now = paris(2026, 12, 7, 15, 0)
    assert cell(now=now, staff=True).action == "reserver"
    assert cell(now=now, staff=True, booking_state="reservee").action == "annuler"
    assert cell(now=now, staff=True, booked=10).label == "complet"


def test_booked_day_past_the_deadline_offers_illness_on_the_day():
    morning = cell(booking_state="reservee", now=paris(2026, 12, 7, 8, 30))
    assert morning.action == "malade" and morning.late
    noon = cell(booking_state="reservee", now=paris(2026, 12, 7, 12, 0))
    assert noon.action is None and noon.label == "réservé"


def test_default_week_is_the_coming_one_at_the_weekend():
    import datetime as _dt

    from ecp.booking.calendar import parse_week

    assert parse_week(None, _dt.date(2026, 12, 2)) == _dt.date(2026, 11, 30)  # Wednesday
    assert parse_week(None, _dt.date(2026, 11, 28)) == _dt.date(2026, 11, 30)  # Saturday
    assert parse_week(None, _dt.date(2026, 11, 29)) == _dt.date(2026, 11, 30)  # Sunday
    assert parse_week("2026-W48", _dt.date(2026, 11, 29)) == _dt.date(2026, 11, 23)
    assert parse_week("2026-W99", _dt.date(2026, 11, 29)) is None
