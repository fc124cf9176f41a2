"""Invoices: the family's list, detail and PDF and paperless choice; the régisseur's billing run,
invoices and credit notes, counter payments and receipts; the administrator's tariffs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template

from ecp import clock
from ecp.audit import services as audit
from ecp.auth.guards import requires_role
from ecp.db import fetch
from ecp.families.tables import Family
from ecp.invoices import billing, credit_notes, pricing, queries, tariff_routes
from ecp.invoices.pdf import invoice_pdf
from ecp.invoices.tables import BillingRun, Invoice
from ecp.mail.notices import month_label
from ecp.web.forms import Form, many, text
from ecp.web.french import de
from ecp.web.htmx import page_or_fragment, redirect, wants_fragment
from ecp.web.params import parse_id, parse_ids

PAPERLESS_FRAGMENT = "partials/invoices/paperless_choice.html"
PROGRESS_FRAGMENT = "partials/invoices/billing_progress.html"
CREDIT_FRAGMENT = "partials/invoices/credit_note_form.html"


def doc_context(request: Request, doc: dict) -> dict:
    return {
        "doc": doc,
        "commune_name": request.app.state.settings.commune_name,
        "month_label": month_label,
    }


# ==== Family side =================================================================================


async def _paperless_context(family_id: int, form: Form | None = None) -> dict:
    rows = await fetch(
        "SELECT id, email, paperless FROM family WHERE id = {}",
        family_id,
        types={"paperless": bool},
    )
    family = rows[0] if rows else None
    if form is None:
        form = Form(values={"mode": "courriel" if family["paperless"] else "papier"})
    return {"family": family, "form": form}


@get("/factures", name="family_invoices")
async def family_invoices(request: Request) -> Template:
    family_id = request.user.family_id
    invoices = await queries.family_invoices(family_id)
    context = {
        "invoices": invoices,
        "totals": queries.totals(invoices),
        "month_label": month_label,
        **await _paperless_context(family_id),
    }
    return page_or_fragment(
        request,
        page="pages/invoices/family_list.html",
        fragment=PAPERLESS_FRAGMENT,
        context=context,
    )


@post("/factures/facture-electronique", name="family_paperless", status_code=200)
async def family_paperless(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    family_id = request.user.family_id
    mode = text(data, "mode", 20)
    form = Form(values={"mode": mode})
    context = await _paperless_context(family_id, form)
    if mode not in ("courriel", "papier"):
        form.error("mode-courriel", "Choisissez la facture électronique ou la facture papier.")
    elif mode == "courriel" and not context["family"]["email"]:
        form.error(
            "mode-courriel",
            "Aucune adresse électronique n’est connue pour votre "
            "famille\u00a0: "
            "indiquez-la d’abord dans « Mes coordonnées ».",
        )
    if not form.valid:
        invoices = await queries.family_invoices(family_id)
        context.update(invoices=invoices, totals=queries.totals(invoices), month_label=month_label)
        return page_or_fragment(
            request,
            page="pages/invoices/family_list.html",
            fragment=PAPERLESS_FRAGMENT,
            context=context,
            status_code=422,
        )
    await Family.update({Family.paperless: mode == "courriel"}).where(Family.id == family_id)
    message = (
        "Facture électronique choisie\u00a0: vous recevrez un courriel à chaque nouvelle facture."
        if mode == "courriel"
        else "Facture papier choisie\u00a0: vos prochaines factures vous seront envoyées par "
        "courrier."
    )
    if not wants_fragment(request):
        return redirect(request, "/famille/factures#paperless-choice", message)
    context = await _paperless_context(family_id)
    context.update(
        flash_messages=[{"kind": "success", "text": message}], flash_oob=True, saved=True
    )
    return page_or_fragment(
        request,
        page="pages/invoices/family_list.html",
        fragment=PAPERLESS_FRAGMENT,
        context=context,
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


def _month_choices(today: dt.date) -> list[dict]:
    first = today.replace(day=1)
    months = []
    for back in range(13):
        year, month = divmod(first.year * 12 + first.month - 1 - back, 12)
        value = dt.date(year, month + 1, 1)
        months.append({"value": value.strftime("%Y-%m"), "label": month_label(value)})
    return months


async def _run_summary(run: dict) -> dict:
    totals = await Invoice.select(Invoice.total_cents).where(Invoice.billing_run == run["id"])
    run["total_cents"] = sum(r["total_cents"] for r in totals)
    run["percent"] = (
        100 * run["families_done"] // run["families_total"]
        if run["families_total"]
        else (100 if run["status"] == "terminee" else 0)
    )
    run["month_label"] = month_label(run["month"])
    for anomaly in run["anomalies"]:
        anomaly["label"] = billing.ANOMALY_LABELS.get(anomaly["kind"], anomaly["kind"])
        anomaly["date"] = dt.date.fromisoformat(anomaly["day"])
    return run


async def _billing_context(run_id: int | None, form: Form | None = None) -> dict:
    runs = (
        await BillingRun.select(
            BillingRun.id,
            BillingRun.month,
            BillingRun.status,
            BillingRun.started_at,
            BillingRun.finished_at,
            BillingRun.families_total,
            BillingRun.families_done,
            BillingRun.invoices_created,
            BillingRun.started_by.display_name.as_alias("started_by_name"),
        )
        .order_by(BillingRun.id, ascending=False)
        .limit(12)
    )
    current = None
    chosen = run_id or (runs[0]["id"] if runs else None)
    if chosen is not None:
        current = (
            await BillingRun.select().where(BillingRun.id == chosen).output(load_json=True).first()
        )
        if current is None and run_id is not None:
            raise NotFoundException()
        if current is not None:
            current = await _run_summary(current)
    today = clock.today()
    previous = (today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    return {
        "runs": runs,
        "run": current,
        "months": _month_choices(today),
        "form": form or Form(values={"mois": previous}),
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
    value = text(data, "mois", 7)
    form = Form(values={"mois": value})
    month = None
    try:
        month = pricing.parse_month(value)
    except ValueError:
        form.error("mois", "Choisissez le mois à facturer.")
    if month is not None and month > clock.today().replace(day=1):
        form.error("mois", "Un mois qui n’a pas commencé ne peut pas être facturé.")
    if not form.valid:
        context = await _billing_context(None, form)
        return page_or_fragment(
            request, page="pages/invoices/staff_billing.html", context=context, status_code=422
        )
    user = request.user
    run_id = await billing.start_run(month, user.staff_id)
    await audit.record(
        user, "facturation_lancee", target=f"BillingRun:{run_id}", details={"mois": value}
    )
    billing.start_in_background(month, run_id, request.app.state.settings, user.staff_id)
    return redirect(
        request,
        f"/agents/facturation?run={run_id}",
        f"Facturation {de(month_label(month))} lancée.",
    )


# ==== Staff: invoices and credit notes ===========================================================


@get("/factures", name="staff_invoices", guards=[requires_role("regisseur")])
async def staff_invoices(
    request: Request,
    mois: FromQuery[str | None] = None,
    famille: FromQuery[str | None] = None,
    envoi: FromQuery[str | None] = None,
) -> Template:
    query = (
        Invoice.select(*queries.INVOICE_COLUMNS, Invoice.family.code.as_alias("family_code"))
        .order_by(Invoice.id, ascending=False)
        .limit(200)
    )
    month = None
    if mois:
        try:
            month = pricing.parse_month(mois)
            query = query.where(Invoice.month == month)
        except ValueError:
            month = None
    code = (famille or "").strip().upper()[:12]
    if code:
        query = query.where(Invoice.family.code == code)
    # Paper families' invoices are printed and posted by the régie: this list is its worklist.
    delivery = envoi if envoi in ("papier", "courriel") else ""
    if delivery:
        query = query.where((Invoice.paperless == delivery) & (Invoice.kind == "facture"))
    today = clock.today()
    invoices = [queries.decorate(r, today) for r in await query]
    return page_or_fragment(
        request,
        page="pages/invoices/staff_invoices.html",
        context={
            "invoices": invoices,
            "mois": mois or "",
            "famille": code,
            "month_label": month_label,
            "envoi": delivery,
            "months": _month_choices(today),
        },
    )


async def _staff_invoice_context(
    request: Request, invoice_id: int, form: Form | None = None
) -> dict:
    doc = await queries.invoice_document(invoice_id)
    if doc is None:
        raise NotFoundException()
    credited = {
        ln["label"].removeprefix("Annulation\u00a0: ") + "|" + ln["days"]
        for ln in await credit_notes.credited_lines(invoice_id)
    }
    for line in doc["lines"]:
        line["credited"] = f"{line['label']}|{line['days']}" in credited
    return {**doc_context(request, doc), "form": form or Form()}


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
    reason = text(data, "motif", 300)
    raw_lines = many(data, "ligne")
    form = Form(values={"motif": reason, "ligne": raw_lines})
    line_ids = parse_ids(raw_lines)
    if not line_ids:
        form.error("ligne", "Choisissez au moins une ligne à annuler.")
    if not reason:
        form.error("motif", "Indiquez le motif de l’avoir.")
    result = None
    if form.valid:
        try:
            result = await credit_notes.issue_credit_note(
                invoice_id=invoice_id,
                line_ids=line_ids,
                reason=reason,
                staff_id=request.user.staff_id,
                actor=request.user,
                settings=request.app.state.settings,
            )
        except credit_notes.InvoiceNotFound as exc:
            raise NotFoundException() from exc
        except credit_notes.CreditNoteError as exc:
            form.error("ligne", str(exc))
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
        f"/agents/factures/{result['id']}",
        f"Avoir {result['number']} émis sur la facture {result['invoice_number']}.",
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
            *tariff_routes.handlers(),
        ],
    )
