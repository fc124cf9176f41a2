"""ecp.web.forms: declared fields read the body, clean it, and say in French what is wrong."""

from __future__ import annotations

import datetime as dt

from ecp.errors import Rejected
from ecp.web.forms import Checkbox, Choice, Day, Euros, Form, Ids, Integer, Invalid, Password, Text


class TariffLike(Form):
    nom = Text("Nom", required="Saisissez le nom.", max_length=10)
    prix = Euros("Prix", required="Indiquez le prix.", invalid="Indiquez un montant en euros.")
    quand = Day("Date", invalid="Indiquez la date au format JJ/MM/AAAA.")
    places = Integer("Places", low=1, high=500, invalid="Entre 1 et 500 places.")
    mode = Choice("Mode", [("especes", "Espèces"), ("cheque", "Chèque")], required="Choisissez.")
    accord = Checkbox("J’accepte")
    enfants = Ids("Enfants")
    secret = Password("Mot de passe")

    def clean_prix(self, cents):
        if cents == 0:
            raise Invalid("Un tarif n’est jamais gratuit.")
        return cents

    def clean(self):
        if self.cleaned["mode"] == "cheque" and self.cleaned["prix"] > 100_000:
            raise Invalid("Un chèque ne dépasse pas 1 000 €.", field="prix")


def test_a_valid_body_gives_python_values_and_keeps_what_was_typed():
    form = TariffLike.bind(
        {
            "nom": "  Cantine  ",
            "prix": "12,50",
            "quand": "07/12/2026",
            "places": "30",
            "mode": "especes",
            "accord": "oui",
            "enfants": ["3", "x", "5"],
            "secret": " a b ",
        }
    )
    assert form.valid, form.errors
    assert form.cleaned == {
        "nom": "Cantine",
        "prix": 1250,
        "quand": dt.date(2026, 12, 7),
        "places": 30,
        "mode": "especes",
        "accord": True,
        "enfants": [3, 5],
        "secret": " a b ",
    }
    assert form.value("prix") == "12,50" and form.value("nom") == "Cantine"


def test_each_wrong_field_gets_its_own_french_message_in_field_order():
    form = TariffLike.bind(
        {"nom": "", "prix": "douze", "quand": "31/02/2026", "places": "0", "mode": "carte"}
    )
    assert not form.valid
    assert form.errors == {
        "nom": "Saisissez le nom.",
        "prix": "Indiquez un montant en euros.",
        "quand": "Indiquez la date au format JJ/MM/AAAA.",
        "places": "Entre 1 et 500 places.",
        "mode": "Vérifiez « Mode ».",
    }
    assert [item["href"] for item in form.summary()] == [
        "#nom",
        "#prix",
        "#quand",
        "#places",
        "#mode",
    ]
    assert form.value("prix") == "douze"  # redisplayed as typed


def test_field_hooks_and_the_form_rule_run_only_on_parsed_values():
    assert TariffLike.bind({"nom": "A", "prix": "0", "mode": "especes"}).errors == {
        "prix": "Un tarif n’est jamais gratuit."
    }
    assert TariffLike.bind({"nom": "A", "prix": "1500", "mode": "cheque"}).errors == {
        "prix": "Un chèque ne dépasse pas 1 000 €."
    }
    # The cross-field rule does not run while a field is wrong (it would read a missing value).
    assert TariffLike.bind({"nom": "", "prix": "1500", "mode": "cheque"}).errors == {
        "nom": "Saisissez le nom."
    }


def test_optional_fields_stay_empty_and_text_is_capped():
    form = TariffLike.bind({"nom": "x" * 50, "prix": "1", "mode": "cheque"})
    assert form.valid
    assert form.cleaned["nom"] == "x" * 10
    assert form.cleaned["quand"] is None and form.cleaned["places"] is None
    assert form.cleaned["accord"] is False and form.cleaned["enfants"] == []


def test_a_repeated_key_or_odd_types_never_raise():
    form = TariffLike.bind({"nom": ["A", "B"], "prix": ["2"], "mode": ["especes"], "enfants": "7"})
    assert form.valid and form.cleaned["nom"] == "A" and form.cleaned["enfants"] == [7]
    assert not TariffLike.bind(None).valid


def test_a_service_refusal_is_filed_under_its_field():
    form = TariffLike.bind({"nom": "A", "prix": "1", "mode": "especes"})
    form.reject(Rejected("Un tarif existe déjà à cette date.", field="quand"))
    form.reject(Rejected("Refusé."), default_field="nom")
    assert form.errors == {"quand": "Un tarif existe déjà à cette date.", "nom": "Refusé."}


def test_subclasses_inherit_fields_and_the_base_form_stays_a_free_holder():
    class More(TariffLike):
        note = Text("Note")

    assert list(More.fields)[-1] == "note" and "prix" in More.fields
    assert "note" not in TariffLike.fields
    free = Form(values={"x": "1"})
    free.error("x", "Faux.")
    assert free.errors == {"x": "Faux."} and not free.valid
    assert TariffLike.initial(nom="Garderie").value("nom") == "Garderie"
