"""Staff > Messages: write to the families of a school, an activity or a day (a strike, a trip,
a menu change); the first button previews who it reaches (families and addresses), the second
sends it through the outbox (ecp.backoffice.messages_services); the list of messages sent."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import URLEncodedBody
from litestar.response import Template

from ecp.auth.scope import school_scope
from ecp.backoffice import messages_queries as queries
from ecp.backoffice import messages_services as services
from ecp.backoffice.messages_forms import MessageForm
from ecp.errors import Rejected
from ecp.web.forms import Form
from ecp.web.htmx import page_or_fragment, redirect


async def _form_page(
    request: Request,
    form: Form,
    preview: services.Preview | None = None,
    status: int = 200,
) -> Template:
    scope = await school_scope(request.user)
    return page_or_fragment(
        request,
        page="pages/backoffice/message_new.html",
        fragment="partials/backoffice/message_form.html",
        context={
            "form": form,
            "preview": preview,
            "targets": queries.TARGETS,
            "schools": await queries.school_choices(scope.ids),
            "activities": await queries.activity_choices(),
            "all_schools": not scope.limited,
        },
        status_code=status,
    )


@get("/messages", name="staff_messages")
async def staff_messages(request: Request) -> Template:
    return page_or_fragment(
        request,
        page="pages/backoffice/messages.html",
        context={"messages": await queries.sent_messages()},
    )


@get("/messages/nouveau", name="staff_message_new")
async def staff_message_new(request: Request) -> Template:
    return await _form_page(request, MessageForm.initial(cible="ecole"))


@post("/messages/nouveau", name="staff_message_send", status_code=200)
async def staff_message_send(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    """« Aperçu » shows who the message reaches; « Envoyer » (after it) sends it."""
    form = MessageForm.bind(data)
    if not form.valid:
        return await _form_page(request, form, status=422)
    message = form.message()
    try:
        if not form.sending:
            found = await services.preview(request.user, message)
            form.values["compte"] = str(found.audience.families)
            return await _form_page(request, form, found)
        sent = await services.send(
            request.user, message, request.app.state.settings, form.cleaned["compte"]
        )
    except services.CountChanged as error:
        form.values["compte"] = ""
        found = await services.preview(request.user, message)
        form.values["compte"] = str(found.audience.families)
        form.reject(error)
        return await _form_page(request, form, found, status=422)
    except Rejected as error:
        form.reject(error)
        return await _form_page(request, form, status=422)
    return redirect(
        request,
        request.app.route_reverse("staff_messages"),
        f"Message « {message['subject']} » envoyé : {sent.summary}.",
    )


def handlers() -> list:
    return [staff_messages, staff_message_new, staff_message_send]
