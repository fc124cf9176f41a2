"""Messages from the service to families (a strike, a trip, a menu change): written to the
families of a school, of an activity, or with a booking on a day; previewed with the number of
families and addresses; sent through the outbox, one e-mail per family and mail recipient
(ecp.families.queries.recipients_of), in one transaction with the message's row and its
journal line. An agent limited to some schools (ecp.auth.scope) writes to those only."""

from __future__ import annotations

from dataclasses import dataclass

from ecp import clock
from ecp.audit.services import record
from ecp.auth.principal import Principal
from ecp.auth.scope import school_scope
from ecp.backoffice import messages_queries as queries
from ecp.backoffice.tables import FamilyMessage
from ecp.commune.queries import commune_settings
from ecp.db import write_transaction
from ecp.errors import Rejected
from ecp.mail.outbox import queue_email
from ecp.web.plural import counted

KIND = "message"
NOBODY = "Aucune famille ne correspond : vérifiez l’école, l’activité ou le jour choisis."


class CountChanged(Rejected):
    """The families are no longer those of the preview (a booking, an inscription since):
    the preview is shown again before anything is sent."""


@dataclass(frozen=True)
class Preview:
    audience: queries.Audience
    subject: str
    body: str

    @property
    def summary(self) -> str:
        """« 12 familles et 19 adresses électroniques », and who has no address."""
        a = self.audience
        text = (
            f"{counted(a.families, 'famille')} et "
            f"{counted(a.recipients, 'adresse électronique', 'adresses électroniques')}"
        )
        if a.without_address:
            text += (
                f" ; {counted(a.without_address, 'famille n’a', 'familles n’ont')} pas "
                "d’adresse électronique et ne recevra rien : prévenez-les autrement"
            )
        return text


async def preview(actor: Principal, message: dict) -> Preview:
    """Who the message would reach. Rejected when the school or activity does not exist, is
    outside the agent's schools, or when no family would receive it."""
    scope = await school_scope(actor)
    school, activity = await queries.names(message["school_id"], message["activity_id"])
    if message["school_id"] is not None and (
        school is None or not scope.allows(message["school_id"])
    ):
        raise Rejected("Choisissez une école de la liste.", field="ecole")
    if message["activity_id"] is not None and activity is None:
        raise Rejected("Choisissez une activité de la liste.", field="activite")
    audience = await queries.audience(
        message["target"],
        school_id=message["school_id"],
        activity_id=message["activity_id"],
        day=message["day"],
        scope_ids=scope.ids,
    )
    if not audience.families:
        raise Rejected(NOBODY, field="cible")
    return Preview(audience, message["subject"], message["body"])


def render(subject: str, body: str, service: str, commune: str) -> tuple[str, str]:
    """(text, html) of the e-mail: the agent's text, its paragraphs kept, and the service's
    signature; no link, no image."""
    from ecp.web.templating import environment

    env = environment()
    paragraphs = [p.strip() for p in body.replace("\r\n", "\n").split("\n\n") if p.strip()]
    context = {
        "subject": subject,
        "body": body.strip(),
        "paragraphs": [p.split("\n") for p in paragraphs],
        "service": service,
        "commune": commune,
    }
    text = env.get_template("partials/mail/family_message.txt").render(**context)
    html = env.get_template("partials/mail/family_message.html").render(**context)
    return text, html


async def send(actor: Principal, message: dict, settings, expected: int | None = None) -> Preview:
    """Sends the message; `expected` is the number of families the preview showed (when the
    count changed since, CountChanged: nothing is sent). Returns what was sent."""
    found = await preview(actor, message)
    if expected is not None and expected != found.audience.families:
        raise CountChanged(
            "Le nombre de familles a changé depuis l’aperçu : vérifiez-le avant d’envoyer.",
            field="cible",
        )
    service = (await commune_settings()).get("service_name") or "Le service"
    text, html = render(message["subject"], message["body"], service, settings.commune_name)
    audience = found.audience
    async with write_transaction():
        row = FamilyMessage(
            subject=message["subject"],
            body=message["body"],
            target=message["target"],
            school=message["school_id"],
            activity=message["activity_id"],
            day=message["day"],
            audience=audience.description[:300],
            families=audience.families,
            recipients=audience.recipients,
            sent_by=actor.staff_id,
            sent_by_name=actor.name,
            sent_at=clock.now(),
        )
        await row.save()
        for family_id, addresses in audience.addresses.items():
            for address in addresses:
                await queue_email(
                    to=address,
                    subject=message["subject"],
                    text=text,
                    html=html,
                    kind=KIND,
                    family_id=family_id,
                )
        await record(
            actor,
            "message_familles_envoye",
            target=message["subject"][:120],
            details={
                "destinataires": audience.description,
                "familles": audience.families,
                "adresses": audience.recipients,
            },
        )
    return found
