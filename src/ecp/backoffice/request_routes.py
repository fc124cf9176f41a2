"""Staff > Demandes: the queue of contact-change requests, applied in whole or in part, or
refused with a reason; the family is told by e-mail.

Two agents may open the same request: the first decision wins (services.decide_request), and
the second agent is shown who decided it, when, and what was decided, in place of the form.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from ecp.auth.scope import family_allowed, school_scope
from ecp.backoffice import queries, services
from ecp.backoffice.forms import RequestDecisionForm
from ecp.errors import Rejected
from ecp.web.htmx import page_or_fragment, redirect

DONE = {
    "appliquee": "Demande appliquée ; la famille est prévenue par courriel.",
    "partielle": "Demande appliquée en partie ; la famille est prévenue par courriel.",
    "refusee": "Demande refusée ; la famille est prévenue par courriel.",
}


async def _waiting(request: Request) -> list[dict]:
    """The waiting requests this agent may see (an agent limited to schools: their families)."""
    return await queries.waiting_requests(schools=(await school_scope(request.user)).ids)


def _queue(
    request: Request,
    requests: list[dict],
    forms: dict[int, RequestDecisionForm] | None = None,
    status: int = 200,
    decided: dict | None = None,
) -> Template:
    forms = forms or {}
    return page_or_fragment(
        request,
        page="pages/backoffice/requests.html",
        fragment="partials/backoffice/request_queue.html",
        context={
            "requests": requests,
            "forms": {r["id"]: forms.get(r["id"], RequestDecisionForm()) for r in requests},
            "decided": decided,
        },
        status_code=status,
    )


async def _already_decided(request: Request, state: dict) -> Template:
    # 409 as for a place that just went: htmx swaps it (htmx-config), the form is gone.
    return _queue(
        request,
        await _waiting(request),
        status=409,
        decided=queries.decided_notice(state, request.user.staff_id),
    )


@get("/demandes", name="staff_requests")
async def staff_requests(request: Request) -> Template:
    return _queue(request, await _waiting(request))


@post("/demandes/{request_id:int}", name="staff_request_decide", status_code=200)
async def staff_request_decide(
    request: Request, request_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    if request.user.school_limited:
        # An agent limited to schools decides only their families' requests.
        state = await queries.request_state(request_id)
        if state is None or not await family_allowed(request.user, state["family"]):
            raise NotFoundException("Demande introuvable")
    form = RequestDecisionForm.bind(data, request_id=request_id)
    if not form.valid:
        state = await queries.request_state(request_id)
        if state is None:
            raise NotFoundException("Demande introuvable")
        if state["status"] != "en_attente":
            # The form of a decided request is no longer on the page: its errors would be a
            # 422 with nothing to see, so the page says what was decided instead.
            return await _already_decided(request, state)
        return _queue(request, await _waiting(request), {request_id: form}, status=422)
    queue = request.app.route_reverse("staff_requests")
    try:
        result = await services.decide_request(
            request.user, request_id, apply_fields=form.apply_fields(), reason=form.cleaned["motif"]
        )
    except services.NotFound as error:
        raise NotFoundException("Demande introuvable") from error
    except services.AlreadyDecided:
        # Decided before this request or between our read and our lock: same answer.
        state = await queries.request_state(request_id)
        if state is not None:
            return await _already_decided(request, state)
        raise NotFoundException("Demande introuvable") from None
    except Rejected as error:
        return redirect(request, queue, error.message, kind="error")
    return redirect(request, queue, DONE[result["status"]])


def handlers() -> list:
    return [staff_requests, staff_request_decide]
