"""SEPA direct debit pages: the mandate, recorded by the family (« Prélèvement automatique »)
or by an agent from the family record; the régisseur's month file (pain.008) and rejects."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Response, Template

from ecp import clock
from ecp.auth.guards import requires_role
from ecp.errors import Rejected
from ecp.payments import debits, mandates
from ecp.payments.forms import DebitMonthForm, DebitRejectForm, MandateForm
from ecp.web.forms import Form
from ecp.web.htmx import page_or_fragment, redirect, wants_fragment

AGENT = [requires_role("agent")]
REGISSEUR = [requires_role("regisseur")]
MANDATE_PAGE = "pages/payments/mandate.html"
MANDATE_FRAGMENT = "partials/payments/mandate_section.html"


def _settings(request: Request):
    return request.app.state.settings


# --- The mandate: family and agent ---------------------------------------------------------


async def _mandate_context(request: Request, family_id: int, form: Form, staff: bool) -> dict:
    data = await mandates.mandate_page(family_id)
    if data["family"] is None:
        raise NotFoundException()
    if staff:
        action = request.app.route_reverse("staff_family_mandate_save", family_id=family_id)
        pdf = request.app.route_reverse("staff_family_mandate_pdf", family_id=family_id)
    else:
        action = request.app.route_reverse("family_mandate_save")
        pdf = request.app.route_reverse("family_mandate_pdf")
    return {**data, "form": form, "staff": staff, "action": action, "pdf_url": pdf}


def _initial() -> Form:
    return MandateForm.initial(signature=clock.today().isoformat())


async def _show(request: Request, family_id: int, staff: bool) -> Template:
    return page_or_fragment(
        request,
        page=MANDATE_PAGE,
        fragment=MANDATE_FRAGMENT,
        context=await _mandate_context(request, family_id, _initial(), staff),
    )


async def _save(request: Request, family_id: int, data: dict, staff: bool) -> Any:
    form = MandateForm.bind(data)
    if form.valid:
        try:
            result = await mandates.record_mandate(
                _settings(request),
                family_id=family_id,
                holder=form.cleaned["titulaire"],
                iban=form.cleaned["iban"],
                bic=form.cleaned["bic"],
                signed_on=form.cleaned["signature"],
                actor=request.user if staff else None,
            )
        except Rejected as error:
            form.reject(error, "iban")
        else:
            message = (
                f"Mandat {result['rum']} enregistré (IBAN {result['iban_hint']}). Imprimez-le "
                f"pour signature."
            )
            if not wants_fragment(request):
                path = (
                    request.app.route_reverse("staff_family_mandate", family_id=family_id)
                    if staff
                    else request.app.route_reverse("family_mandate")
                )
                return redirect(request, path, message)
            context = await _mandate_context(request, family_id, _initial(), staff)
            context.update(
                flash_messages=[{"kind": "success", "text": message}], flash_oob=True, saved=True
            )
            return page_or_fragment(
                request, page=MANDATE_PAGE, fragment=MANDATE_FRAGMENT, context=context
            )
    # Never shown again as typed: an IBAN refused stays in the field for correction only.
    return page_or_fragment(
        request,
        page=MANDATE_PAGE,
        fragment=MANDATE_FRAGMENT,
        context=await _mandate_context(request, family_id, form, staff),
        status_code=422,
    )


async def _pdf(request: Request, family_id: int, *, full_iban: bool) -> Response:
    found = await mandates.mandate_pdf(_settings(request), family_id, full_iban=full_iban)
    if found is None:
        raise NotFoundException()
    rum, content = found
    return Response(
        content=content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="mandat-{rum}.pdf"'},
    )


@get("/prelevement", name="family_mandate")
async def family_mandate(request: Request) -> Template:
    return await _show(request, request.user.family_id, staff=False)


@post("/prelevement", name="family_mandate_save", status_code=200)
async def family_mandate_save(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    return await _save(request, request.user.family_id, data, staff=False)


@get("/prelevement/mandat.pdf", name="family_mandate_pdf")
async def family_mandate_pdf(request: Request) -> Response:
    """The family's own copy to sign: the only place the IBAN is printed in full."""
    return await _pdf(request, request.user.family_id, full_iban=True)


@get("/familles/{family_id:int}/prelevement", name="staff_family_mandate", guards=AGENT)
async def staff_family_mandate(request: Request, family_id: FromPath[int]) -> Template:
    return await _show(request, family_id, staff=True)


@post(
    "/familles/{family_id:int}/prelevement",
    name="staff_family_mandate_save",
    guards=AGENT,
    status_code=200,
)
async def staff_family_mandate_save(
    request: Request, family_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    return await _save(request, family_id, data, staff=True)


@get(
    "/familles/{family_id:int}/prelevement/mandat.pdf",
    name="staff_family_mandate_pdf",
    guards=AGENT,
)
async def staff_family_mandate_pdf(request: Request, family_id: FromPath[int]) -> Response:
    """Printed at the counter for signature: the IBAN stays masked (staff never see it)."""
    return await _pdf(request, family_id, full_iban=False)


# --- The régisseur's debit files -----------------------------------------------------------

DEBITS_PAGE = "pages/payments/debits.html"
DEBIT_MONTH_FRAGMENT = "partials/payments/debit_month.html"
BATCH_PAGE = "pages/payments/debit_batch.html"
BATCH_FRAGMENT = "partials/payments/debit_lines.html"


def month_choices(today: dt.date, count: int = 12) -> list[tuple[str, str]]:
    from babel.dates import format_date

    choices = []
    year, month = today.year, today.month
    for _ in range(count):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        first = dt.date(year, month, 1)
        choices.append((first.strftime("%Y-%m"), format_date(first, "MMMM y", locale="fr_FR")))
    return choices


async def _debits_context(request: Request, form: Form) -> dict:
    return {
        "form": form,
        "months": month_choices(clock.today()),
        "problems": debits.config_problems(_settings(request)),
        "batches": await debits.batches(),
    }


@get("/prelevements", name="staff_debits", guards=REGISSEUR)
async def staff_debits(request: Request) -> Template:
    form = DebitMonthForm.initial(mois=month_choices(clock.today())[0][0])
    return page_or_fragment(
        request,
        page=DEBITS_PAGE,
        fragment=DEBIT_MONTH_FRAGMENT,
        context=await _debits_context(request, form),
    )


@post("/prelevements", name="staff_debit_create", guards=REGISSEUR, status_code=200)
async def staff_debit_create(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    form = DebitMonthForm.bind(data)
    if form.valid:
        try:
            result = await debits.create_batch(
                _settings(request), request.user, form.cleaned["mois"]
            )
        except Rejected as error:
            form.reject(error, "mois")
        else:
            return redirect(
                request,
                request.app.route_reverse("staff_debit_batch", batch_id=result["id"]),
                f"Fichier produit : {result['debits']} prélèvement(s). Les factures sont "
                f"marquées réglées par prélèvement.",
            )
    return page_or_fragment(
        request,
        page=DEBITS_PAGE,
        fragment=DEBIT_MONTH_FRAGMENT,
        context=await _debits_context(request, form),
        status_code=422,
    )


async def _batch_context(batch_id: int, form: Form | None = None, line_id: int | None = None):
    batch = await debits.batch_page(batch_id)
    if batch is None:
        raise NotFoundException()
    empty = Form()

    def form_for(debit_id: int) -> Form:
        return form if form is not None and debit_id == line_id else empty

    return {
        "batch": batch,
        "form": form,
        "form_for": form_for,
        "reasons": [("", "Choisir le motif"), *debits.REJECT_REASONS.items()],
    }


@get("/prelevements/{batch_id:int}", name="staff_debit_batch", guards=REGISSEUR)
async def staff_debit_batch(request: Request, batch_id: FromPath[int]) -> Template:
    return page_or_fragment(
        request, page=BATCH_PAGE, fragment=BATCH_FRAGMENT, context=await _batch_context(batch_id)
    )


@get("/prelevements/{batch_id:int}/fichier.xml", name="staff_debit_file", guards=REGISSEUR)
async def staff_debit_file(request: Request, batch_id: FromPath[int]) -> Response:
    found = await debits.download_batch(request.user, batch_id)
    if found is None:
        raise NotFoundException()
    message_id, xml = found
    return Response(
        content=xml.encode("utf-8"),
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="prelevements-{message_id}.xml"'},
    )


@post(
    "/prelevements/rejets/{debit_id:int}",
    name="staff_debit_reject",
    guards=REGISSEUR,
    status_code=200,
)
async def staff_debit_reject(
    request: Request, debit_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    form = DebitRejectForm.bind(data)
    batch_id = await debits.batch_of(debit_id)
    if batch_id is None:
        raise NotFoundException()
    if form.valid:
        try:
            result = await debits.reject_debit(
                _settings(request), request.user, debit_id, form.cleaned["motif"]
            )
        except debits.DebitNotFound:
            raise NotFoundException() from None
        except Rejected as error:
            form.reject(error, "motif")
        else:
            message = (
                f"Rejet enregistré : la facture {result['number']} est de nouveau à régler ; "
                f"la famille est prévenue par courriel."
            )
            if not wants_fragment(request):
                return redirect(
                    request,
                    request.app.route_reverse("staff_debit_batch", batch_id=batch_id),
                    message,
                )
            context = await _batch_context(batch_id)
            context.update(
                flash_messages=[{"kind": "success", "text": message}], flash_oob=True, saved=True
            )
            return page_or_fragment(
                request, page=BATCH_PAGE, fragment=BATCH_FRAGMENT, context=context
            )
    # The error belongs to this line's control.
    form.errors = {f"motif-{debit_id}": message for message in form.errors.values()}
    return page_or_fragment(
        request,
        page=BATCH_PAGE,
        fragment=BATCH_FRAGMENT,
        context=await _batch_context(batch_id, form, debit_id),
        status_code=422,
    )


def family_handlers() -> list:
    return [family_mandate, family_mandate_save, family_mandate_pdf]


def staff_handlers() -> list:
    return [
        staff_family_mandate,
        staff_family_mandate_save,
        staff_family_mandate_pdf,
        staff_debits,
        staff_debit_create,
        staff_debit_batch,
        staff_debit_file,
        staff_debit_reject,
    ]
