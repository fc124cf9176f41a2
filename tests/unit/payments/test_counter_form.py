"""The counter's payment form alone: which errors, in which order, with which keys."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.payments.forms import CounterPaymentForm

TODAY = dt.datetime(2026, 11, 20, 10, tzinfo=clock.PARIS)
FAMILY = {"id": 1, "code": "F00001", "name": "Martin"}
GOOD = {
    "famille": "f00001",
    "facture": ["3", "2"],
    "montant": "12,50",
    "mode": "cheque",
    "reference": "CHQ 1",
    "tireur": "M. Martin Paul",
    "banque": "Banque Populaire",
    "date": "20/11/2026",
}


def _bind(data, family=FAMILY):
    with clock.frozen(TODAY):
        return CounterPaymentForm.bind(data, family=family)


def test_a_good_payment_is_cleaned_to_python_values():
    form = _bind(GOOD)
    assert form.valid, form.errors
    assert form.cleaned == {
        "famille": "F00001",
        "facture": [3, 2],
        "montant": 1250,
        "mode": "cheque",
        "reference": "CHQ 1",
        "tireur": "M. Martin Paul",
        "banque": "Banque Populaire",
        "date": dt.date(2026, 11, 20),
    }
    assert form.values["famille"] == "F00001"  # redisplayed as staff will read it


def test_errors_come_in_the_order_of_the_page():
    form = _bind({"famille": "F00001", "montant": "douze", "mode": "cheque", "date": "21/11/2026"})
    assert list(form.errors) == ["facture", "montant", "reference", "tireur", "banque", "date"]
    assert form.errors["date"] == "La date de réception ne peut pas être dans le futur."
    assert form.values["montant"] == "douze" and form.values["mode"] == "cheque"


def test_an_unknown_family_is_the_only_thing_said_about_the_family():
    # Its invoices are not on the page, so they are not asked for.
    form = _bind({**GOOD, "facture": []}, family=None)
    assert form.errors == {"famille": "Indiquez le code d’une famille existante."}
    assert list(_bind({**GOOD, "famille": ""}, family=None).errors) == ["famille"]


def test_mode_amount_and_reference_rules():
    assert list(_bind({**GOOD, "mode": "carte"}).errors) == ["mode"]
    assert list(_bind({**GOOD, "mode": ""}).errors) == ["mode"]
    assert _bind({**GOOD, "mode": "especes", "reference": ""}).valid
    for mode in ("cheque", "cesu", "virement"):
        assert list(_bind({**GOOD, "mode": mode, "reference": ""}).errors) == ["reference"]
    for amount in ("0", "0,00", "-3", "100000,01", ""):
        assert list(_bind({**GOOD, "montant": amount}).errors) == ["montant"], amount
    assert _bind({**GOOD, "montant": "100000"}).cleaned["montant"] == 10_000_000


def test_a_cheque_needs_its_drawer_and_bank_and_other_modes_keep_neither():
    form = _bind({**GOOD, "tireur": "", "banque": ""})
    assert list(form.errors) == ["tireur", "banque"]
    assert form.errors["tireur"].startswith("Indiquez le tireur du chèque")
    assert form.errors["banque"] == "Indiquez la banque du chèque."
    assert list(_bind({**GOOD, "banque": "  "}).errors) == ["banque"]
    cash = _bind({**GOOD, "mode": "especes"})
    assert cash.valid and cash.cleaned["tireur"] == "" and cash.cleaned["banque"] == ""
    assert cash.values["tireur"] == "M. Martin Paul"  # still redisplayed as typed


def test_cheques_vacances_are_a_counter_mode_whose_numbers_are_optional():
    form = _bind({**GOOD, "mode": "ancv", "reference": "", "tireur": "", "banque": ""})
    assert form.valid, form.errors
    assert form.cleaned["mode"] == "ancv"
