"""The form of a message to families: who (a school, an activity, a day), the subject and
the text; `compte` carries the number of families the preview showed."""

from __future__ import annotations

from ecp.backoffice.messages_queries import TARGETS
from ecp.web.forms import Choice, Day, Form, Id, Integer, Invalid, Text

MAX_SUBJECT = 150
MAX_BODY = 5000


class MessageForm(Form):
    cible = Choice(
        "Destinataires",
        TARGETS,
        required="Choisissez à qui écrire.",
        invalid="Choisissez à qui écrire.",
        max_length=20,
    )
    ecole = Id("École", invalid="Choisissez une école de la liste.")
    activite = Id("Activité", invalid="Choisissez une activité de la liste.")
    jour = Day("Jour", invalid="Saisissez le jour sous la forme 01/12/2026.")
    objet = Text("Objet", required="Saisissez l’objet du message.", max_length=MAX_SUBJECT)
    texte = Text("Message", required="Saisissez le texte du message.", max_length=MAX_BODY)
    compte = Integer("Familles prévues")
    envoyer = Text("Envoyer", max_length=5)

    def clean(self) -> None:
        target = self.cleaned["cible"]
        if target == "ecole" and self.cleaned["ecole"] is None:
            raise Invalid("Choisissez l’école dont vous voulez prévenir les familles.", "ecole")
        if target == "activite" and self.cleaned["activite"] is None:
            raise Invalid(
                "Choisissez l’activité dont vous voulez prévenir les familles.", "activite"
            )
        if target == "jour" and self.cleaned["jour"] is None:
            raise Invalid("Saisissez le jour dont vous voulez prévenir les familles.", "jour")

    @property
    def sending(self) -> bool:
        """The second button (« Envoyer »), after a preview; the first only previews."""
        return self.cleaned.get("envoyer") == "oui"

    def message(self) -> dict:
        c = self.cleaned
        target = c["cible"]
        return {
            "target": target,
            "school_id": c["ecole"],
            "activity_id": c["activite"] if target != "ecole" else None,
            "day": c["jour"] if target == "jour" else None,
            "subject": c["objet"],
            "body": c["texte"],
        }
