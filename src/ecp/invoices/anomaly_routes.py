"""Staff > Facturation > Anomalies: a month's billing anomalies, kept from one run to the next,
filtered by state, type or family; the régisseur marks those ticked justified (with a note),
corrected, or back to handle. Reads and writes are ecp.invoices.anomalies'."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Template

from ecp import clock
from ecp.auth.guards import requires_role
from ecp.errors import Rejected
from ecp.invoices import anomalies, queries
from ecp.invoices.anomaly_forms import (
    ACTION_HINTS,
    ACTIONS,
    KIND_FILTERS,
    STATE_FILTERS,
    AnomalyFilterForm,
    AnomalyHandleForm,
)
from ecp.mail.notices import month_label
from ecp.web.htmx import page_or_fragment, redirect, wants_fragment
from ecp.web.plural import counted

PAGE = "pages/invoices/staff_anomalies.html"
FRAGMENT = "partials/invoices/anomaly_list.html"
REGISSEUR = [requires_role("regisseur")]
DONE = {
    anomalies.JUSTIFIED: ("marquée justifiée", "marquées justifiées"),
    anomalies.CORRECTED: ("marquée corrigée", "marquées corrigées"),
    anomalies.TO_HANDLE: ("remise à traiter", "remises à traiter"),
}


def _query_string(filters: dict, month) -> str:
    """The list's address keeps its month and filters (after an action, in links)."""
    params = {
        "mois": month.strftime("%Y-%m"),
        "etat": filters["state"],
        "type": filters["kind"],
        "famille": filters["family_code"],
    }
    return "?" + urlencode({k: v for k, v in params.items() if v})


async def _context(
    filters: dict, filter_form: AnomalyFilterForm, handle_form: AnomalyHandleForm | None = None
) -> dict:
    data = await anomalies.anomalies_page(
        filters["month"],
        state=filters["state"],
        kind=filters["kind"],
        family_code=filters["family_code"],
    )
    # The month list: the twelve last months, and any older one that has anomalies.
    options = {m["value"]: m["label"] for m in queries.month_choices(clock.today())}
    for m in data["months"]:
        open_count = counted(m["open"], "à traiter", "à traiter")
        options[m["month"].strftime("%Y-%m")] = f"{month_label(m['month'])} ({open_count})"
    return {
        **data,
        "filters": {**filters, "month": data["month"]},
        "form": filter_form,
        "handle_form": handle_form or AnomalyHandleForm(),
        "month_options": sorted(options.items(), reverse=True),
        "state_options": list(STATE_FILTERS.items()),
        "kind_options": list(KIND_FILTERS.items()),
        "actions": [(code, text, ACTION_HINTS[code]) for code, text in ACTIONS.items()],
        "month_label": month_label,
        "query": _query_string(filters, data["month"]),
    }


@get("/facturation/anomalies", name="staff_anomalies", guards=REGISSEUR)
async def staff_anomalies(
    request: Request,
    mois: FromQuery[str | None] = None,
    etat: FromQuery[str | None] = None,
    type: FromQuery[str | None] = None,  # noqa: A002 - the query string's name
    famille: FromQuery[str | None] = None,
) -> Template:
    form = AnomalyFilterForm.bind(
        {"mois": mois or "", "etat": etat or "", "type": type or "", "famille": famille or ""}
    )
    context = await _context(form.filters(), form)
    return page_or_fragment(
        request,
        page=PAGE,
        fragment=FRAGMENT,
        context=context,
        status_code=200 if form.valid else 422,
    )


@post("/facturation/anomalies", name="staff_anomalies_handle", status_code=200, guards=REGISSEUR)
async def staff_anomalies_handle(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    form = AnomalyHandleForm.bind(data)
    filters = form.filters()
    if len(form.cleaned.get("anomalie") or []) != len(form.values["anomalie"]):
        raise NotFoundException()  # not an id: a forged form, not a mistake
    result = None
    if form.valid:
        try:
            result = await anomalies.handle(
                request.user, form.cleaned["anomalie"], form.cleaned["etat"], form.cleaned["note"]
            )
        except anomalies.AnomalyNotFound:
            raise NotFoundException() from None
        except Rejected as error:
            form.reject(error, default_field="anomalie")
    filter_form = AnomalyFilterForm()
    if result is None:
        context = await _context(filters, filter_form, form)
        return page_or_fragment(
            request, page=PAGE, fragment=FRAGMENT, context=context, status_code=422
        )
    singular, many = DONE[result["state"]]
    message = f"{counted(result['count'], 'anomalie')} {singular if result['count'] < 2 else many}."
    if not wants_fragment(request):
        month = filters["month"]
        path = request.app.route_reverse("staff_anomalies")
        if month is not None:
            path += _query_string(filters, month)
        return redirect(request, path, message)
    context = await _context(filters, filter_form)
    context.update(flash_messages=[{"kind": "success", "text": message}], flash_oob=True)
    return page_or_fragment(request, page=PAGE, fragment=FRAGMENT, context=context)


def handlers() -> list:
    return [staff_anomalies, staff_anomalies_handle]
