"""The back office's forms: every French message under the key the error summary links to,
the values cleaned for the services, and what is left to the services and queries."""

from __future__ import annotations

import datetime as dt

from ecp.backoffice.forms import ChildForm, FamilyForm, JournalFilterForm, RequestDecisionForm
from ecp.errors import Rejected

FAMILY = {
    "nom_famille": " Nguyen ",
    "civilite": "Mme",
    "prenom": "Mei",
    "nom": "Nguyen",
    "address_line1": "4 allée  des Peupliers",
    "postcode": "78999",
    "city": "Villebelle-sur-Seine",
    "phone_mobile": "0611223344",
    "email": "Mei.Nguyen@Example.org",
    "quotient_familial": "640",
    "hors_commune": "oui",
}
CHILD = {
    "prenom": "Noé",
    "nom": "Martin",
    "naissance": "14/03/2020",
    "niveau": "GS",
    "ecole": "3",
    "regime": "sans_porc",
    "sante": "Allergie aux œufs",
    "allergie": "oui",
}


def test_family_form_cleans_what_create_family_takes():
    form = FamilyForm.bind(FAMILY)
    assert form.valid, form.errors
    values = form.family()
    assert values["name"] == "Nguyen" and values["qf"] == 640 and values["out_of_town"] is True
    guardian = values["guardian"]
    assert guardian["phone_mobile"] == "06 11 22 33 44"
    assert guardian["email"] == "mei.nguyen@example.org"
    assert guardian["address_line1"] == "4 allée des Peupliers" and guardian["phone_home"] == ""
    assert (guardian["civility"], guardian["first_name"], guardian["last_name"]) == (
        "Mme",
        "Mei",
        "Nguyen",
    )


def test_family_form_messages_in_the_order_of_the_page():
    form = FamilyForm.bind(
        {
            **FAMILY,
            "nom_famille": "",
            "civilite": "Mlle",
            "prenom": "",
            "postcode": "12",
            "phone_mobile": "123",
            "email": "x@",
            "quotient_familial": "beaucoup",
        }
    )
    assert form.errors == {
        "nom_famille": "Saisissez le nom de la famille.",
        "civilite": "Choisissez une civilité.",
        "prenom": "Saisissez le prénom du responsable.",
        "postcode": "Le code postal comporte 5 chiffres, par exemple 78999.",
        "phone_mobile": "Ce numéro de téléphone n’existe pas : vérifiez le nombre de chiffres.",
        "email": "Saisissez une adresse électronique valide, par exemple nom@exemple.fr.",
        "quotient_familial": "Le quotient familial est un nombre entier, par exemple 720.",
    }
    assert list(form.errors) == [e["href"][1:] for e in form.summary()]
    assert form.values["postcode"] == "12" and form.values["city"] == "Villebelle-sur-Seine"


def test_family_form_empty_civility_and_quotient_are_allowed():
    form = FamilyForm.bind({**FAMILY, "civilite": "", "quotient_familial": "", "hors_commune": ""})
    assert form.valid
    values = form.family()
    assert values["guardian"]["civility"] == "" and values["qf"] is None
    assert values["out_of_town"] is False


def test_family_form_requires_an_address_and_a_phone():
    form = FamilyForm.bind({"nom_famille": "A", "prenom": "B", "nom": "C"})
    assert form.errors == {
        "address_line1": "Saisissez l’adresse (numéro et voie).",
        "postcode": "Saisissez le code postal.",
        "city": "Saisissez la commune.",
        "phone_mobile": "Indiquez au moins un numéro de téléphone.",
    }


def test_child_form_cleans_the_columns():
    form = ChildForm.bind(CHILD, school_ids={3}, editing=False)
    assert form.valid, form.errors
    assert form.child() == {
        "first_name": "Noé",
        "last_name": "Martin",
        "birth_date": dt.date(2020, 3, 14),
        "level": "GS",
        "school": 3,
        "school_class": None,
        "diet": "sans_porc",
        "health_notes": "Allergie aux œufs",
        "has_allergy": True,
        "needs_support": False,
        "active": True,  # a new child is active: the box is not on the page
    }


def test_child_form_active_box_counts_when_editing():
    assert ChildForm.bind(CHILD, school_ids={3}, editing=True).child()["active"] is False
    edited = ChildForm.bind({**CHILD, "actif": "oui"}, school_ids={3}, editing=True)
    assert edited.child()["active"] is True
    assert ChildForm.bind({**CHILD, "ecole": ""}, school_ids=set()).child()["school"] is None
    # A class must be one of those offered (class_ids).
    assert ChildForm.bind({**CHILD, "classe": "4"}, school_ids={3}, class_ids={4}).valid
    offered = ChildForm.bind({**CHILD, "classe": "5"}, school_ids={3}, class_ids={4})
    assert offered.errors == {"classe": "Choisissez une classe de la liste."}


def test_child_form_messages():
    form = ChildForm.bind(
        {"prenom": "", "nom": "", "naissance": "31/02/2020", "niveau": "6e", "ecole": "999"},
        school_ids={3},
    )
    assert form.errors == {
        "prenom": "Saisissez le prénom de l’enfant.",
        "nom": "Saisissez le nom de l’enfant.",
        "naissance": "Saisissez la date de naissance, par exemple 04/05/2019.",
        "niveau": "Choisissez le niveau scolaire.",
        "ecole": "Choisissez une école de la liste.",
        "regime": "Choisissez un régime.",
    }
    assert ChildForm.bind({**CHILD, "naissance": ""}, school_ids={3}).errors == {
        "naissance": "Saisissez la date de naissance, par exemple 04/05/2019."
    }
    assert "ecole" in ChildForm.bind({**CHILD, "ecole": "abc"}, school_ids={3}).errors


def test_child_form_of_a_recorded_child():
    form = ChildForm.of_child(
        {
            "first_name": "Léa",
            "last_name": "Martin",
            "birth_date": dt.date(2019, 5, 4),
            "level": "CE1",
            "school": None,
            "school_class": 7,
            "diet": "standard",
            "health_notes": "Asthme",
            "has_allergy": False,
            "needs_support": True,
            "active": True,
        }
    )
    assert form.values["naissance"] == "2019-05-04" and form.values["ecole"] == ""
    assert form.values["classe"] == "7"
    assert form.values["sante"] == "Asthme" and form.values["accompagnement"] is True
    assert form.errors == {}


def test_decision_form_keys_its_errors_by_request():
    refused = RequestDecisionForm.bind({"decision": "refuser", "motif": " "}, request_id=7)
    assert refused.errors == {"motif-7": "Indiquez le motif du refus : il est envoyé à la famille."}
    nothing = RequestDecisionForm.bind({"decision": "appliquer"}, request_id=7)
    assert nothing.errors == {
        "champ-7": "Cochez au moins une information à appliquer, ou refusez la demande."
    }
    other = RequestDecisionForm.bind({"decision": "effacer", "champ": "email"}, request_id=7)
    assert other.errors == {"champ-7": "Choisissez d’appliquer ou de refuser la demande."}


def test_decision_form_applies_the_ticked_fields_only_when_applying():
    applying = RequestDecisionForm.bind(
        {"decision": "appliquer", "champ": ["email", "phone_mobile"]}, request_id=1
    )
    assert applying.valid and applying.apply_fields() == ["email", "phone_mobile"]
    refusing = RequestDecisionForm.bind(
        {"decision": "refuser", "champ": ["email"], "motif": "Doublon."}, request_id=1
    )
    assert refusing.valid and refusing.apply_fields() == []
    assert refusing.cleaned["motif"] == "Doublon."
    assert refusing.values["champ"] == ["email"]


def test_journal_filter_ignores_unknown_actions_and_agents():
    form = JournalFilterForm.bind({"action": "drop_table", "agent": "moi", "famille": " f00001 "})
    assert form.valid
    assert form.filters() == {
        "action": None,
        "staff_id": None,
        "family_code": "F00001",
        "since": None,
        "until": None,
    }
    assert form.query() == {"action": "drop_table", "agent": "moi", "famille": "f00001"}
    known = JournalFilterForm.bind({"action": "family_disabled", "agent": "4"})
    assert known.filters()["action"] == "family_disabled" and known.filters()["staff_id"] == 4


def test_journal_filter_dates_and_a_refused_code_in_page_order():
    form = JournalFilterForm.bind({"du": "hier", "au": "2026-11-30", "famille": "F9"})
    assert form.errors == {"du": "Saisissez une date, par exemple 29/11/2026."}
    assert form.filters()["until"] == dt.date(2026, 11, 30) and form.filters()["since"] is None
    form.reject(Rejected("Aucune famille n’a ce code.", field="famille"))
    assert list(form.errors) == ["famille", "du"]
