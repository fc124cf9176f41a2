"""Reads of the outbox for staff (/agents/courriels): the latest messages and their states."""

from __future__ import annotations

from piccolo.query.functions.aggregate import Count

from ecp.mail.tables import OutboxEmail

STATUS_LABELS = {
    "en_attente": "en attente",
    "envoi": "envoi en cours",
    "envoye": "envoyé",
    "echec": "échec",
}
LATEST = 100


async def outbox(status: str = "") -> dict:
    """The last messages (of one status when `status` is one of STATUS_LABELS) and how many
    messages each status holds, in two queries."""
    query = (
        OutboxEmail.select(
            OutboxEmail.id,
            OutboxEmail.to_address,
            OutboxEmail.subject,
            OutboxEmail.kind,
            OutboxEmail.status,
            OutboxEmail.attempts,
            OutboxEmail.created_at,
            OutboxEmail.sent_at,
            OutboxEmail.family.code.as_alias("family_code"),
        )
        .order_by(OutboxEmail.id, ascending=False)
        .limit(LATEST)
    )
    if status in STATUS_LABELS:
        query = query.where(OutboxEmail.status == status)
    messages = await query
    counts = {
        r["status"]: r["count"]
        for r in await OutboxEmail.select(
            OutboxEmail.status, Count(OutboxEmail.id, alias="count")
        ).group_by(OutboxEmail.status)
    }
    return {"messages": messages, "counts": counts}


async def message(message_id: int) -> dict | None:
    """One message with its family, never its sealed body (the real text of a secret)."""
    return (
        await OutboxEmail.select(
            OutboxEmail.all_columns(exclude=[OutboxEmail.sealed_body]),
            OutboxEmail.family.code.as_alias("family_code"),
            OutboxEmail.family.name.as_alias("family_name"),
        )
        .where(OutboxEmail.id == message_id)
        .first()
    )
