"""The family record's forms: two responsables at creation (who pays, who gets the e-mails),
a responsable changed on the record, a contact, a quotient familial from a day, the
confirmation of a new password; each French message under the key its summary links to."""

from __future__ import annotations

import datetime as dt

from ecp.backoffice.forms import (
    ConfirmForm,
    FamilyContactForm,
    FamilyDetailsForm,
    FamilyForm,
    GuardianForm,
    QuotientForm,
)

FIRST = {
    "nom_famille": "Nguyen",
    "civilite": "Mme",
    "prenom": "Mei",
    "nom": "Nguyen",
    "address_line1": "4 allée des Peupliers",
    "postcode": "78999",
    "city": "Villebelle-sur-Seine",
    "phone_mobile": "0611223344",
    "email": "mei@example.org",
}
SECOND = {
    "r2_civilite": "M.",
    "r2_prenom": "Bao",
    "r2_nom": "Tran",
    "r2_phone_mobile": "0622334455",
    "r2_email": "Bao@Example.org",
}


def test_one_responsable_pays_and_gets_the_mail_by_default():
    form = FamilyForm.bind({**FIRST, "jeton": "k1"})
    assert form.valid, form.errors
    values = form.family()
    assert values["second"] is None and values["payer"] == 1 and values["emails"] == "1"
    assert values["creation_key"] == "k1" and values["check_duplicates"] is True
    assert values["qf"] is None and values["qf_from"] is None and values["notes"] == ""


def test_a_second_responsable_at_the_same_address():
    form = FamilyForm.bind(
        {
            **FIRST,
            **SECOND,
            "r2_meme_adresse": "oui",
            "r2_address_line1": "ignoré",
            "payeur": "2",
            "courriels": "les_deux",
            "quotient_familial": "720",
            "qf_depuis": "01/01/2027",
            "qf_source": "caf",
            "notes": "Garde alternée.",
            "doublon": "oui",
        }
    )
    assert form.valid, form.errors
    values = form.family()
    second = values["second"]
    assert second["first_name"] == "Bao" and second["civility"] == "M."
    assert second["address_line1"] == "4 allée des Peupliers" and second["postcode"] == "78999"
    assert second["email"] == "bao@example.org" and second["phone_mobile"] == "06 22 33 44 55"
    assert values["payer"] == 2 and values["emails"] == "les_deux"
    assert values["qf"] == 720 and values["qf_from"] == dt.date(2027, 1, 1)
    assert values["qf_source"] == "caf" and values["notes"] == "Garde alternée."
    assert values["check_duplicates"] is False


def test_a_second_responsable_needs_a_name_an_address_and_a_phone():
    form = FamilyForm.bind({**FIRST, "r2_email": "bao@example.org"})
    assert form.errors == {
        "r2_prenom": "Saisissez le prénom du second responsable.",
        "r2_nom": "Saisissez le nom du second responsable.",
        "r2_address_line1": "Saisissez l’adresse (numéro et voie).",
        "r2_postcode": "Saisissez le code postal.",
        "r2_city": "Saisissez la commune.",
        "r2_phone_mobile": "Indiquez au moins un numéro de téléphone.",
    }
    assert list(form.errors) == [e["href"][1:] for e in form.summary()]


def test_no_second_responsable_cannot_pay_or_get_the_mail():
    form = FamilyForm.bind({**FIRST, "payeur": "2", "courriels": "les_deux"})
    assert form.errors == {
        "payeur": "Le second responsable n’est pas renseigné : il ne peut pas payer.",
        "courriels": "Le second responsable n’est pas renseigné : il ne peut pas recevoir les "
        "courriels.",
    }
    bad = FamilyForm.bind({**FIRST, "payeur": "3", "courriels": "tous"})
    assert set(bad.errors) == {"payeur", "courriels"}


def test_the_second_one_gets_mail_only_with_an_address():
    form = FamilyForm.bind(
        {**FIRST, **SECOND, "r2_email": "", "r2_meme_adresse": "oui", "courriels": "2"}
    )
    assert form.errors == {
        "r2_email": "Saisissez l’adresse électronique du second responsable : il doit recevoir "
        "les courriels."
    }


def test_a_quotient_date_needs_its_quotient():
    form = FamilyForm.bind({**FIRST, "qf_depuis": "01/09/2026"})
    assert form.errors == {"quotient_familial": "Saisissez le quotient familial de cette date."}
    wrong = FamilyForm.bind({**FIRST, "quotient_familial": "720", "qf_depuis": "31/02/2026"})
    assert wrong.errors == {"qf_depuis": "Saisissez une date, par exemple 01/09/2026."}
    source = FamilyForm.bind({**FIRST, "quotient_familial": "720", "qf_source": "impots"})
    assert source.errors == {"qf_source": "Choisissez le justificatif du quotient familial."}


def test_guardian_form_keeps_unchanged_details_and_checks_new_ones():
    current = {
        "address_line1": "1 rue de la République",
        "address_line2": "",
        "postcode": "78999",
        "city": "Villebelle-sur-Seine",
        "phone_mobile": "06 12 34 56 78",
        "phone_home": "",
        "phone_work": "",
        "email": "",
    }
    data = {"civilite": "M.", "prenom": "Paul", "nom": "Martin", **current}
    form = GuardianForm.bind({**data, "phone_home": "0130303030", "payeur": "oui"}, current=current)
    assert form.valid, form.errors
    values = form.guardian()
    assert values["phone_home"] == "01 30 30 30 30" and values["is_payer"] is True
    assert values["receives_email"] is False and values["first_name"] == "Paul"
    mail = GuardianForm.bind({**data, "courriels": "oui"}, current=current)
    assert mail.errors == {
        "email": "Saisissez une adresse électronique, ou décochez « Reçoit les courriels »."
    }
    new = GuardianForm.bind({"prenom": "", "nom": "Tran"})
    assert list(new.errors) == ["prenom", "address_line1", "postcode", "city", "phone_mobile"]


def test_guardian_form_of_a_recorded_guardian():
    form = GuardianForm.of_guardian(
        {
            "civility": "Mme",
            "first_name": "Claire",
            "last_name": "Martin",
            "is_payer": True,
            "receives_email": False,
            "address_line1": "1 rue",
            "address_line2": None,
            "postcode": "78999",
            "city": "V",
            "phone_mobile": "06",
            "phone_home": "",
            "phone_work": "",
            "email": "c@example.org",
        }
    )
    assert form.values["prenom"] == "Claire" and form.values["payeur"] is True
    assert form.values["courriels"] is False and form.values["address_line2"] == ""


def test_details_form():
    form = FamilyDetailsForm.bind({"nom_famille": " Martin-Durand ", "notes": "PAI à jour."})
    assert form.details() == {"name": "Martin-Durand", "out_of_town": False, "notes": "PAI à jour."}
    assert FamilyDetailsForm.bind({}).errors == {"nom_famille": "Saisissez le nom de la famille."}


def test_quotient_form():
    form = QuotientForm.bind({"valeur": "845", "depuis": "01/01/2027", "source": "caf"})
    assert form.quotient() == {
        "value": 845,
        "effective_from": dt.date(2027, 1, 1),
        "source": "caf",
    }
    assert QuotientForm.bind({"valeur": "beaucoup", "depuis": "hier", "source": "x"}).errors == {
        "valeur": "Le quotient familial est un nombre entier, par exemple 720.",
        "depuis": "Saisissez une date, par exemple 01/01/2027.",
        "source": "Choisissez le justificatif du quotient familial.",
    }
    assert set(QuotientForm.bind({}).errors) == {"valeur", "depuis", "source"}


def test_contact_form_needs_a_role_and_a_phone_to_call():
    form = FamilyContactForm.bind(
        {
            "prenom": "Jeanne",
            "nom": "Martin",
            "lien": "grand-mère",
            "telephone": "0611223344",
            "urgence": "oui",
            "recuperer": "oui",
        }
    )
    assert form.contact() == {
        "first_name": "Jeanne",
        "last_name": "Martin",
        "relationship": "grand-mère",
        "phone": "06 11 22 33 44",
        "emergency": True,
        "may_collect": True,
    }
    no_role = FamilyContactForm.bind({"prenom": "J", "nom": "M", "telephone": "0611223344"})
    assert list(no_role.errors) == ["urgence"]
    no_phone = FamilyContactForm.bind({"prenom": "J", "nom": "M", "urgence": "oui"})
    assert no_phone.errors == {
        "telephone": "Saisissez le téléphone de la personne à prévenir en cas d’urgence."
    }
    collect_only = FamilyContactForm.bind({"prenom": "J", "nom": "M", "recuperer": "oui"})
    assert collect_only.valid and collect_only.contact()["phone"] == ""
    bad_phone = FamilyContactForm.bind(
        {"prenom": "J", "nom": "M", "telephone": "12", "recuperer": "oui"}
    )
    assert list(bad_phone.errors) == ["telephone"]


def test_confirm_form():
    assert ConfirmForm.bind({"confirmer": "oui"}).valid
    assert ConfirmForm.bind({}).errors == {
        "confirmer": "Cochez la case pour confirmer : l’ancien mot de passe ne fonctionnera plus."
    }
