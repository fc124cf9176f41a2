"""What staff may do with the outbox: read a message, which is journalled.

Personal secrets (reset links) are never shown, whatever the role: the outbox holds them masked
(ecp.mail.sealing) and the sealed real text is never read here.
"""

from __future__ import annotations

from ecp.audit import services as audit
from ecp.audit.services import Actor
from ecp.mail import queries, sealing

SECRET_KINDS = {"reset"}


def readable_paragraphs(kind: str, body: str) -> list[list[str]] | None:
    """The body as paragraphs of lines for a staff reader, or None when it must not be shown.

    A reset link is a key to the family's account. Its text is stored masked; a reset message
    without the placeholder (written before masking, or by a producer that forgot to declare
    its secret) is not shown at all, and any other text still goes through the fallback mask."""
    if kind in SECRET_KINDS and not any(
        label in body for label in (sealing.LINK_PLACEHOLDER, sealing.CODE_PLACEHOLDER)
    ):
        return None
    return [p.split("\n") for p in sealing.mask_fallback(body).strip().split("\n\n")]


async def read_message(actor: Actor, message_id: int) -> dict | None:
    """{"message", "paragraphs", "hidden"} for the outbox page, or None when there is no such
    message; every reading is written to the journal."""
    message = await queries.message(message_id)
    if message is None:
        return None
    await audit.record(
        actor,
        "courriel_consulte",
        family_id=message["family"],
        target=f"OutboxEmail:{message_id}",
        details={"objet": message["subject"]},
    )
    paragraphs = readable_paragraphs(message["kind"], message["body_text"])
    return {"message": message, "paragraphs": paragraphs or [], "hidden": paragraphs is None}
