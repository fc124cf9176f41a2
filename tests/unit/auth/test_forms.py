"""The login, code and password forms of ecp.auth.forms: what they refuse before any account
is looked at, and in which order they say it."""

from __future__ import annotations

from ecp.auth import forms
from ecp.auth.policy import MISMATCH, MISSING_NEW, new_password_errors
from ecp.errors import Rejected


def test_the_login_form_asks_for_both_fields_and_keeps_the_password_as_typed():
    empty = forms.FamilyLoginForm.bind({"code_famille": " ", "mot_de_passe": ""})
    assert list(empty.errors) == ["code_famille", "mot_de_passe"]
    assert empty.errors["code_famille"] == "Saisissez votre code famille."
    form = forms.StaffLoginForm.bind(
        {"identifiant": "  agent ", "mot_de_passe": " espace ", "next": "/agents/x"}
    )
    assert form.valid
    assert form.cleaned == {"identifiant": "agent", "mot_de_passe": " espace ", "next": "/agents/x"}


def test_a_code_is_cleaned_and_one_that_cannot_be_a_code_is_refused_before_any_check():
    assert forms.CodeForm.bind({"code": " 123 456 "}).cleaned["code"] == "123456"
    assert forms.CodeForm.bind({"code": "123-456"}).cleaned["code"] == "123456"
    missing = forms.CodeForm.bind({"code": " - "})
    assert missing.errors == {"code": forms.MISSING_CODE} and "code" not in missing.cleaned
    letters = forms.CodeForm.bind({"code": "12ab56"})
    assert letters.errors == {"code": forms.MALFORMED_CODE}
    # A code to correct is shown again; a well-formed one (spent, or wrong) is not.
    assert letters.values["code"] == "12ab56"
    assert "code" not in forms.CodeForm.bind({"code": "123456"}).values


def test_a_refusal_of_the_service_takes_its_place_in_the_order_of_the_page():
    form = forms.AuthenticatorForm.bind({"cle": "x", "mot_de_passe_actuel": "mauvais", "code": ""})
    assert list(form.errors) == ["code"]
    form.reject(Rejected("Le mot de passe actuel est incorrect.", field="mot_de_passe_actuel"))
    assert list(form.errors) == ["mot_de_passe_actuel", "code"]
    assert [item["href"] for item in form.summary()] == ["#mot_de_passe_actuel", "#code"]


def test_an_expired_key_is_the_only_thing_said():
    form = forms.AuthenticatorForm.expired("La clé proposée a expiré.")
    assert form.errors == {"code": "La clé proposée a expiré."}


def test_the_new_password_rules_give_at_most_one_message():
    assert new_password_errors("", "") == {"nouveau_mot_de_passe": MISSING_NEW}
    assert list(new_password_errors("court", "autre")) == ["nouveau_mot_de_passe"]
    phrase = "le chat dort sur le piano"
    assert new_password_errors(phrase, phrase + "!") == {"confirmation": MISMATCH}
    assert new_password_errors(phrase, phrase) == {}
    assert (
        "15 caractères"
        in new_password_errors("douze caract", "", staff=True)["nouveau_mot_de_passe"]
    )


def test_the_reset_form_forbids_what_its_context_says():
    data = {"nouveau_mot_de_passe": "F00001 dort sur le piano"}
    data["confirmation"] = data["nouveau_mot_de_passe"]
    assert forms.NewPasswordForm.bind(data).valid
    refused = forms.NewPasswordForm.bind(data, forbidden=("F00001",))
    assert list(refused.errors) == ["nouveau_mot_de_passe"]
    assert "identifiant" in refused.errors["nouveau_mot_de_passe"]
    mismatch = forms.NewPasswordForm.bind({**data, "confirmation": "autre"})
    assert mismatch.errors == {"confirmation": MISMATCH}
