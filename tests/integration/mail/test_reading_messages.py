"""Staff reading an outbox message, without HTTP: journalled, a secret never shown."""

from __future__ import annotations

import json

from ecp.audit.tables import AuditLog
from ecp.auth.principal import Principal
from ecp.mail import sealing, services
from ecp.mail.outbox import queue_email
from tests.factories import make_family, make_staff


async def _agent() -> Principal:
    staff = await make_staff(role="agent")
    return Principal(kind="staff", session_id=0, name="Agent Test", staff_id=staff.id)


async def test_reading_a_message_is_journalled_and_gives_its_paragraphs():
    actor = await _agent()
    family = await make_family("F00001")
    message_id = await queue_email(
        to="claire@example.org",
        subject="Votre facture",
        text="Bonjour,\nligne deux\n\nAu revoir",
        kind="facture",
        family_id=family.id,
    )
    read = await services.read_message(actor, message_id)
    assert read["hidden"] is False
    assert read["paragraphs"] == [["Bonjour,", "ligne deux"], ["Au revoir"]]
    assert read["message"]["family_code"] == "F00001" and "sealed_body" not in read["message"]
    entry = await AuditLog.select().where(AuditLog.action == "courriel_consulte").first()
    details = entry["details"]
    details = json.loads(details) if isinstance(details, str) else details
    assert entry["family"] == family.id and entry["staff"] == actor.staff_id
    assert entry["target"] == f"OutboxEmail:{message_id}" and details == {"objet": "Votre facture"}


async def test_an_unknown_message_is_none_and_not_journalled():
    assert await services.read_message(await _agent(), 4242) is None
    assert await AuditLog.count() == 0


def test_a_reset_message_without_its_placeholder_is_not_shown_at_all():
    assert services.readable_paragraphs("reset", "Votre lien : https://x/y/abc") is None
    masked = f"Votre lien : {sealing.LINK_PLACEHOLDER}"
    assert services.readable_paragraphs("reset", masked) == [[masked]]
    # Any other message still goes through the fallback mask.
    text = "Lien : https://portail.example.fr/mot-de-passe-oublie/nouveau/" + "a" * 43
    shown = str(services.readable_paragraphs("facture", text))
    assert "a" * 43 not in shown and sealing.LINK_PLACEHOLDER in shown
