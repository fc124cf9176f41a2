"""The invoice pages' forms, without a request: what they read, and what they say when wrong."""

from __future__ import annotations

import datetime as dt

from ecp.invoices.forms import (
    BillingStartForm,
    CreditNoteForm,
    PaperlessForm,
    RefundForm,
    TariffForm,
)
from ecp.invoices.queries import billing_month_choices, month_choices

TODAY = dt.date(2026, 12, 10)


def _tariff(**values):
    data = {"activite": "3", "tranche": "2", "prix": "1,35", "majoration": "", "date": ""}
    return TariffForm.bind({**data, **values}, today=TODAY)


def test_tariff_form_cleans_ids_cents_and_the_day():
    form = _tariff(date="10/12/2026")
    assert form.valid, form.errors
    assert form.cleaned == {
        "activite": 3,
        "tranche": 2,
        "prix": 135,
        "majoration": 0,  # empty: no majoration
        "date": TODAY,
    }
    out_of_town = _tariff(tranche="hors", majoration="3", date="2027-01-04")
    assert out_of_town.cleaned["tranche"] is None  # the out-of-town rate has no bracket
    assert out_of_town.cleaned["majoration"] == 300
    assert out_of_town.cleaned["date"] == dt.date(2027, 1, 4)


def test_tariff_form_says_what_is_wrong_field_by_field_in_order():
    form = _tariff(activite="", tranche="x", prix="deux", majoration="trois", date="09/12/2026")
    assert list(form.errors) == ["activite", "tranche", "prix", "majoration", "date"]
    assert form.errors["prix"] == "Indiquez le prix d’un jour en euros, par exemple 2,10."
    assert "jamais avant" in form.errors["date"]  # yesterday, beside the other errors
    assert form.values["prix"] == "deux"  # redisplayed as typed
    assert list(_tariff(prix="").errors) == ["prix", "date"]
    assert _tariff(date="31/02/2027").errors["date"].startswith("Indiquez la date")


def test_paperless_form_accepts_two_modes_and_points_at_the_first_radio():
    assert PaperlessForm.bind({"mode": "courriel"}).cleaned == {"mode": "courriel"}
    assert PaperlessForm.bind({"mode": "papier"}).valid
    for data in ({"mode": "pigeon"}, {}):
        form = PaperlessForm.bind(data)
        assert list(form.errors) == ["mode-courriel"]
        assert form.errors["mode-courriel"].startswith("Choisissez la facture électronique")


def test_billing_form_reads_a_month():
    assert BillingStartForm.bind({"mois": "2026-11"}).cleaned == {
        "mois": dt.date(2026, 11, 1),
        "confirmation": False,
    }
    for value in ("", "2026-13", "novembre"):
        assert BillingStartForm.bind({"mois": value}).errors == {
            "mois": "Choisissez le mois à facturer."
        }


def test_credit_note_form_needs_lines_and_a_reason():
    form = CreditNoteForm.bind({"ligne": ["4", "x", "7"], "motif": " Sortie "})
    # No reason chosen in the list: « autre », whose words are the reason.
    assert form.cleaned == {"ligne": [4, 7], "jour": {}, "raison": "autre", "motif": "Sortie"}
    form = CreditNoteForm.bind({"ligne": ["x"]})
    assert list(form.errors) == ["ligne", "motif"]
    assert form.values["ligne"] == ["x"]


def test_month_choices_go_back_a_year_from_this_month():
    months = month_choices(dt.date(2026, 2, 14))
    assert len(months) == 13
    assert months[0] == {"value": "2026-02", "label": "février 2026"}
    assert months[1]["value"] == "2026-01" and months[2]["value"] == "2025-12"
    assert months[-1]["value"] == "2025-02"


def test_billing_form_confirms_only_the_month_chosen():
    confirmed = BillingStartForm.bind({"mois": "2026-12", "confirmation": "2026-12"})
    assert confirmed.cleaned["confirmation"] is True
    other = BillingStartForm.bind({"mois": "2027-01", "confirmation": "2026-12"})
    assert other.valid and other.cleaned["confirmation"] is False


def test_credit_note_form_reads_days_of_lines_and_a_listed_reason():
    form = CreditNoteForm.bind(
        {
            "jour": [
                "4-2026-11-02",
                "4-2026-11-05",
                "x-2026-11-03",
                "4-2026-13-01",
                "7-2026-11-09",
            ],
            "raison": "sortie_scolaire",
        }
    )
    assert form.valid, form.errors
    assert form.cleaned["jour"] == {
        4: [dt.date(2026, 11, 2), dt.date(2026, 11, 5)],
        7: [dt.date(2026, 11, 9)],
    }
    assert form.cleaned["raison"] == "sortie_scolaire" and form.cleaned["motif"] == ""
    autre = CreditNoteForm.bind({"jour": ["4-2026-11-02"], "raison": "autre"})
    assert autre.errors == {"motif": "Indiquez le motif de l’avoir."}
    wrong = CreditNoteForm.bind({"ligne": "4", "raison": "gratuit", "motif": "x"})
    assert list(wrong.errors) == ["raison"]


def test_refund_form_needs_a_mode_a_past_date_and_a_reference_for_transfers():
    form = RefundForm.bind(
        {"mode": "virement", "date": "10/12/2026", "reference": "VIR-1"}, today=TODAY
    )
    assert form.cleaned == {"mode": "virement", "date": TODAY, "reference": "VIR-1"}
    assert RefundForm.bind({"mode": "especes", "date": "09/12/2026"}, today=TODAY).valid
    assert RefundForm.bind({"mode": "cheque", "date": "09/12/2026"}, today=TODAY).errors == {
        "reference": "Indiquez la référence du virement ou le numéro du chèque."
    }
    wrong = RefundForm.bind({"mode": "bitcoin", "date": "11/12/2026"}, today=TODAY)
    assert list(wrong.errors) == ["mode", "date"]
    assert "futur" in wrong.errors["date"]


def test_billing_month_choices_start_with_the_next_month():
    months = billing_month_choices(dt.date(2026, 12, 1))
    assert [m["value"] for m in months[:3]] == ["2027-01", "2026-12", "2026-11"]
    assert len(months) == 14
