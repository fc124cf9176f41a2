"""Counter payments at the régie (/agents/paiements): espèces, chèque (with its drawer and bank),
CESU, chèques vacances or virement against one or several invoices of a family, partial
payments, a printable receipt and the family's receipt e-mail, a CSV export for the trésorerie.
Every action is written to the audit journal (by ecp.payments.services). The régie's documents
(journal, bordereaux, relances, paper invoices) are in ecp.payments.regie_routes."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template

from ecp import clock
from ecp.auth.guards import requires_role
from ecp.errors import Rejected
from ecp.mail.notices import month_label
from ecp.payments import export, queries, services
from ecp.payments.allocation import METHODS
from ecp.payments.forms import CounterPaymentForm
from ecp.web.forms import Form, text
from ecp.web.htmx import page_or_fragment, redirect
from ecp.web.params import parse_day
from ecp.web.templating import euros

PAGE = "pages/payments/staff_payments.html"
FORM_FRAGMENT = "partials/payments/counter_payment_form.html"
REGISSEUR = [requires_role("regisseur")]


async def _counter_page(request: Request, code: str, form: Form, status_code: int = 200):
    context = await queries.counter_page(code)
    if code and context["family"] is None and "famille" not in form.errors:
        form.error("famille", f"Aucune famille n’a le code « {code} ».")
    return page_or_fragment(
        request,
        page=PAGE,
        fragment=FORM_FRAGMENT,
        context={
            **context,
            "form": form,
            "export_form": Form(),
            "methods": services.COUNTER_METHODS,
            "all_methods": METHODS,
            "month_label": month_label,
        },
        status_code=status_code,
    )


@get("/paiements", name="staff_payments", guards=REGISSEUR)
async def staff_payments(request: Request, famille: FromQuery[str | None] = None) -> Template:
    code = queries.normalise_code(famille)
    form = CounterPaymentForm.initial(
        famille=code, date=clock.today().strftime("%d/%m/%Y"), mode="", facture=[]
    )
    return await _counter_page(request, code, form)


@post("/paiements", name="staff_payment_record", status_code=200, guards=REGISSEUR)
async def staff_payment_record(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    family = await queries.family_by_code(text(data, "famille"))
    form = CounterPaymentForm.bind(data, family=family)
    if form.valid:
        try:
            result = await services.record_counter_payment(
                request.user,
                family_id=family["id"],
                method=form.cleaned["mode"],
                amount_cents=form.cleaned["montant"],
                invoice_ids=form.cleaned["facture"],
                received_on=form.cleaned["date"],
                reference=form.cleaned["reference"],
                drawer=form.cleaned["tireur"],
                bank=form.cleaned["banque"],
                settings=request.app.state.settings,
            )
        except Rejected as error:
            form.reject(error, "facture")
        else:
            message = (
                f"Paiement de {euros(form.cleaned['montant'])} enregistré pour la famille "
                f"{family['name']}."
            )
            receipt = request.app.route_reverse(
                "staff_payment_receipt", payment_id=result["payment_id"]
            )
            return redirect(request, receipt, message)
    return await _counter_page(request, family["code"] if family else "", form, 422)


@get("/paiements/{payment_id:int}/recu", name="staff_payment_receipt", guards=REGISSEUR)
async def staff_payment_receipt(request: Request, payment_id: FromPath[int]) -> Template:
    receipt = await queries.receipt(payment_id)
    if receipt is None:
        raise NotFoundException()
    return page_or_fragment(
        request,
        page="pages/payments/staff_receipt.html",
        context={
            **receipt,
            "methods": METHODS,
            "month_label": month_label,
            "commune_name": request.app.state.settings.commune_name,
        },
    )


@get("/paiements/export.csv", name="staff_payments_export", guards=REGISSEUR)
async def staff_payments_export(
    request: Request, du: FromQuery[str | None] = None, au: FromQuery[str | None] = None
) -> Response:
    """Payments received between two dates (the current month by default), one line per
    payment with the invoices it settled, so the trésorerie can match each invoice."""
    today = clock.today()
    start = parse_day(du) if du else today.replace(day=1)
    end = parse_day(au) if au else today
    if start is None or end is None:
        raise NotFoundException("Période invalide")
    content = await services.export_payments(request.user, start, end)
    return Response(
        content=content,
        media_type=export.MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{export.filename(start, end)}"'},
    )


def handlers() -> list:
    return [staff_payments, staff_payment_record, staff_payment_receipt, staff_payments_export]
