"""Settling a card attempt without news, the rules without a database: which attempts may be
settled by hand, how their age reads, the form, and how the journal of states reads."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.payments import services
from ecp.payments.forms import AttemptResolutionForm

NOW = dt.datetime(2026, 11, 30, 20, 0, tzinfo=clock.PARIS)


def _attempt(status="en_attente", minutes_past=1, error_code="", resolution=""):
    return {
        "status": status,
        "expires_at": NOW - dt.timedelta(minutes=minutes_past),
        "error_code": error_code,
        "resolution": resolution,
    }


def test_only_an_attempt_past_its_window_without_a_conclusive_answer_is_resolvable():
    assert services.resolvable(_attempt(), NOW)
    assert services.resolvable(_attempt(error_code="99999"), NOW)  # Paybox said « pending »
    assert not services.resolvable(_attempt(minutes_past=-5), NOW)  # the family may be paying
    assert services.resolvable(_attempt(status="expiree"), NOW)  # closed by the job, no answer
    assert not services.resolvable(_attempt(status="expiree", error_code="00030"), NOW)
    assert not services.resolvable(_attempt(status="payee"), NOW)
    assert not services.resolvable(_attempt(status="refusee", error_code="00105"), NOW)
    assert not services.resolvable(_attempt(status="erreur", resolution="echouee"), NOW)


def test_the_age_reads_in_minutes_hours_then_days():
    assert services.age_label(dt.timedelta(minutes=45, seconds=59)) == "45 min"
    assert services.age_label(dt.timedelta(hours=2, minutes=5)) == "2 h 05"
    assert services.age_label(dt.timedelta(hours=47, minutes=59)) == "47 h 59"
    assert services.age_label(dt.timedelta(days=1, hours=0)) == "24 h 00"
    assert services.age_label(dt.timedelta(days=3, hours=5)) == "3 jours"
    assert services.age_label(dt.timedelta(seconds=-5)) == "0 min"


def test_a_state_settled_by_the_regie_says_so_unless_the_bank_contradicted_it():
    label = services._status_label
    assert label({"status": "payee", "error_code": "", "resolution": "payee"}) == (
        "confirmé (constaté par la régie)"
    )
    assert label({"status": "erreur", "error_code": "", "resolution": "echouee"}) == (
        "échoué (constaté par la régie)"
    )
    # A success notified after the régie saw a failure: the money was taken.
    assert label({"status": "payee", "error_code": "00000", "resolution": "echouee"}) == "confirmé"
    assert label({"status": "expiree", "error_code": ""}) == services.NO_ANSWER_LABEL


def test_the_discrepancies_are_anomalies_and_a_confirmation_is_not():
    assert {"ecart", "echec_contredit"} <= services.ANOMALIES
    assert "confirmee" not in services.ANOMALIES
    assert all(o in services.OUTCOME_LABELS for o in ("confirmee", "ecart", "echec_contredit"))


def test_a_payment_seen_in_the_back_office_needs_its_transaction_and_day():
    with clock.frozen(NOW):
        form = AttemptResolutionForm.bind({"resultat": "payee", "date": "30/11/2026"})
        assert form.errors == {
            "transaction": "Indiquez le numéro de transaction lu dans le back-office Paybox."
        }
        form = AttemptResolutionForm.bind({"resultat": "payee", "transaction": "612345"})
        assert list(form.errors) == ["date"]
        form = AttemptResolutionForm.bind(
            {"resultat": "payee", "transaction": "61 23", "date": "01/12/2026"}
        )
        assert list(form.errors) == ["transaction", "date"]
        assert "futur" in form.errors["date"]
        ok = AttemptResolutionForm.bind(
            {"resultat": "payee", "transaction": "612345", "date": "29/11/2026", "note": " vu "}
        )
        assert ok.valid and ok.cleaned == {
            "resultat": "payee",
            "transaction": "612345",
            "date": dt.date(2026, 11, 29),
            "note": "vu",
        }


def test_a_failure_needs_neither_transaction_nor_day_and_the_result_is_required():
    failed = AttemptResolutionForm.bind({"resultat": "echouee"})
    assert failed.valid and failed.cleaned["transaction"] == ""
    missing = AttemptResolutionForm.bind({"resultat": "autre"})
    assert list(missing.errors) == ["resultat"]


def test_a_payment_seen_later_is_dated_in_paris():
    created = dt.datetime(2026, 11, 28, 18, 30, tzinfo=clock.PARIS)
    with clock.frozen(NOW):
        assert services.resolution_received_at(NOW.date(), created) == NOW
        assert services.resolution_received_at(created.date(), created) == created
        today = NOW.replace(hour=19)
        assert services.resolution_received_at(NOW.date(), today) == today  # started today
        noon = services.resolution_received_at(dt.date(2026, 11, 29), created)
        assert noon == dt.datetime(2026, 11, 29, 12, 0, tzinfo=clock.PARIS)
