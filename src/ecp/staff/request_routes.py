"""Staff > Demandes: the queue of contact-change requests, applied in whole or in part, or
refused with a reason; the family is told by e-mail."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from ecp.staff import queries, services
from ecp.web.forms import Form, many, text
from ecp.web.htmx import page_or_fragment, redirect


def _queue(request: Request, requests: list[dict], forms: dict[int, Form] | None = None,
           status: int = 200) -> Template:
    forms = forms or {}
    return page_or_fragment(request, page="pages/staff/requests.html",
                            fragment="partials/staff/request_queue.html",
                            context={"requests": requests,
                                     "forms": {r["id"]: forms.get(r["id"], Form())
                                               for r in requests}},
                            status_code=status)


@get("/demandes", name="staff_requests")
async def staff_requests(request: Request) -> Template:
    return _queue(request, await queries.waiting_requests())


@post("/demandes/{request_id:int}", name="staff_request_decide", status_code=200)
async def staff_request_decide(request: Request, request_id: FromPath[int],
                               data: URLEncodedBody[dict[str, Any]]) -> Any:
    decision = text(data, "decision", 20)
    fields = many(data, "champ")
    reason = text(data, "motif", 500)
    form = Form(values={"champ": fields, "motif": reason})
    if decision == "refuser" and not reason:
        form.error(f"motif-{request_id}",
                   "Indiquez le motif du refus : il est envoyé à la famille.")
    elif decision == "appliquer" and not fields:
        form.error(f"champ-{request_id}", "Cochez au moins une information à appliquer, ou "
                                          "refusez la demande.")
    elif decision not in ("appliquer", "refuser"):
        form.error(f"champ-{request_id}", "Choisissez d’appliquer ou de refuser la demande.")
    if form.valid:
        try:
            result = await services.decide_request(
                request.user, request_id,
                apply_fields=fields if decision == "appliquer" else [], reason=reason)
        except services.ActionRefused as exc:
            return redirect(request, "/agents/demandes", str(exc), kind="error")
        messages = {"appliquee": "Demande appliquée ; la famille est prévenue par courriel.",
                    "partielle": "Demande appliquée en partie ; la famille est prévenue par "
                                 "courriel.",
                    "refusee": "Demande refusée ; la famille est prévenue par courriel."}
        return redirect(request, "/agents/demandes", messages[result["status"]])
    requests = await queries.waiting_requests()
    return _queue(request, requests, {request_id: form}, status=422)


def handlers() -> list:
    return [staff_requests, staff_request_decide]
