"""The family's account forms of ecp.accounts.forms."""

from __future__ import annotations

from ecp.accounts.forms import NOTHING_CHANGED, ContactChangeForm, ForgottenForm, RemindersForm

GUARDIAN = {
    "id": 1,
    "address_line1": "1 rue de la République",
    "address_line2": "",
    "postcode": "78999",
    "city": "Ecp",
    "phone_mobile": "06 12 34 56 78",
    "phone_home": "",
    "phone_work": "",
    "email": "claire@example.org",
}


def _as_typed(**changes):
    return {**{k: v for k, v in GUARDIAN.items() if k != "id"}, **changes}


def test_the_change_requested_is_only_what_differs():
    form = ContactChangeForm.bind(_as_typed(city="Versailles"), current=GUARDIAN)
    assert form.valid
    assert form.cleaned == {"city": {"before": "Ecp", "after": "Versailles"}}


def test_nothing_changed_is_refused_on_the_first_field():
    form = ContactChangeForm.bind(_as_typed(), current=GUARDIAN)
    assert form.errors == {"address_line1": NOTHING_CHANGED}


def test_the_contact_rules_are_those_of_the_contact_module():
    form = ContactChangeForm.bind(_as_typed(postcode="789", phone_mobile=""), current=GUARDIAN)
    assert set(form.errors) == {"postcode", "phone_mobile"}
    assert form.values["postcode"] == "789"  # what was typed, for redisplay


def test_the_initial_form_shows_the_details_as_recorded():
    form = ContactChangeForm.of({**GUARDIAN, "address_line2": None})
    assert form.values["city"] == "Ecp" and form.values["address_line2"] == ""


def test_the_forgotten_form_needs_an_identifier_and_reminders_are_yes_or_no():
    assert ForgottenForm.bind({"identifiant": "  "}).errors
    assert ForgottenForm.bind({"identifiant": " F00001 "}).cleaned["identifiant"] == "F00001"
    assert RemindersForm.bind({"rappels": "oui"}).cleaned["rappels"] is True
    assert RemindersForm.bind({"rappels": "non"}).cleaned["rappels"] is False
    assert RemindersForm.bind({}).cleaned["rappels"] is False
