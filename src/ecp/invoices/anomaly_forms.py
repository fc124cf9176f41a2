"""The forms of the billing anomalies page: the month and filters of the list, and what the
régisseur does with the anomalies ticked (ecp.invoices.anomalies.handle has the rules)."""

from __future__ import annotations

from typing import Any

from ecp.invoices import anomalies, pricing
from ecp.web.forms import Choice, Form, Ids, Invalid, Text

MONTH_INVALID = "Choisissez un mois dans la liste."
STATE_INVALID = "Choisissez un état dans la liste."
KIND_INVALID = "Choisissez un type d’anomalie dans la liste."
ACTION_MISSING = "Choisissez ce que vous faites des anomalies cochées."
STATE_FILTERS = {"": "Tous les états", **{k: v.capitalize() for k, v in anomalies.STATES.items()}}
KIND_FILTERS = {"": "Tous les types", **anomalies.KIND_CHOICES}
ACTIONS = {
    anomalies.JUSTIFIED: "Justifiées",
    anomalies.CORRECTED: "Corrigées",
    anomalies.TO_HANDLE: "À traiter de nouveau",
}
ACTION_HINTS = {
    anomalies.JUSTIFIED: "L’anomalie est réelle et acceptée : dites pourquoi dans la note.",
    anomalies.CORRECTED: "Le pointage, la réservation ou le tarif a été corrigé.",
    anomalies.TO_HANDLE: "Annule un traitement fait par erreur.",
}


class Month(Text):
    """A month as "AAAA-MM", cleaned to its first day."""

    def __init__(self, label: str, **options: Any) -> None:
        super().__init__(label, max_length=7, invalid=MONTH_INVALID, empty=None, **options)

    def parse(self, value: str):
        try:
            return pricing.parse_month(value)
        except ValueError:
            return None


class FamilyCode(Text):
    """A family code as staff type it: « f00001 » is F00001."""

    def __init__(self, label: str, **options: Any) -> None:
        super().__init__(label, max_length=12, **options)

    def read(self, data: dict[str, Any]) -> Any:
        return super().read(data).upper()


class AnomalyFilterForm(Form):
    """The list's month and filters, read from the query string (all optional)."""

    # The controls' ids differ from the names: the handling form below has its own « etat ».
    mois = Month("Mois", key="filtre-mois")
    etat = Choice(
        "État", list(STATE_FILTERS.items()), invalid=STATE_INVALID, max_length=20, key="filtre-etat"
    )
    type = Choice(
        "Type d’anomalie", list(KIND_FILTERS.items()), invalid=KIND_INVALID, key="filtre-type"
    )
    famille = FamilyCode("Code famille", key="filtre-famille")

    def filters(self) -> dict:
        """The filters that are valid (a wrong one is left out, the others kept), for the query
        and for the links that keep them."""
        cleaned = self.cleaned
        return {
            "month": cleaned.get("mois"),
            "state": cleaned.get("etat") or "",
            "kind": cleaned.get("type") or "",
            "family_code": cleaned.get("famille") or "",
        }


class AnomalyHandleForm(Form):
    """The anomalies ticked and what becomes of them; the list's filters come along (hidden)
    so the page comes back as it was."""

    anomalie = Ids("Anomalies cochées", required="Cochez au moins une anomalie.")
    etat = Choice(
        "Ces anomalies sont",
        list(ACTIONS.items()),
        required=ACTION_MISSING,
        invalid=ACTION_MISSING,
        max_length=20,
    )
    note = Text("Note", max_length=500)
    # Hidden: never an error of their own, a value that is not one of the list's is dropped.
    mois = Text("Mois", max_length=7)
    filtre_etat = Text("État", max_length=20)
    filtre_type = Text("Type d’anomalie", max_length=30)
    filtre_famille = FamilyCode("Code famille")

    def clean(self) -> None:
        if self.cleaned["etat"] == anomalies.JUSTIFIED and not self.cleaned["note"]:
            raise Invalid(anomalies.NOTE_REQUIRED, field="note")

    def filters(self) -> dict:
        """The list's filters as they came (one that is not valid is dropped)."""
        values = {name: str(self.values.get(name) or "") for name in self.fields}
        try:
            month = pricing.parse_month(values["mois"]) if values["mois"] else None
        except ValueError:
            month = None
        return {
            "month": month,
            "state": values["filtre_etat"] if values["filtre_etat"] in anomalies.STATES else "",
            "kind": values["filtre_type"] if values["filtre_type"] in anomalies.LABELS else "",
            "family_code": values["filtre_famille"],
        }
