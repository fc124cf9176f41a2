"""Invoices: the family's list, detail and PDF and paperless choice; the régisseur's billing run
(a month that has not ended only once a warning is confirmed), régularisations, invoices,
credit notes per day and refunds; the administrator's tariffs (tariff_routes). Reads come from
ecp.invoices.queries, writes and rules from ecp.invoices.services and credit_notes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template

from ecp import clock
from ecp.auth.guards import requires_role
from ecp.errors import Rejected
from ecp.invoices import (
    anomaly_routes,
    credit_notes,
    pdf,
    pricing,
    queries,
    services,
    tariff_routes,
)
from ecp.invoices.forms import (
    BillingStartForm,
    CreditNoteForm,
    PaperlessForm,
    RefundForm,
    RegularisationForm,
)
from ecp.invoices.pdf import invoice_pdf
from ecp.invoices.settlement import REFUND_METHODS
from ecp.mail.notices import month_label
from ecp.web.french import de
from ecp.web.htmx import page_or_fragment, redirect, wants_fragment
from ecp.web.params import parse_id
from ecp.web.params import parse_month as parse_month_code
from ecp.web.plural import counted
from ecp.web.templating import euros

FAMILY_LIST = "pages/invoices/family_list.html"
PAPERLESS_FRAGMENT = "partials/invoices/paperless_choice.html"
PROGRESS_FRAGMENT = "partials/invoices/billing_progress.html"
CREDIT_FRAGMENT = "partials/invoices/credit_note_form.html"
REFUND_FRAGMENT = "partials/invoices/refund_form.html"
REGULARISATIONS_PAGE = "pages/invoices/staff_regularisations.html"
REGULARISATIONS_FRAGMENT = "partials/invoices/regularisations.html"
REGIE = [requires_role("regisseur")]


def doc_context(request: Request, doc: dict) -> dict:
    settings = request.app.state.settings
    return {
        "doc": doc,
        "commune_name": settings.commune_name,
        "month_label": month_label,
        **pdf.how_to_pay(settings),
    }


# ==== Family side =================================================================================


def _paperless_form(family: dict) -> PaperlessForm:
    return PaperlessForm.initial(mode="courriel" if family["paperless"] else "papier")


async def _family_list_context(family_id: int, form: PaperlessForm | None = None) -> dict:
    context = await queries.family_invoices_page(family_id)
    context.update(form=form or _paperless_form(context["family"]), month_label=month_label)
    return context


@get("/factures", name="family_invoices")
async def family_invoices(request: Request) -> Template:
    return page_or_fragment(
        request,
        page=FAMILY_LIST,
        fragment=PAPERLESS_FRAGMENT,
        context=await _family_list_context(request.user.family_id),
    )


@post("/factures/facture-electronique", name="family_paperless", status_code=200)
async def family_paperless(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    family_id = request.user.family_id
    form = PaperlessForm.bind(data)
    if form.valid:
        try:
            await services.choose_paperless(family_id, form.cleaned["mode"] == "courriel")
        except Rejected as error:
            form.reject(error)
    if not form.valid:
        return page_or_fragment(
            request,
            page=FAMILY_LIST,
            fragment=PAPERLESS_FRAGMENT,
            context=await _family_list_context(family_id, form),
            status_code=422,
        )
    message = (
        "Facture électronique choisie\u00a0: vous recevrez un courriel à chaque nouvelle facture."
        if form.cleaned["mode"] == "courriel"
        else "Facture papier choisie\u00a0: vos prochaines factures vous seront envoyées par "
        "courrier."
    )
    if not wants_fragment(request):
        path = request.app.route_reverse("family_invoices") + "#paperless-choice"
        return redirect(request, path, message)
    family = await queries.paperless_choice(family_id)
    return page_or_fragment(
        request,
        page=FAMILY_LIST,
        fragment=PAPERLESS_FRAGMENT,
        context={
            "family": family,
            "form": _paperless_form(family),
            "flash_messages": [{"kind": "success", "text": message}],
            "flash_oob": True,
            "saved": True,
        },
    )


@get("/factures/{ref:str}", name="family_invoice")
async def family_invoice(request: Request, ref: FromPath[str]) -> Any:
    """`/famille/factures/12` is the detail page, `/famille/factures/12.pdf` its PDF."""
    as_pdf = ref.endswith(".pdf")
    invoice_id = parse_id(ref.removesuffix(".pdf"))
    if invoice_id is None:
        raise NotFoundException()
    doc = await queries.invoice_document(invoice_id, family_id=request.user.family_id)
    if doc is None:
        raise NotFoundException()
    context = doc_context(request, doc)
    if as_pdf:
        return await _pdf_response(context)
    return page_or_fragment(request, page="pages/invoices/family_detail.html", context=context)


async def _pdf_response(context: dict) -> Response:
    content = await invoice_pdf(context)
    filename = f"{context['doc']['invoice']['number']}.pdf"
    return Response(
        content=content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@get("/factures/{invoice_id:int}/facture.pdf", name="family_invoice_pdf")
async def family_invoice_pdf(request: Request, invoice_id: FromPath[int]) -> Response:
    """The same PDF under a path of its own (Litestar cannot route `{id}.pdf` in one segment
    by itself; `/famille/factures/12.pdf` is served by family_invoice)."""
    doc = await queries.invoice_document(invoice_id, family_id=request.user.family_id)
    if doc is None:
        raise NotFoundException()
    return await _pdf_response(doc_context(request, doc))


# ==== Staff: billing run ==========================================================================


async def _billing_context(
    run_id: int | None, form: BillingStartForm | None = None, advance: dict | None = None
) -> dict:
    overview = await queries.billing_overview(run_id)
    if overview is None:
        raise NotFoundException()
    today = clock.today()
    previous = (today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    return {
        **overview,
        "months": queries.billing_month_choices(today),
        "form": form or BillingStartForm.initial(mois=previous, confirmation=""),
        "advance": advance,
        "month_label": month_label,
    }


@get("/facturation", name="staff_billing", guards=[requires_role("regisseur")])
async def staff_billing(request: Request, run: FromQuery[str | None] = None) -> Template:
    run_id = parse_id(run) if run else None
    if run and run_id is None:
        raise NotFoundException("Facturation introuvable")
    context = await _billing_context(run_id)
    return page_or_fragment(
        request,
        page="pages/invoices/staff_billing.html",
        fragment=PROGRESS_FRAGMENT,
        context=context,
    )


@post(
    "/facturation", name="staff_billing_start", status_code=200, guards=[requires_role("regisseur")]
)
async def staff_billing_start(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    form = BillingStartForm.bind(data)
    advance = None
    if form.valid:
        month = form.cleaned["mois"]
        try:
            run_id = await services.start_billing(
                request.user,
                month,
                request.app.state.settings,
                confirmed=form.cleaned["confirmation"],
            )
        except services.ConfirmationNeeded as refused:
            form.reject(refused)
            advance = {
                "value": month.strftime("%Y-%m"),
                "label": month_label(month),
                "warning": refused.warning,
            }
        except Rejected as error:
            form.reject(error, default_field="mois")
    if not form.valid:
        context = await _billing_context(None, form, advance)
        return page_or_fragment(
            request, page="pages/invoices/staff_billing.html", context=context, status_code=422
        )
    return redirect(
        request,
        request.app.route_reverse("staff_billing") + f"?run={run_id}",
        f"Facturation {de(month_label(month))} lancée.",
    )


# ==== Staff: régularisations =====================================================================


def _month_or_404(mois: str | None) -> dt.date | None:
    if not mois:
        return None
    month = parse_month_code(mois)
    if month is None:
        raise NotFoundException("Mois introuvable")
    return month


@get("/facturation/regularisations", name="staff_regularisations", guards=REGIE)
async def staff_regularisations(request: Request, mois: FromQuery[str | None] = None) -> Template:
    context = await queries.regularisations_page(_month_or_404(mois))
    if context is None:
        raise NotFoundException("Ce mois n’est pas facturé")
    return page_or_fragment(
        request,
        page=REGULARISATIONS_PAGE,
        fragment=REGULARISATIONS_FRAGMENT,
        context={**context, "form": RegularisationForm(), "month_label": month_label},
    )


def _settled_message(month: dt.date, result: dict) -> str:
    credits, invoices = len(result["credit_notes"]), len(result["invoices"])
    if not credits and not invoices:
        return f"Rien à régulariser {de(month_label(month))}\u00a0: aucun document émis."
    what = " et ".join(
        part
        for part in (
            counted(credits, "avoir émis", "avoirs émis") if credits else "",
            counted(invoices, "facture complémentaire émise", "factures complémentaires émises")
            if invoices
            else "",
        )
        if part
    )
    families = counted(result["families"], "famille")
    return f"Régularisation {de(month_label(month))}\u00a0: {what} pour {families}."


@post(
    "/facturation/regularisations",
    name="staff_regularisations_run",
    status_code=200,
    guards=REGIE,
)
async def staff_regularisations_run(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    form = RegularisationForm.bind(data)
    if form.valid:
        month = form.cleaned["mois"]
        try:
            result = await services.settle_regularisations(
                request.user, month, request.app.state.settings
            )
        except Rejected as error:
            # The page has no month field: the summary leads to the section's heading.
            form.error("regularisations-title", error.message)
    if not form.valid:
        context = await queries.regularisations_page(None)
        return page_or_fragment(
            request,
            page=REGULARISATIONS_PAGE,
            fragment=REGULARISATIONS_FRAGMENT,
            context={**context, "form": form, "month_label": month_label},
            status_code=422,
        )
    return redirect(
        request,
        request.app.route_reverse("staff_regularisations") + f"?mois={month.strftime('%Y-%m')}",
        _settled_message(month, result),
    )


# ==== Staff: invoices and credit notes ===========================================================


@get("/factures", name="staff_invoices", guards=[requires_role("regisseur")])
async def staff_invoices(
    request: Request,
    mois: FromQuery[str | None] = None,
    famille: FromQuery[str | None] = None,
    envoi: FromQuery[str | None] = None,
) -> Template:
    try:
        month = pricing.parse_month(mois) if mois else None
    except ValueError:
        month = None
    code = (famille or "").strip().upper()[:12]
    delivery = envoi if envoi in ("papier", "courriel") else ""
    invoices = await queries.staff_invoices(month=month, family_code=code, delivery=delivery)
    return page_or_fragment(
        request,
        page="pages/invoices/staff_invoices.html",
        context={
            "invoices": invoices,
            "mois": mois or "",
            "famille": code,
            "month_label": month_label,
            "envoi": delivery,
            "months": queries.month_choices(clock.today()),
        },
    )


async def _staff_invoice_context(
    request: Request,
    invoice_id: int,
    form: CreditNoteForm | None = None,
    refund_form: RefundForm | None = None,
) -> dict:
    doc = await queries.staff_invoice_document(invoice_id)
    if doc is None:
        raise NotFoundException()
    return {
        **doc_context(request, doc),
        "form": form or CreditNoteForm(),
        "refund_form": refund_form
        or RefundForm.initial(mode="", date=clock.today().strftime("%d/%m/%Y"), reference=""),
        "reasons": list(pricing.MANUAL_REASONS.items()),
        "refund_methods": list(REFUND_METHODS.items()),
    }


@get("/factures/{invoice_id:int}", name="staff_invoice", guards=[requires_role("regisseur")])
async def staff_invoice(request: Request, invoice_id: FromPath[int]) -> Template:
    context = await _staff_invoice_context(request, invoice_id)
    return page_or_fragment(
        request, page="pages/invoices/staff_invoice.html", fragment=CREDIT_FRAGMENT, context=context
    )


@get(
    "/factures/{invoice_id:int}/facture.pdf",
    name="staff_invoice_pdf",
    guards=[requires_role("regisseur")],
)
async def staff_invoice_pdf(request: Request, invoice_id: FromPath[int]) -> Response:
    """The family's PDF, for the régie to print and post to families who chose paper."""
    doc = await queries.invoice_document(invoice_id)
    if doc is None:
        raise NotFoundException()
    return await _pdf_response(doc_context(request, doc))


@post(
    "/factures/{invoice_id:int}/avoir",
    name="staff_credit_note",
    status_code=200,
    guards=[requires_role("regisseur")],
)
async def staff_credit_note(
    request: Request, invoice_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    form = CreditNoteForm.bind(data)
    result = None
    if form.valid:
        try:
            result = await credit_notes.issue_credit_note(
                invoice_id=invoice_id,
                line_ids=form.cleaned["ligne"],
                days=form.cleaned["jour"],
                cause=form.cleaned["raison"],
                reason=form.cleaned["motif"],
                staff_id=request.user.staff_id,
                actor=request.user,
                settings=request.app.state.settings,
            )
        except credit_notes.InvoiceNotFound as exc:
            raise NotFoundException() from exc
        except Rejected as error:
            form.reject(error, default_field="ligne")
    if not form.valid:
        context = await _staff_invoice_context(request, invoice_id, form)
        return page_or_fragment(
            request,
            page="pages/invoices/staff_invoice.html",
            fragment=CREDIT_FRAGMENT,
            context=context,
            status_code=422,
        )
    return redirect(
        request,
        request.app.route_reverse("staff_invoice", invoice_id=result["id"]),
        f"Avoir {result['number']} émis sur la facture {result['invoice_number']}."
        + _allocated_words(result["allocations"]),
    )


def _allocated_words(allocations: list[dict]) -> str:
    if not allocations:
        return ""
    parts = ", ".join(f"{euros(a['amount_cents'])} sur {a['number']}" for a in allocations)
    return f" Déduit des factures à régler\u00a0: {parts}."


@post(
    "/factures/{invoice_id:int}/remboursement",
    name="staff_credit_refund",
    status_code=200,
    guards=REGIE,
)
async def staff_credit_refund(
    request: Request, invoice_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    form = RefundForm.bind(data, today=clock.today())
    result = None
    if form.valid:
        try:
            result = await services.refund_credit(
                request.user,
                invoice_id,
                method=form.cleaned["mode"],
                refunded_on=form.cleaned["date"],
                reference=form.cleaned["reference"],
            )
        except Rejected as error:
            form.reject(error, default_field="mode")
        else:
            if result is None:
                raise NotFoundException()
    if not form.valid:
        context = await _staff_invoice_context(request, invoice_id, refund_form=form)
        return page_or_fragment(
            request,
            page="pages/invoices/staff_invoice.html",
            fragment=REFUND_FRAGMENT,
            context=context,
            status_code=422,
        )
    message = (
        f"Remboursement de {euros(result['refunded_cents'])} enregistré pour l’avoir "
        f"{result['number']}."
        if result["refunded_cents"]
        else f"Rien à rembourser sur l’avoir {result['number']}."
    )
    return redirect(
        request,
        request.app.route_reverse("staff_invoice", invoice_id=invoice_id),
        message + _allocated_words(result["allocations"]),
    )


def family_router(settings) -> Router:
    return Router(
        path="/",
        route_handlers=[family_invoices, family_paperless, family_invoice, family_invoice_pdf],
    )


def staff_router(settings) -> Router:
    return Router(
        path="/",
        route_handlers=[
            staff_billing,
            staff_billing_start,
            staff_invoices,
            staff_invoice,
            staff_invoice_pdf,
            staff_credit_note,
            staff_credit_refund,
            staff_regularisations,
            staff_regularisations_run,
            *tariff_routes.handlers(),
            *anomaly_routes.handlers(),
        ],
    )
