"""The State's figures without a database: a presence counts its slot (or its times, in started
half-hours), meals are not care hours, Wednesdays are capped at 9 h with a meal and 4 h without,
hours and children split under 6 / 6 and over by age on the day, days sorted by kind."""

from __future__ import annotations

import datetime as dt

from ecp.finance import reports

T = dt.time
WED = dt.date(2026, 11, 18)
MON = dt.date(2026, 11, 16)
HOLIDAY = dt.date(2026, 10, 26)  # zone C's Toussaint holidays


def _p(child, day, code, start, end, birth=dt.date(2018, 3, 1), school="École A", **extra):
    return {
        "child": child,
        "day": day,
        "school": 1,
        "school_name": school,
        "activity": code,
        "activity_code": code,
        "activity_label": code.capitalize(),
        "starts_at": start,
        "ends_at": end,
        "birth_date": birth,
        **extra,
    }


def test_a_presence_counts_its_slot_or_its_times_in_started_half_hours():
    assert reports.attended_minutes(T(16, 30), T(18, 30)) == 120
    assert reports.attended_minutes(T(16, 30), T(18, 30), T(16, 35), T(17, 10)) == 60
    assert reports.attended_minutes(T(16, 30), T(18, 30), T(16, 0), T(19, 0)) == 120
    assert reports.attended_minutes(T(7, 30), T(8, 30), T(7, 45), T(8, 0)) == 30


def test_age_on_the_day_and_kinds_of_days():
    assert reports.age_on(dt.date(2020, 11, 18), WED) == 6
    assert reports.age_on(dt.date(2020, 11, 19), WED) == 5
    assert reports.day_kind(WED, "C") == "mercredi"
    assert reports.day_kind(MON, "C") == "scolaire"
    assert reports.day_kind(HOLIDAY, "C") == "vacances"


def test_wednesday_hours_are_capped_by_the_meal_and_meals_are_not_care_hours():
    presences = [
        # Child 1 eats: 8 h + 3 h of care capped at 9 h.
        _p(1, WED, "alsh_matin", T(8, 0), T(16, 0)),
        _p(1, WED, "alsh_soir", T(16, 0), T(19, 0)),
        _p(1, WED, "restauration", T(12, 0), T(13, 30)),
        # Child 2 does not eat: 5 h capped at 4 h; under 6 on the day.
        _p(2, WED, "alsh_matin", T(8, 0), T(13, 0), birth=dt.date(2021, 1, 1)),
        # A Monday evening: no cap.
        _p(1, MON, "garderie_soir", T(16, 30), T(18, 30)),
    ]
    figures = reports.caf_figures(presences, "C")
    assert figures["total_minutes"] == {"plus_6": 9 * 60 + 120, "moins_6": 4 * 60}
    assert figures["total_children"] == {"plus_6": 1, "moins_6": 1}
    rows = {(r["activity"], r["kind"]): r for r in figures["rows"]}
    assert ("Restauration", "mercredi") not in rows
    assert rows[("Alsh_matin", "mercredi")]["minutes"] == {"moins_6": 240, "plus_6": 480}
    assert rows[("Alsh_soir", "mercredi")]["minutes"]["plus_6"] == 60  # the excess came off it
    assert rows[("Garderie_soir", "scolaire")]["children"] == {"moins_6": 0, "plus_6": 1}
    assert reports.hours(90) == "1,50" and reports.hours(20) == "0,33"


def test_the_csv_has_a_row_per_accueil_activity_and_kind_and_a_total():
    figures = reports.caf_figures([_p(1, MON, "garderie_soir", T(16, 30), T(18, 0))], "C")
    text = reports.caf_csv({"period": None, **figures})
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Accueil;Activité;Jours;Heures moins de 6 ans")
    assert lines[1] == "École A;Garderie_soir;Jours d’école;0,00;1,50;0;1"
    assert lines[-1] == "Total;;;0,00;1,50;0;1"
