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

from ecp.accounts import contact
from ecp.accounts.services import load_json
from ecp.backoffice import queries, services
from ecp.families.tables import ContactChangeRequest
from ecp.web.forms import Form, many, text
from ecp.web.htmx import page_or_fragment, redirect
from ecp.web.templating import date_heure

STATUS_LABELS = {"appliquee": "appliquée", "partielle": "appliquée en partie", "refusee": "refusée"}


def _queue(
    request: Request,
    requests: list[dict],
    forms: dict[int, Form] | None = None,
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
            "forms": {r["id"]: forms.get(r["id"], Form()) for r in requests},
            "decided": decided,
        },
        status_code=status,
    )


async def _decision(request_id: int) -> dict | None:
    """The request as it stands: status, who decided it and when, what was applied."""
    row = (
        await ContactChangeRequest.select(
            ContactChangeRequest.id,
            ContactChangeRequest.status,
            ContactChangeRequest.decided_at,
            ContactChangeRequest.decided_by,
            ContactChangeRequest.applied_fields,
            ContactChangeRequest.reason,
            ContactChangeRequest.family,
            ContactChangeRequest.family.code.as_alias("family_code"),
            ContactChangeRequest.family.name.as_alias("family_name"),
            ContactChangeRequest.decided_by.display_name.as_alias("decided_by_name"),
        )
        .where(ContactChangeRequest.id == request_id)
        .first()
    )
    return row


def _decided_context(request: Request, row: dict) -> dict:
    """What the second agent reads: « Cette demande a déjà été traitée par … le … »."""
    if row["decided_by"] is not None and row["decided_by"] == request.user.staff_id:
        who = "vous-même"
    else:
        who = row["decided_by_name"] or "un autre agent"
    when = f" le {date_heure(row['decided_at'])}" if row["decided_at"] else ""
    applied = [contact.FIELDS.get(f, f) for f in load_json(row["applied_fields"], [])]
    state = STATUS_LABELS.get(row["status"], row["status"])
    if applied:
        state += " (" + ", ".join(applied) + ")"
    return {
        "id": row["id"],
        "message": f"Cette demande a déjà été traitée par {who}{when}.",
        "state": state,
        "reason": row["reason"] if row["status"] == "refusee" else "",
        "family": row["family"],
        "family_name": row["family_name"],
        "family_code": row["family_code"],
    }


async def _already_decided(request: Request, row: dict) -> Template:
    # 409 as for a place that just went: htmx swaps it (htmx-config), the form is gone.
    return _queue(
        request,
        await queries.waiting_requests(),
        status=409,
        decided=_decided_context(request, row),
    )


@get("/demandes", name="staff_requests")
async def staff_requests(request: Request) -> Template:
    return _queue(request, await queries.waiting_requests())


@post("/demandes/{request_id:int}", name="staff_request_decide", status_code=200)
async def staff_request_decide(
    request: Request, request_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    current = await _decision(request_id)
    if current is None:
        raise NotFoundException("Demande introuvable")
    if current["status"] != "en_attente":
        # Before validating: the form of a decided request is no longer on the page, so its
        # errors would be a 422 with nothing to see.
        return await _already_decided(request, current)
    decision = text(data, "decision", 20)
    fields = many(data, "champ")
    reason = text(data, "motif", 500)
    form = Form(values={"champ": fields, "motif": reason})
    if decision == "refuser" and not reason:
        form.error(
            f"motif-{request_id}", "Indiquez le motif du refus : il est envoyé à la famille."
        )
    elif decision == "appliquer" and not fields:
        form.error(
            f"champ-{request_id}",
            "Cochez au moins une information à appliquer, ou refusez la demande.",
        )
    elif decision not in ("appliquer", "refuser"):
        form.error(f"champ-{request_id}", "Choisissez d’appliquer ou de refuser la demande.")
    if form.valid:
        try:
            result = await services.decide_request(
                request.user,
                request_id,
                apply_fields=fields if decision == "appliquer" else [],
                reason=reason,
            )
        except services.ActionRefused as exc:
            # Another agent decided between our read and our lock: same answer as above.
            current = await _decision(request_id)
            if current is not None and current["status"] != "en_attente":
                return await _already_decided(request, current)
            return redirect(request, "/agents/demandes", str(exc), kind="error")
        messages = {
            "appliquee": "Demande appliquée ; la famille est prévenue par courriel.",
            "partielle": "Demande appliquée en partie ; la famille est prévenue par courriel.",
            "refusee": "Demande refusée ; la famille est prévenue par courriel.",
        }
        return redirect(request, "/agents/demandes", messages[result["status"]])
    requests = await queries.waiting_requests()
    return _queue(request, requests, {request_id: form}, status=422)


def handlers() -> list:
    return [staff_requests, staff_request_decide]
