"""The reconciliation period and the simulator's card page, as forms alone."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.payments import simulator
from ecp.payments.forms import (
    PaymentChoiceForm,
    ReconciliationForm,
    SimulatorCancelForm,
    SimulatorCardForm,
)

TODAY = dt.datetime(2026, 11, 20, 10, tzinfo=clock.PARIS)


def test_the_period_is_one_of_the_list():
    assert ReconciliationForm.bind({"jours": "30"}).cleaned == {"jours": "30"}
    assert ReconciliationForm.bind({"jours": "365"}).errors == {
        "jours": "Choisissez une période dans la liste."
    }


def test_the_choice_of_invoices_keeps_what_is_not_an_id_visible():
    form = PaymentChoiceForm.bind({"factures": ["3", "x", "4"]})
    assert form.cleaned["factures"] == [3, 4] and form.values["factures"] == ["3", "x", "4"]


def _card(**data):
    values = {"notification": "normal", "carte": simulator.CARD_SUCCESS, "cvv": "123"}
    values.update({"expiration": "11/26", **data})
    with clock.frozen(TODAY):
        return SimulatorCardForm.bind(values)


def test_a_test_card_with_a_future_expiry_and_a_cryptogram():
    form = _card(carte="1111 2222 3333 4444")
    assert form.valid and form.cleaned["carte"] == simulator.CARD_SUCCESS


def test_card_errors_in_the_order_of_the_page():
    form = _card(notification="jamais", carte="1234", expiration="10/26", cvv="12")
    assert list(form.errors) == ["notification", "carte", "expiration", "cvv"]
    assert list(_card(carte="", expiration="", cvv="").errors) == ["carte", "expiration", "cvv"]
    for expiry in ("13/30", "1/2030", "ab/cd", "١٢/٣٠"):
        assert list(_card(expiration=expiry).errors) == ["expiration"], expiry


def test_cancelling_reads_only_the_notification():
    assert SimulatorCancelForm.bind({"notification": "aucune", "carte": "1234"}).valid
    assert list(SimulatorCancelForm.bind({}).errors) == ["notification"]
