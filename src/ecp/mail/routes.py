"""Staff reading of the outbox (/agents/courriels): every e-mail the portal wrote, its state.

Personal secrets (reset links) are never shown, whatever the role (ecp.mail.services)."""

from __future__ import annotations

from litestar import Request, Router, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from ecp.mail import queries, services
from ecp.mail.queries import STATUS_LABELS
from ecp.web.forms import Form
from ecp.web.htmx import page_or_fragment

LIST_FRAGMENT = "partials/mail/outbox_list.html"


@get("/courriels", name="staff_outbox")
async def staff_outbox(request: Request, etat: FromQuery[str | None] = None) -> Template:
    status = etat if etat in STATUS_LABELS else ""
    settings = request.app.state.settings
    return page_or_fragment(
        request,
        page="pages/mail/outbox.html",
        fragment=LIST_FRAGMENT,
        context={
            **await queries.outbox(status),
            "form": Form.initial(etat=status),
            "status": status,
            "labels": STATUS_LABELS,
            "smtp_configured": bool(settings.smtp_host),
            "mail_dir": bool(settings.mail_dir),
        },
    )


@get("/courriels/{message_id:int}", name="staff_outbox_message")
async def staff_outbox_message(request: Request, message_id: FromPath[int]) -> Template:
    read = await services.read_message(request.user, message_id)
    if read is None:
        raise NotFoundException()
    return page_or_fragment(
        request, page="pages/mail/message.html", context={**read, "labels": STATUS_LABELS}
    )


def staff_router(settings) -> Router:
    return Router(path="/", route_handlers=[staff_outbox, staff_outbox_message])
