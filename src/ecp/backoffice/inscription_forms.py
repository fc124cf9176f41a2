"""The staff inscriptions list's forms: its filters (a GET form) and the decision on the
inscriptions ticked (one post for many)."""

from __future__ import annotations

from typing import Any

from ecp.web.forms import Form, Ids, Invalid, Text
from ecp.web.params import parse_id

# « tous » is every state; the list opens on the requests to decide.
ALL = "tous"
DEFAULT_STATUS = "en_attente"
FILTERS = ("ecole", "activite", "niveau", "statut")


def _choice(form: Form, value: str, key: str, message: str) -> str:
    if value not in {code for code, _label in form.context["choices"][key]}:
        raise Invalid(message)
    return value


class InscriptionFilterForm(Form):
    """Bound with `choices` (inscription_queries.filter_choices) in its context: a value that
    is not one of the lists' is an error (422), not an empty filter."""

    ecole = Text("École", max_length=12)
    activite = Text("Activité", max_length=12)
    niveau = Text("Niveau", max_length=4)
    statut = Text("État", max_length=20)

    @classmethod
    def from_query(cls, query: dict[str, Any], choices: dict) -> InscriptionFilterForm:
        data = {name: query.get(name) or "" for name in FILTERS}
        if "statut" not in query:
            data["statut"] = DEFAULT_STATUS
        return cls.bind(data, choices=choices)

    def clean_ecole(self, value: str) -> str:
        return _choice(self, value, "schools", "Choisissez une école dans la liste.")

    def clean_activite(self, value: str) -> str:
        return _choice(self, value, "activities", "Choisissez une activité dans la liste.")

    def clean_niveau(self, value: str) -> str:
        return _choice(self, value, "levels", "Choisissez un niveau dans la liste.")

    def clean_statut(self, value: str) -> str:
        if value == ALL:
            return value
        return _choice(self, value, "statuses", "Choisissez un état dans la liste.")

    def filters(self) -> dict[str, Any]:
        """The keyword arguments of inscription_queries.staff_inscriptions (valid form)."""
        c = self.cleaned
        status = c.get("statut") or None
        return {
            "status": None if status == ALL else status,
            "school_id": parse_id(c["ecole"]) if c.get("ecole") else None,
            "activity_id": parse_id(c["activite"]) if c.get("activite") else None,
            "level": c.get("niveau") or None,
        }

    def query(self) -> dict[str, str]:
        """The filters as typed (links and the decision form's hidden fields)."""
        return {name: str(self.values.get(name) or "") for name in FILTERS}


class DecisionsForm(Form):
    """The inscriptions ticked and what to do with them; the rules (one ticked at least, a
    reason to refuse or end) are ecp.booking.inscriptions.decide_inscriptions'."""

    inscriptions = Ids("Inscriptions sélectionnées")
    decision = Text("Décision", max_length=20)
    motif = Text("Motif", max_length=300)
