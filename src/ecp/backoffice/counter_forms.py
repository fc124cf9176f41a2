"""The counter's forms: an inscription asked for by an agent (and perhaps validated at once),
and a child's illness for a day."""

from __future__ import annotations

from ecp.booking.forms import InscriptionRequestForm
from ecp.web.forms import Checkbox, Day, Form, Id


class CounterInscriptionForm(InscriptionRequestForm):
    """The family's own form, and whether the agent decides at once."""

    valider = Checkbox("Valider tout de suite")


class IllnessForm(Form):
    """Which child is ill, and on which day; the service says when the child has nothing
    booked that day."""

    enfant = Id("Enfant", required="Choisissez l’enfant malade.")
    jour = Day(
        "Jour",
        required="Donnez le jour de l’absence.",
        invalid="Saisissez une date, par exemple 07/12/2026.",
    )
