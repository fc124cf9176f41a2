"""The booking pages' forms, without a database: the cell buttons, the semaine type's rules
and error order, and the « present without a booking » form's error key."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp.booking import forms, services
from ecp.booking.calendar import ActivityInfo

TODAY = dt.date(2026, 11, 30)  # a Monday
CHILDREN = [{"id": 1, "level": "CE1"}, {"id": 2, "level": "MS"}]
CANTINE = ActivityInfo.from_row(
    {"id": 10, "code": "restauration", "label": "Cantine", "weekdays": "1,2,4,5",
     "eligible_levels": ""}
)  # fmt: skip
MERCREDI = ActivityInfo.from_row(
    {"id": 11, "code": "alsh", "label": "Mercredi", "weekdays": "3", "eligible_levels": ""}
)


def bind(data):
    return forms.PatternForm.bind(
        data, children=CHILDREN, activities=[CANTINE, MERCREDI], today=TODAY
    )


def test_a_valid_pattern_keeps_only_the_activities_days():
    form = bind(
        {
            "enfants": ["1", "2"],
            "jours_10": ["1", "3", "4", "x", "9"],  # Wednesday: no canteen; x, 9: no weekday
            "jours_11": ["3"],
            "jours_99": ["1"],  # no such activity
            "du": "07/12/2026",
            "au": "2026-12-18",
        }
    )
    assert form.valid, form.errors
    assert form.cleaned["enfants"] == [1, 2]
    assert form.cleaned["jours"] == {10: {1, 4}, 11: {3}}
    assert (form.cleaned["du"], form.cleaned["au"]) == (dt.date(2026, 12, 7), dt.date(2026, 12, 18))
    assert form.values["jours_10"] == ["1", "4"]  # redisplayed and carried to the confirmation


def test_errors_come_in_the_pages_order_under_the_ids_the_summary_links_to():
    form = bind({"du": "32/13/2026", "au": ""})
    assert list(form.errors) == ["enfants", "jours", "du", "au"]
    assert form.errors["du"] == "Saisissez la date de début, par exemple 07/12/2026."
    assert form.errors["au"] == "Saisissez la date de fin, par exemple 18/12/2026."
    assert form.values["du"] == "32/13/2026"


def test_a_past_start_and_an_end_before_it_are_both_told():
    form = bind({"enfants": "1", "jours_10": "1", "du": "20/11/2026", "au": "10/11/2026"})
    assert form.errors == {
        "du": "La date de début ne peut pas être passée.",
        "au": "La date de fin doit être après la date de début.",
    }


def test_a_period_is_twenty_weeks_at_most():
    data = {"enfants": "1", "jours_10": "1", "du": "07/12/2026"}
    assert bind(data | {"au": "26/04/2027"}).valid  # 140 days
    assert bind(data | {"au": "27/04/2027"}).errors == {
        "au": "Choisissez une période de 20 semaines au plus."
    }
    assert forms.pattern_period(data | {"au": "26/04/2027"}) == (
        dt.date(2026, 12, 7),
        dt.date(2027, 4, 26),
    )
    assert forms.pattern_period(data | {"au": "27/04/2027"}) is None
    assert forms.pattern_period(data | {"au": "01/12/2026"}) is None


@pytest.mark.parametrize("value", ["3", "abc", ""])
def test_a_child_who_is_not_the_familys_refuses_the_whole_form(value):
    with pytest.raises(services.NotFound):
        bind({"enfants": ["1", value], "du": "x"})


def test_the_default_form_offers_the_week_after_next_for_two_weeks():
    form = forms.PatternForm.default(dt.date(2026, 12, 2))
    assert (form.values["du"], form.values["au"]) == ("14/12/2026", "25/12/2026")
    assert form.errors == {}


def test_the_unbooked_form_files_every_error_under_the_lists_select():
    field = "enfant-1-10"
    for value, message in (
        ("", "Choisissez l’enfant présent sans réservation."),
        ("abc", "Cet enfant est introuvable : choisissez-le dans la liste."),
    ):
        form = forms.UnbookedForm.bind({"enfant": value}, field=field)
        assert form.errors == {field: message}
        assert form.summary() == [{"href": f"#{field}", "text": message}]
    form = forms.UnbookedForm.bind({"enfant": " 42 "}, field=field)
    assert form.valid and form.cleaned["child_id"] == 42 and form.value("enfant") == "42"


def test_a_cell_posts_its_case_or_four_fields():
    change = forms.parse_change({"case": "1:10:2026-12-07:reserver", "semaine": "2026-W50"})
    assert change == forms.CellChange(1, 10, dt.date(2026, 12, 7), "reserver", "2026-W50")
    fields = {"enfant": "1", "activite": "10", "jour": "2026-12-07", "action": "annuler"}
    assert forms.parse_change(fields).action == "annuler"
    for case in ("1:10:2026-12-07", "1:10:07/12/2026:reserver", "1:10:2026-12-07:supprimer"):
        assert forms.parse_change({"case": case}) is None


def test_after_a_tap_the_week_shown_is_the_cells():
    change = forms.parse_change({"case": "1:10:2026-12-09:reserver", "semaine": "2026-W50"})
    assert change.monday(TODAY) == dt.date(2026, 12, 7)
    elsewhere = forms.parse_change({"case": "1:10:2026-12-16:reserver", "semaine": "2026-W50"})
    assert elsewhere.monday(TODAY) == dt.date(2026, 12, 14)  # the page showed another week
