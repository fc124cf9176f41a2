"""Contact details a family may ask to change, and their field-by-field validation (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

# Only these guardian columns can be changed by a family; anything else posted is ignored
# (docs/security.md C4): the form never reads a key that is not listed here.
FIELDS: dict[str, str] = {
    "address_line1": "Adresse",
    "address_line2": "Complément d’adresse",
    "postcode": "Code postal",
    "city": "Commune",
    "phone_mobile": "Téléphone portable",
    "phone_home": "Téléphone fixe",
    "phone_work": "Téléphone professionnel",
    "email": "Adresse électronique",
}
MAX_LENGTH = {
    "address_line1": 200,
    "address_line2": 200,
    "postcode": 10,
    "city": 100,
    "phone_mobile": 20,
    "phone_home": 20,
    "phone_work": 20,
    "email": 200,
}
PHONE_FIELDS = ("phone_mobile", "phone_home", "phone_work")
EMAIL_RE = re.compile(
    r"^[^@\s<>\"',;]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
POSTCODE_RE = re.compile(r"^\d{5}$")


@dataclass
class Cleaned:
    values: dict[str, str]
    errors: dict[str, str]


def normalise_phone(raw: str) -> tuple[str | None, str | None]:
    """('06 12 34 56 78', None) or (None, message). French numbers in national format."""
    value = raw.strip()
    if not value:
        return "", None
    try:
        number = phonenumbers.parse(value, "FR")
    except phonenumbers.NumberParseException:
        return None, "Saisissez un numéro de téléphone valide, par exemple 06 12 34 56 78."
    if not phonenumbers.is_valid_number(number):
        return None, "Ce numéro de téléphone n’existe pas : vérifiez le nombre de chiffres."
    if number.country_code == 33:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL), None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL), None


def normalise_email(raw: str) -> tuple[str | None, str | None]:
    value = raw.strip()
    if not value:
        return "", None
    if len(value) > 200 or not EMAIL_RE.match(value):
        return None, "Saisissez une adresse électronique valide, par exemple nom@exemple.fr."
    # Stored in lower case: the forgotten-password form looks addresses up as typed.
    return value.lower(), None


def clean(data: dict, current: dict) -> Cleaned:
    """Validates the allowed fields only; `values` keeps what was typed, for redisplay."""
    values, errors, cleaned = {}, {}, {}
    for name in FIELDS:
        raw = data.get(name, "")
        if isinstance(raw, list):
            raw = raw[0] if raw else ""
        raw = str(raw)[: MAX_LENGTH[name] + 50]
        values[name] = raw.strip()
        if raw.strip() == (current.get(name) or "").strip():
            # Unchanged: what the service recorded is not re-judged (older data may predate
            # these rules), and it is not part of the request.
            cleaned[name] = current.get(name) or ""
            continue
        if name in PHONE_FIELDS:
            value, error = normalise_phone(raw)
        elif name == "email":
            value, error = normalise_email(raw)
        else:
            value, error = " ".join(raw.split()), None
            if len(value) > MAX_LENGTH[name]:
                error = f"{FIELDS[name]} : {MAX_LENGTH[name]} caractères au plus."
        if error:
            errors[name] = error
        else:
            cleaned[name] = value
    if (
        "postcode" not in errors
        and cleaned.get("postcode")
        and cleaned["postcode"] != current.get("postcode")
        and not POSTCODE_RE.match(cleaned["postcode"])
    ):
        errors["postcode"] = "Le code postal comporte 5 chiffres, par exemple 78999."
    for name, message in (
        ("address_line1", "Saisissez l’adresse (numéro et voie)."),
        ("postcode", "Saisissez le code postal."),
        ("city", "Saisissez la commune."),
        (
            "email",
            "Saisissez une adresse électronique : elle sert aux "
            "factures et au mot de passe oublié.",
        ),
    ):
        if name not in errors and not cleaned.get(name) and current.get(name):
            errors[name] = message
    if not any(cleaned.get(n, current.get(n, "")) for n in PHONE_FIELDS) and not any(
        n in errors for n in PHONE_FIELDS
    ):
        errors["phone_mobile"] = "Indiquez au moins un numéro de téléphone."
    return Cleaned(values={**values, **cleaned}, errors=errors)


def differences(cleaned: dict[str, str], current: dict) -> dict[str, dict[str, str]]:
    """{field: {before, after}} for the fields that really change."""
    return {
        name: {"before": current.get(name) or "", "after": cleaned[name]}
        for name in FIELDS
        if name in cleaned and cleaned[name] != (current.get(name) or "")
    }
