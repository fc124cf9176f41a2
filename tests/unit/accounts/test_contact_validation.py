"""Field-by-field validation of contact changes (E3): phones, e-mail, postcode; pure."""

from __future__ import annotations

import pytest

from ecp.accounts import contact

CURRENT = {
    "address_line1": "1 rue de la République",
    "address_line2": "",
    "postcode": "78999",
    "city": "Villebelle-sur-Seine",
    "phone_mobile": "06 94 70 61 25",
    "phone_home": "",
    "phone_work": "",
    "email": "claire@example.org",
}


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("0612345678", "06 12 34 56 78"),
        ("06.12.34.56.78", "06 12 34 56 78"),
        ("+33 6 12 34 56 78", "06 12 34 56 78"),
        ("0033612345678", "06 12 34 56 78"),
        ("+44 20 7946 0958", "+44 20 7946 0958"),
        ("", ""),
    ],
)
def test_valid_phones_are_normalised(raw, expected):
    assert contact.normalise_phone(raw) == (expected, None)


@pytest.mark.parametrize("raw", ["12", "06 12", "abcdefghij", "06 12 34 56 78 90 12", "+999 1"])
def test_invalid_phones_get_a_french_message(raw):
    value, error = contact.normalise_phone(raw)
    assert value is None and "numéro" in error


@pytest.mark.parametrize(
    "raw,ok",
    [
        ("a@b.fr", True),
        ("Prenom.Nom@Exemple.FR", True),
        ("a@b", False),
        ("a b@c.fr", False),
        ("@exemple.fr", False),
        ("a@@b.fr", False),
        ("<a>@b.fr", False),
        ("a@-b.fr", False),
    ],
)
def test_email_syntax(raw, ok):
    value, error = contact.normalise_email(raw)
    assert (error is None) is ok
    if ok:
        assert value == raw.lower()


def test_unchanged_fields_are_not_judged_again():
    # The stored mobile predates the rules (phonenumbers rejects it): resubmitting is fine.
    result = contact.clean(dict(CURRENT, city="Paris", postcode="75011"), CURRENT)
    assert result.errors == {}
    assert contact.differences(result.values, CURRENT) == {
        "postcode": {"before": "78999", "after": "75011"},
        "city": {"before": "Villebelle-sur-Seine", "after": "Paris"},
    }


@pytest.mark.parametrize("postcode", ["7899", "789999", "ABCDE", "78 999x"])
def test_postcode_has_five_digits(postcode):
    assert "postcode" in contact.clean(dict(CURRENT, postcode=postcode), CURRENT).errors


def test_required_fields_cannot_be_emptied_and_one_phone_is_needed():
    result = contact.clean(
        dict(CURRENT, address_line1="", city="", email="", phone_mobile=""), CURRENT
    )
    assert set(result.errors) == {"address_line1", "city", "email", "phone_mobile"}


def test_unknown_keys_are_never_read():
    result = contact.clean(dict(CURRENT, family_id="2", is_staff="1", code="F9"), CURRENT)
    assert set(result.values) == set(contact.FIELDS)
