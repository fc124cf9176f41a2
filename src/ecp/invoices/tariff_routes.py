"""Tariffs (/agents/parametres/tarifs, administrator): price per activity and QF bracket, the
out-of-town rate and the majoration, each with its validity date. A change is a new row from its
date: past days keep the price they had, so a change can never be retroactive (the rules are
ecp.invoices.services.create_tariff's)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import URLEncodedBody
from litestar.response import Template

from ecp import clock
from ecp.auth.guards import requires_role
from ecp.errors import Rejected
from ecp.invoices import queries, services
from ecp.invoices.forms import TariffForm
from ecp.web.htmx import page_or_fragment, redirect

ADMIN = [requires_role("administrateur")]
PAGE = "pages/invoices/staff_tariffs.html"
FORM_FRAGMENT = "partials/invoices/tariff_form.html"


async def _context(form: TariffForm | None = None) -> dict:
    context = await queries.tariff_page(clock.today())
    context["form"] = form or TariffForm.initial(
        activite="", tranche="", prix="", majoration="", date=""
    )
    return context


@get("/parametres/tarifs", name="staff_tariffs", guards=ADMIN)
async def staff_tariffs(request: Request) -> Template:
    return page_or_fragment(request, page=PAGE, fragment=FORM_FRAGMENT, context=await _context())


@post("/parametres/tarifs", name="staff_tariff_create", status_code=200, guards=ADMIN)
async def staff_tariff_create(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    form = TariffForm.bind(data, today=clock.today())
    if form.valid:
        try:
            created = await services.create_tariff(
                request.user,
                activity_id=form.cleaned["activite"],
                bracket_id=form.cleaned["tranche"],
                price_cents=form.cleaned["prix"],
                majoration_cents=form.cleaned["majoration"],
                valid_from=form.cleaned["date"],
            )
        except Rejected as error:
            form.reject(error, default_field="date")
    if not form.valid:
        return page_or_fragment(
            request,
            page=PAGE,
            fragment=FORM_FRAGMENT,
            context=await _context(form),
            status_code=422,
        )
    return redirect(
        request,
        request.app.route_reverse("staff_tariffs"),
        f"Nouveau tarif « {created['activity_label']} », {created['bracket_label']}, appliqué "
        f"à partir du {form.cleaned['date'].strftime('%d/%m/%Y')}.",
    )


def handlers() -> list:
    return [staff_tariffs, staff_tariff_create]
