"""Staff > Inscriptions, for the September rush: the current year's inscriptions filtered by
school, activity, level and state; many ticked and validated, refused or ended in one post,
with a waiting list where an activity is full (the rules: ecp.booking.inscriptions)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Template

from ecp.auth.scope import school_scope
from ecp.backoffice.inscription_forms import DecisionsForm, InscriptionFilterForm
from ecp.booking import inscription_queries, inscriptions
from ecp.booking.inscriptions import STATUS_LABELS
from ecp.errors import Rejected
from ecp.web.forms import Form
from ecp.web.htmx import page_or_fragment, redirect, wants_fragment
from ecp.web.plural import counted

PAGE = "pages/backoffice/inscriptions.html"
FRAGMENT = "partials/backoffice/inscription_results.html"


async def _render(
    request: Request,
    filters: InscriptionFilterForm,
    *,
    decision: Form | None = None,
    selected: list[int] | None = None,
    select_all: bool = False,
    status: int = 200,
    messages: list[dict] | None = None,
) -> Template:
    listing = inscription_queries.InscriptionList([], 0)
    if filters.valid:
        listing = await inscription_queries.staff_inscriptions(
            **filters.filters(), schools=(await school_scope(request.user)).ids
        )
    query = filters.query()
    base = request.app.route_reverse("staff_inscriptions")
    heading = _heading(filters)
    context: dict[str, Any] = {
        "filters": filters,
        "choices": filters.context["choices"],
        "rows": listing.rows,
        "total": listing.total,
        "max_rows": inscription_queries.MAX_ROWS,
        "decision": decision or Form(),
        "selected": set(selected or []),
        "select_all": select_all,
        "query": query,
        "list_url": f"{base}?{urlencode(query)}",
        "heading": heading,
        "count_text": _count_text(filters, listing),
        "page_title": ("Erreur : " if not filters.valid or (decision and decision.errors) else "")
        + (f"{heading} ({listing.total})" if filters.valid else "Inscriptions"),
    }
    if messages is not None:
        context["flash_messages"] = messages
        context["flash_oob"] = wants_fragment(request)
    return page_or_fragment(
        request, page=PAGE, fragment=FRAGMENT, context=context, status_code=status
    )


# The heading names many inscriptions: « Inscriptions refusées », never « refusée ».
PLURAL_LABELS = {
    "en_attente": "en attente",
    "liste_attente": "en liste d’attente",
    "validee": "validées",
    "refusee": "refusées",
    "annulee": "annulées",
}
assert set(PLURAL_LABELS) == set(STATUS_LABELS)


def _heading(filters: InscriptionFilterForm) -> str:
    """« Inscriptions en attente – École Jules-Ferry, CE1 »: the state and the filters."""
    if not filters.valid:
        return "Filtres à corriger"
    status = filters.cleaned.get("statut")
    heading = "Inscriptions" + (f" {PLURAL_LABELS[status]}" if status in PLURAL_LABELS else "")
    choices = filters.context["choices"]
    parts = [
        dict(choices[key]).get(filters.cleaned.get(name) or "", "")
        for name, key in (("ecole", "schools"), ("activite", "activities"), ("niveau", "levels"))
    ]
    parts = [p for p in parts if p]
    return heading + (" – " + ", ".join(parts) if parts else "")


def _count_text(filters: InscriptionFilterForm, listing) -> str:
    if not filters.valid:
        return "Corrigez les filtres pour voir les inscriptions."
    if listing.total > len(listing.rows):
        return (
            f"{listing.total} inscriptions trouvées ; les {len(listing.rows)} premières sont "
            "affichées : précisez les filtres."
        )
    if not listing.total:
        return "Aucune inscription ne correspond."
    return counted(listing.total, "inscription trouvée", "inscriptions trouvées") + "."


async def _choices(request: Request) -> dict[str, list[tuple[str, str]]]:
    """The filters' lists; an agent limited to schools (ecp.auth.scope) is offered theirs."""
    choices = await inscription_queries.filter_choices()
    scope = await school_scope(request.user)
    if scope.limited:
        choices["schools"] = [c for c in choices["schools"] if int(c[0]) in scope.ids]
    return choices


@get("/inscriptions", name="staff_inscriptions")
async def staff_inscriptions(
    request: Request,
    ecole: FromQuery[str | None] = None,
    activite: FromQuery[str | None] = None,
    niveau: FromQuery[str | None] = None,
    statut: FromQuery[str | None] = None,
    tout: FromQuery[str | None] = None,
) -> Template:
    choices = await _choices(request)
    typed = {"ecole": ecole, "activite": activite, "niveau": niveau, "statut": statut}
    filters = InscriptionFilterForm.from_query(
        {k: v for k, v in typed.items() if v is not None}, choices
    )
    return await _render(
        request, filters, select_all=tout == "1", status=200 if filters.valid else 422
    )


@post("/inscriptions", name="staff_inscriptions_decide", status_code=200)
async def staff_inscriptions_decide(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    choices = await _choices(request)
    filters = InscriptionFilterForm.from_query(data, choices)
    form = DecisionsForm.bind(data)
    scope = await school_scope(request.user)
    if scope.limited and await inscription_queries.outside_schools(
        form.cleaned.get("inscriptions", []), scope.ids
    ):
        raise NotFoundException("Inscription introuvable")
    try:
        result = await inscriptions.decide_inscriptions(
            request.user,
            form.cleaned.get("inscriptions", []),
            form.cleaned.get("decision", ""),
            form.cleaned.get("motif", ""),
            settings=request.app.state.settings,
        )
    except inscriptions.NotFound as error:
        raise NotFoundException(error.message) from error
    except Rejected as error:
        form.reject(error)
        return await _render(
            request,
            filters,
            decision=form,
            selected=form.cleaned.get("inscriptions", []),
            status=422,
        )
    message = inscriptions.summary(result)
    if wants_fragment(request):
        return await _render(request, filters, messages=[{"kind": "success", "text": message}])
    base = request.app.route_reverse("staff_inscriptions")
    return redirect(request, f"{base}?{urlencode(filters.query())}", message)


def handlers() -> list:
    return [staff_inscriptions, staff_inscriptions_decide]
