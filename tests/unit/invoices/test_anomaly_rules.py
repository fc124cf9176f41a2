"""The rules of kept billing anomalies, without a database: what a run's findings do to the
stored rows, and the anomaly page's forms."""

from __future__ import annotations

import datetime as dt

from ecp.invoices import anomalies
from ecp.invoices.anomaly_forms import AnomalyFilterForm, AnomalyHandleForm

D = dt.date(2026, 11, 10)


def _row(id, kind="present_sans_reservation", child=1, activity=1, day=D, state="a_traiter"):
    return {
        "id": id,
        "kind": kind,
        "child": child,
        "activity": activity,
        "day": day,
        "state": state,
    }


def test_a_new_finding_is_added_and_one_found_again_is_only_seen():
    stored = [_row(1)]
    found = [("present_sans_reservation", 1, 1, D), ("reserve_absent", 1, 1, D)]
    new, seen, reopen, close = anomalies.changes(stored, found)
    assert new == [("reserve_absent", 1, 1, D)] and seen == [1]
    assert reopen == [] and close == []


def test_the_same_finding_twice_is_added_once():
    key = ("tarif_manquant", 2, 3, D)
    new, *_ = anomalies.changes([], [key, key])
    assert new == [key]


def test_an_examined_anomaly_no_longer_found_is_closed_only_if_still_to_handle():
    stored = [
        _row(1, state="a_traiter"),
        _row(2, day=D.replace(day=11), state="justifiee"),
        _row(3, day=D.replace(day=12), state="corrigee"),
    ]
    new, seen, reopen, close = anomalies.changes(stored, [])
    assert close == [1]  # the régisseur's justified and corrected ones stay as they are
    assert new == seen == reopen == []


def test_a_corrected_anomaly_found_again_is_reopened_a_justified_one_stays():
    stored = [_row(1, state="corrigee"), _row(2, day=D.replace(day=11), state="justifiee")]
    found = [
        ("present_sans_reservation", 1, 1, D),
        ("present_sans_reservation", 1, 1, D.replace(day=11)),
    ]
    new, seen, reopen, close = anomalies.changes(stored, found)
    assert sorted(seen) == [1, 2] and reopen == [1] and close == [] and new == []


def test_the_page_opens_on_the_latest_month_with_anomalies_to_handle():
    today = dt.date(2026, 12, 5)
    months = [
        {"month": dt.date(2026, 11, 1), "open": 0, "total": 3},
        {"month": dt.date(2026, 10, 1), "open": 2, "total": 2},
    ]
    assert anomalies.default_month(months, today) == dt.date(2026, 10, 1)
    months[1]["open"] = 0
    assert anomalies.default_month(months, today) == dt.date(2026, 11, 1)
    assert anomalies.default_month([], today) == dt.date(2026, 11, 1)  # last month


def test_a_justified_anomaly_needs_a_note():
    form = AnomalyHandleForm.bind({"anomalie": ["3", "4"], "etat": "justifiee", "note": " "})
    assert form.errors == {"note": anomalies.NOTE_REQUIRED}
    ok = AnomalyHandleForm.bind({"anomalie": ["3"], "etat": "justifiee", "note": "Accord"})
    assert ok.valid and ok.cleaned["anomalie"] == [3] and ok.cleaned["note"] == "Accord"
    corrected = AnomalyHandleForm.bind({"anomalie": "3", "etat": "corrigee"})
    assert corrected.valid and corrected.cleaned["note"] == ""


def test_the_handle_form_says_what_is_missing_in_order():
    form = AnomalyHandleForm.bind({"etat": "autre"})
    assert list(form.errors) == ["anomalie", "etat"]
    assert form.errors["anomalie"] == "Cochez au moins une anomalie."


def test_the_list_filters_come_back_and_a_wrong_one_is_dropped():
    form = AnomalyHandleForm.bind(
        {"mois": "2026-11", "filtre_etat": "justifiee", "filtre_type": "x", "filtre_famille": "f1"}
    )
    assert form.filters() == {
        "month": dt.date(2026, 11, 1),
        "state": "justifiee",
        "kind": "",
        "family_code": "F1",
    }
    assert AnomalyHandleForm.bind({"mois": "2026-13"}).filters()["month"] is None


def test_the_filter_form_keeps_what_is_valid_and_reports_the_rest():
    form = AnomalyFilterForm.bind({"mois": "2026-13", "etat": "a_traiter", "famille": "f00001"})
    assert list(form.errors) == ["filtre-mois"]  # the control's id, not the handling form's
    assert form.filters() == {
        "month": None,
        "state": "a_traiter",
        "kind": "",
        "family_code": "F00001",
    }
    assert AnomalyFilterForm.bind({}).filters()["month"] is None
