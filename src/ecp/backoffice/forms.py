"""Parsing of the staff forms (family creation, child) into clean values and French errors."""

from __future__ import annotations

from typing import Any

from ecp.accounts import contact
from ecp.backoffice.services import parse_date
from ecp.families.tables import LEVELS
from ecp.web.forms import Form, text
from ecp.web.params import parse_id, parse_int

CIVILITIES = [("Mme", "Mme"), ("M.", "M."), ("", "non précisé")]
DIETS = [("standard", "standard"), ("sans_porc", "sans porc"), ("sans_viande", "sans viande")]


def family_form(data: dict[str, Any]) -> tuple[Form, dict]:
    """(form, values) for a new family and its first responsable."""
    name = text(data, "nom_famille", 120)
    first, last = text(data, "prenom", 80), text(data, "nom", 80)
    civility = text(data, "civilite", 10)
    qf_raw = text(data, "quotient_familial", 10)
    # The address, phone and e-mail rules are the ones families get (ecp.accounts.contact).
    cleaned = contact.clean(data, current={"address_line1": "x", "postcode": "x", "city": "x"})
    form = Form(
        values={
            **cleaned.values,
            "nom_famille": name,
            "prenom": first,
            "nom": last,
            "civilite": civility,
            "quotient_familial": qf_raw,
            "hors_commune": text(data, "hors_commune") == "oui",
        }
    )
    if not name:
        form.error("nom_famille", "Saisissez le nom de la famille.")
    if not first:
        form.error("prenom", "Saisissez le prénom du responsable.")
    if not last:
        form.error("nom", "Saisissez le nom du responsable.")
    if civility not in dict(CIVILITIES):
        form.error("civilite", "Choisissez une civilité.")
    for field_name, message in cleaned.errors.items():
        form.error(field_name, message)
    qf = None
    if qf_raw:
        qf = parse_int(qf_raw, 0, 100000)
        if qf is None:
            form.error(
                "quotient_familial", "Le quotient familial est un nombre entier, par exemple 720."
            )
    guardian = {k: cleaned.values.get(k, "") for k in contact.FIELDS}
    guardian.update(civility=civility, first_name=first, last_name=last)
    return form, {
        "name": name,
        "guardian": guardian,
        "qf": qf,
        "out_of_town": form.values["hors_commune"],
    }


def child_form(data: dict[str, Any], school_ids: set[int], editing: bool) -> tuple[Form, dict]:
    first, last = text(data, "prenom", 80), text(data, "nom", 80)
    birth_raw, level = text(data, "naissance", 20), text(data, "niveau", 4)
    school_raw, diet = text(data, "ecole", 10), text(data, "regime", 20)
    notes = text(data, "sante", 2000)
    values = {
        "prenom": first,
        "nom": last,
        "naissance": birth_raw,
        "niveau": level,
        "ecole": school_raw,
        "regime": diet,
        "sante": notes,
        "allergie": text(data, "allergie") == "oui",
        "accompagnement": text(data, "accompagnement") == "oui",
        "actif": text(data, "actif") == "oui" if editing else True,
    }
    form = Form(values=values)
    if not first:
        form.error("prenom", "Saisissez le prénom de l’enfant.")
    if not last:
        form.error("nom", "Saisissez le nom de l’enfant.")
    birth = parse_date(birth_raw) if birth_raw else None
    if birth is None:
        form.error("naissance", "Saisissez la date de naissance, par exemple 04/05/2019.")
    if level not in LEVELS:
        form.error("niveau", "Choisissez le niveau scolaire.")
    school = parse_id(school_raw)
    if school_raw and school not in school_ids:
        form.error("ecole", "Choisissez une école de la liste.")
    if diet not in dict(DIETS):
        form.error("regime", "Choisissez un régime.")
    clean = {
        "first_name": first,
        "last_name": last,
        "birth_date": birth,
        "level": level,
        "school": school,
        "diet": diet,
        "health_notes": notes,
        "has_allergy": values["allergie"],
        "needs_support": values["accompagnement"],
        "active": values["actif"],
    }
    return form, clean
