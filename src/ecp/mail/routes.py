"""Staff reading of the outbox (/agents/courriels): every e-mail the portal wrote, its state.

Personal secrets (reset links) are never shown, whatever the role: the outbox holds them masked
(ecp.mail.sealing) and the sealed real text is never read here.
"""

from __future__ import annotations

from litestar import Request, Router, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from piccolo.query.functions.aggregate import Count

from ecp.audit import services as audit
from ecp.mail import sealing
from ecp.mail.tables import OutboxEmail
from ecp.web.htmx import page_or_fragment

STATUS_LABELS = {
    "en_attente": "en attente",
    "envoi": "envoi en cours",
    "envoye": "envoyé",
    "echec": "échec",
}
LIST_FRAGMENT = "partials/mail/outbox_list.html"
SECRET_KINDS = {"reset"}


@get("/courriels", name="staff_outbox")
async def staff_outbox(request: Request, etat: FromQuery[str | None] = None) -> Template:
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
        .limit(100)
    )
    status = etat if etat in STATUS_LABELS else ""
    if status:
        query = query.where(OutboxEmail.status == status)
    messages = await query
    counts = {
        r["status"]: r["count"]
        for r in await OutboxEmail.select(
            OutboxEmail.status, Count(OutboxEmail.id, alias="count")
        ).group_by(OutboxEmail.status)
    }
    settings = request.app.state.settings
    return page_or_fragment(
        request,
        page="pages/mail/outbox.html",
        fragment=LIST_FRAGMENT,
        context={
            "messages": messages,
            "status": status,
            "labels": STATUS_LABELS,
            "counts": counts,
            "smtp_configured": bool(settings.smtp_host),
            "mail_dir": bool(settings.mail_dir),
        },
    )


@get("/courriels/{message_id:int}", name="staff_outbox_message")
async def staff_outbox_message(request: Request, message_id: FromPath[int]) -> Template:
    message = (
        await OutboxEmail.select(
            OutboxEmail.all_columns(exclude=[OutboxEmail.sealed_body]),
            OutboxEmail.family.code.as_alias("family_code"),
            OutboxEmail.family.name.as_alias("family_name"),
        )
        .where(OutboxEmail.id == message_id)
        .first()
    )
    if message is None:
        raise NotFoundException()
    await audit.record(
        request.user,
        "courriel_consulte",
        family_id=message["family"],
        target=f"OutboxEmail:{message_id}",
        details={"objet": message["subject"]},
    )
    # A reset link is a key to the family's account. Its text is stored masked; a reset message
    # without the placeholder (written before masking, or by a producer that forgot to declare
    # its secret) is not shown at all, and any other text still goes through the fallback mask.
    body = message["body_text"]
    hidden = message["kind"] in SECRET_KINDS and not any(
        label in body for label in (sealing.LINK_PLACEHOLDER, sealing.CODE_PLACEHOLDER)
    )
    paragraphs = (
        [] if hidden else [p.split("\n") for p in sealing.mask_fallback(body).strip().split("\n\n")]
    )
    return page_or_fragment(
        request,
        page="pages/mail/message.html",
        context={
            "message": message,
            "paragraphs": paragraphs,
            "labels": STATUS_LABELS,
            "hidden": hidden,
        },
    )


def staff_router(settings) -> Router:
    return Router(path="/", route_handlers=[staff_outbox, staff_outbox_message])
