"""The family's Accueil's forms: « Mon enfant est malade aujourd'hui » (declare, take back)."""

from __future__ import annotations

from ecp.web.forms import Day, Form, Invalid


class IllnessForm(Form):
    """The day the confirmation named: a page left open past midnight must not declare the
    next day by surprise. Bound with `today`."""

    jour = Day(
        "Jour de l’absence",
        required="Le jour de l’absence manque : rechargez la page d’accueil.",
        invalid="Le jour de l’absence est illisible : rechargez la page d’accueil.",
    )

    def clean_jour(self, day):
        if day != self.context["today"]:
            raise Invalid(
                "Une absence pour maladie se déclare pour aujourd’hui seulement : "
                "rechargez la page d’accueil."
            )
        return day
