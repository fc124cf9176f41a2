"""Days as a phone or a person types them: ecp.web.params.parse_day, the Day field, and the
date macro (a native date input whose value is ISO, what was typed kept when it names no day)."""

from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup

from ecp.web.forms import Day, Form
from ecp.web.params import parse_day
from ecp.web.templating import environment, iso_day

DEC_7 = dt.date(2026, 12, 7)


@pytest.mark.parametrize(
    "typed",
    [
        "2026-12-07",  # what a date input sends
        "07/12/2026",
        "7/12/2026",
        "7/12/26",  # a two-digit year is of this century
        "07122026",  # a digit keypad has no « / »
        "071226",
        "07.12.2026",
        "7-12-2026",
        "7 12 2026",
        " 7 / 12 / 2026 ",
    ],
)
def test_the_ways_people_type_a_day_all_name_it(typed):
    assert parse_day(typed) == DEC_7


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "07/12",  # no year: not guessed
        "0712202",  # seven digits: which is the day?
        "7122026",
        "31/02/2027",
        "31022027",
        "7/12/126",
        "01/01/1999",  # out of the years the app handles
        "²/01/2027",
        "٠٧/١٢/٢٠٢٦",  # digits of another script
        "demain",
        "2026/12/07",
    ],
)
def test_what_names_no_day_is_none(typed):
    assert parse_day(typed) is None


class PeriodForm(Form):
    du = Day("Du", required="Saisissez la date de début.", invalid="Saisissez une date.")


def test_the_day_field_reads_digits_alone_and_keeps_what_was_typed():
    form = PeriodForm.bind({"du": "07122026"})
    assert form.valid and form.cleaned["du"] == DEC_7
    assert form.value("du") == "07122026"
    wrong = PeriodForm.bind({"du": "0712202"})
    assert wrong.errors == {"du": "Saisissez une date."}
    assert wrong.value("du") == "0712202"
    assert PeriodForm.bind({"du": ""}).errors == {"du": "Saisissez la date de début."}


def render(source: str, **context) -> BeautifulSoup:
    template = environment().from_string('{% import "macros/forms.html" as f %}' + source)
    return BeautifulSoup(template.render(**context), "html.parser")


def test_the_date_macro_is_a_native_date_input_with_an_iso_value():
    form = Form(values={"du": "7/12/2026"})
    page = render(
        '{{ f.date(form, "du", "Du", required=True, min=today) }}', form=form, today=DEC_7
    )
    field = page.find("input", id="du")
    assert field["type"] == "date" and field["name"] == "du"
    assert field["value"] == "2026-12-07" and field["min"] == "2026-12-07"
    assert field["aria-required"] == "true" and "inputmode" not in field.attrs
    assert page.find("label").get_text(" ", strip=True) == "Du (obligatoire)"
    assert field["aria-describedby"] == "du-hint"


def test_a_date_that_names_no_day_is_shown_again_as_typed_with_its_error():
    form = Form(values={"du": "32/13/2026"}, errors={"du": "Saisissez une date."})
    field = render('{{ f.date(form, "du", "Du") }}', form=form).find("input", id="du")
    assert field["value"] == "32/13/2026" and field["aria-invalid"] == "true"
    assert field["aria-describedby"] == "du-hint du-error"


def test_iso_day_of_dates_datetimes_and_text():
    assert iso_day(DEC_7) == "2026-12-07"
    assert iso_day(dt.datetime(2026, 12, 6, 23, 30, tzinfo=dt.UTC)) == "2026-12-07"  # Paris
    assert iso_day("07122026") == "2026-12-07"
    assert iso_day("hier") == "hier" and iso_day(None) == "" and iso_day("") == ""
