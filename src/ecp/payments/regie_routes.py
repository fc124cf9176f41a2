"""The régisseur's documents (/agents/paiements/...): the journal de régie of a day or a month,
the bordereaux de remise per mode, the overdue list with its ageing and the relances, and a
month's paper invoices in one PDF. Reads come from ecp.payments.queries; downloads (journalled)
from ecp.payments.regie_exports; relances from ecp.payments.relances."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template

from ecp import clock
from ecp.auth.guards import requires_role
from ecp.errors import Rejected
from ecp.invoices.queries import month_choices
from ecp.mail.notices import month_label
from ecp.payments import queries, regie, regie_exports, relances
from ecp.payments.allocation import METHODS
from ecp.payments.forms import (
    JournalForm,
    OverdueForm,
    PaperInvoicesForm,
    ReminderRunForm,
    SlipForm,
)
from ecp.web.forms import Form
from ecp.web.htmx import page_or_fragment, redirect

REGISSEUR = [requires_role("regisseur")]
PDF = "application/pdf"


def _settings(request: Request):
    return request.app.state.settings


def _download(content: bytes | str, filename: str, media_type: str) -> Response:
    return Response(
        content=content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _months() -> list[tuple[str, str]]:
    return [(m["value"], m["label"]) for m in month_choices(clock.today())]


def _query(**values: str | None) -> str:
    """The page's own query string, for its download links (only the form's fields)."""
    kept = [(name, value) for name, value in values.items() if value]
    return "?" + urlencode(kept) if kept else ""


# --- Journal de régie ------------------------------------------------------------------------


def _journal_form(jour: str | None, mois: str | None) -> JournalForm:
    return JournalForm.bind({"jour": jour or "", "mois": mois or ""}, months=_months())


def _period(form: JournalForm) -> regie.Period:
    if form.cleaned.get("mois"):
        return regie.Period.month(form.cleaned["mois"])
    return regie.Period.day(form.cleaned.get("jour") or clock.today())


async def _journal_page(request: Request, form: JournalForm) -> Template:
    """`form` was bound from the query string: its values are the page's query."""
    period = _period(form) if form.valid else regie.Period.day(clock.today())
    doc = await queries.journal(period)
    return page_or_fragment(
        request,
        page="pages/payments/regie_journal.html",
        fragment="partials/payments/regie_journal_table.html",
        context={
            "form": form,
            "doc": doc,
            "months": _months(),
            "query": _query(**form.values) if form.valid else "",
        },
        status_code=200 if form.valid else 422,
    )


@get("/paiements/journal", name="staff_regie_journal", guards=REGISSEUR)
async def staff_regie_journal(
    request: Request, jour: FromQuery[str | None] = None, mois: FromQuery[str | None] = None
) -> Template:
    return await _journal_page(request, _journal_form(jour, mois))


async def _journal_file(request: Request, jour, mois, fmt: str) -> Any:
    form = _journal_form(jour, mois)
    if not form.valid:
        return await _journal_page(request, form)
    period = _period(form)
    content = await regie_exports.journal_file(request.user, period, fmt, _settings(request))
    media = regie.MEDIA_TYPE_CSV if fmt == "csv" else PDF
    return _download(content, regie.journal_filename(period, fmt), media)


@get("/paiements/journal.csv", name="staff_regie_journal_csv", guards=REGISSEUR)
async def staff_regie_journal_csv(
    request: Request, jour: FromQuery[str | None] = None, mois: FromQuery[str | None] = None
) -> Any:
    return await _journal_file(request, jour, mois, "csv")


@get("/paiements/journal.pdf", name="staff_regie_journal_pdf", guards=REGISSEUR)
async def staff_regie_journal_pdf(
    request: Request, jour: FromQuery[str | None] = None, mois: FromQuery[str | None] = None
) -> Any:
    return await _journal_file(request, jour, mois, "pdf")


# --- Bordereaux de remise --------------------------------------------------------------------


def _slip_form(mode, du, au) -> SlipForm:
    today = clock.today().strftime("%d/%m/%Y")
    return SlipForm.bind({"mode": mode or "cheque", "du": du or today, "au": au or ""})


def _slip_period(form: SlipForm) -> regie.Period:
    return regie.Period(form.cleaned["du"], form.cleaned["au"])


async def _slip_page(request: Request, form: SlipForm) -> Template:
    doc = None
    if form.valid:
        doc = await queries.slip(form.cleaned["mode"], _slip_period(form))
    return page_or_fragment(
        request,
        page="pages/payments/regie_bordereau.html",
        fragment="partials/payments/regie_bordereau_table.html",
        context={
            "form": form,
            "doc": doc,
            "methods": list(METHODS.items()),
            "query": _query(**form.values) if form.valid else "",
        },
        status_code=200 if form.valid else 422,
    )


@get("/paiements/bordereau", name="staff_regie_slip", guards=REGISSEUR)
async def staff_regie_slip(
    request: Request,
    mode: FromQuery[str | None] = None,
    du: FromQuery[str | None] = None,
    au: FromQuery[str | None] = None,
) -> Template:
    return await _slip_page(request, _slip_form(mode, du, au))


async def _slip_file(request: Request, mode, du, au, fmt: str) -> Any:
    form = _slip_form(mode, du, au)
    if not form.valid:
        return await _slip_page(request, form)
    method, period = form.cleaned["mode"], _slip_period(form)
    content = await regie_exports.slip_file(request.user, method, period, fmt, _settings(request))
    media = regie.MEDIA_TYPE_CSV if fmt == "csv" else PDF
    return _download(content, regie.slip_filename(method, period, fmt), media)


@get("/paiements/bordereau.csv", name="staff_regie_slip_csv", guards=REGISSEUR)
async def staff_regie_slip_csv(
    request: Request,
    mode: FromQuery[str | None] = None,
    du: FromQuery[str | None] = None,
    au: FromQuery[str | None] = None,
) -> Any:
    return await _slip_file(request, mode, du, au, "csv")


@get("/paiements/bordereau.pdf", name="staff_regie_slip_pdf", guards=REGISSEUR)
async def staff_regie_slip_pdf(
    request: Request,
    mode: FromQuery[str | None] = None,
    du: FromQuery[str | None] = None,
    au: FromQuery[str | None] = None,
) -> Any:
    return await _slip_file(request, mode, du, au, "pdf")


# --- Impayés and relances ------------------------------------------------------------------


def _overdue_form(tranche, famille, relance) -> OverdueForm:
    return OverdueForm.bind(
        {"tranche": tranche or "", "famille": famille or "", "relance": relance or ""}
    )


def _filters(form: OverdueForm) -> dict:
    if not form.valid:
        return {}
    return {
        "bucket": form.cleaned["tranche"] or "",
        "family_code": form.cleaned["famille"] or "",
        "reminder": form.cleaned["relance"] or "",
    }


async def _overdue_page(
    request: Request, form: OverdueForm, run_form: Form | None = None, status_code: int = 200
) -> Template:
    data = await queries.overdue(**_filters(form))
    return page_or_fragment(
        request,
        page="pages/payments/regie_overdue.html",
        fragment="partials/payments/regie_reminder_run.html" if run_form else None,
        context={
            **data,
            "form": form,
            "run_form": run_form or ReminderRunForm(),
            "buckets": [(key, label) for key, label, _, _ in regie.BUCKETS],
            "reminder_filters": list(regie.REMINDER_FILTERS.items()),
            "levels": regie.LEVELS,
            "second_after_days": regie.SECOND_AFTER_DAYS,
            "month_label": month_label,
            "query": _query(**form.values) if form.valid else "",
        },
        status_code=status_code if form.valid else 422,
    )


@get("/paiements/impayes", name="staff_overdue", guards=REGISSEUR)
async def staff_overdue(
    request: Request,
    tranche: FromQuery[str | None] = None,
    famille: FromQuery[str | None] = None,
    relance: FromQuery[str | None] = None,
) -> Template:
    return await _overdue_page(request, _overdue_form(tranche, famille, relance))


@get("/paiements/impayes.csv", name="staff_overdue_csv", guards=REGISSEUR)
async def staff_overdue_csv(
    request: Request,
    tranche: FromQuery[str | None] = None,
    famille: FromQuery[str | None] = None,
    relance: FromQuery[str | None] = None,
) -> Any:
    form = _overdue_form(tranche, famille, relance)
    if not form.valid:
        return await _overdue_page(request, form)
    content = await regie_exports.overdue_file(request.user, _filters(form))
    filename = f"impayes-{clock.today().isoformat()}.csv"
    return _download(content, filename, regie.MEDIA_TYPE_CSV)


@post("/paiements/relances", name="staff_reminders_send", status_code=200, guards=REGISSEUR)
async def staff_reminders_send(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    form = ReminderRunForm.bind(data)
    if form.valid:
        level = int(form.cleaned["niveau"])
        try:
            result = await relances.send_reminders(request.user, level, _settings(request))
        except Rejected as error:
            form.reject(error, "niveau")
        else:
            message = (
                f"{regie.LEVELS[level].capitalize()} envoyée pour {result['invoices']} "
                f"facture{'s' if result['invoices'] > 1 else ''}\u00a0: "
                f"{result['emails']} courriel{'s' if result['emails'] > 1 else ''}, "
                f"{result['letters']} courrier{'s' if result['letters'] > 1 else ''} à imprimer."
            )
            path = request.app.route_reverse("staff_reminder_batch", batch_id=result["batch_id"])
            return redirect(request, path, message)
    return await _overdue_page(request, _overdue_form(None, None, None), form, 422)


@get("/paiements/relances/{batch_id:int}", name="staff_reminder_batch", guards=REGISSEUR)
async def staff_reminder_batch(request: Request, batch_id: FromPath[int]) -> Template:
    batch = await queries.reminder_batch(batch_id)
    if batch is None:
        raise NotFoundException()
    return page_or_fragment(
        request,
        page="pages/payments/regie_reminder_batch.html",
        context={"batch": batch, "levels": regie.LEVELS, "month_label": month_label},
    )


@get(
    "/paiements/relances/{batch_id:int}/courriers.pdf",
    name="staff_reminder_letters",
    guards=REGISSEUR,
)
async def staff_reminder_letters(request: Request, batch_id: FromPath[int]) -> Any:
    try:
        content = await relances.letters_pdf(request.user, batch_id, _settings(request))
    except relances.BatchNotFound:
        raise NotFoundException() from None
    if content is None:
        return redirect(
            request,
            request.app.route_reverse("staff_reminder_batch", batch_id=batch_id),
            "Plus aucun courrier à imprimer\u00a0: les factures de ces familles ont été réglées.",
            kind="warning",
        )
    return _download(content, f"relances-{batch_id}.pdf", PDF)


# --- A month's paper invoices ----------------------------------------------------------------


def _paper_form(mois, partie) -> PaperInvoicesForm:
    # The month billed last, by default: billing runs early in the next month.
    default = (clock.today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    return PaperInvoicesForm.bind(
        {"mois": mois or default, "partie": partie or ""}, months=_months()
    )


async def _paper_page(request: Request, form: PaperInvoicesForm) -> Template:
    count = await queries.paper_invoice_count(form.cleaned["mois"]) if form.valid else 0
    return page_or_fragment(
        request,
        page="pages/payments/regie_paper_invoices.html",
        fragment="partials/payments/regie_paper_count.html",
        context={
            "form": form,
            "months": _months(),
            "count": count,
            "parts": regie_exports.paper_parts(count),
            "month": form.cleaned.get("mois"),
            "month_label": month_label,
        },
        status_code=200 if form.valid else 422,
    )


@get("/paiements/factures-papier", name="staff_paper_invoices", guards=REGISSEUR)
async def staff_paper_invoices(request: Request, mois: FromQuery[str | None] = None) -> Template:
    return await _paper_page(request, _paper_form(mois, None))


@get("/paiements/factures-papier.pdf", name="staff_paper_invoices_pdf", guards=REGISSEUR)
async def staff_paper_invoices_pdf(
    request: Request, mois: FromQuery[str | None] = None, partie: FromQuery[str | None] = None
) -> Any:
    form = _paper_form(mois, partie)
    if not form.valid:
        return await _paper_page(request, form)
    month, part = form.cleaned["mois"], form.cleaned["partie"] or 1
    content = await regie_exports.paper_invoices_pdf(request.user, month, part, _settings(request))
    if content is None:
        raise NotFoundException("Aucune facture papier pour ce mois")
    return _download(content, f"factures-papier-{month.strftime('%Y-%m')}-{part}.pdf", PDF)


def handlers() -> list:
    return [
        staff_regie_journal,
        staff_regie_journal_csv,
        staff_regie_journal_pdf,
        staff_regie_slip,
        staff_regie_slip_csv,
        staff_regie_slip_pdf,
        staff_overdue,
        staff_overdue_csv,
        staff_reminders_send,
        staff_reminder_batch,
        staff_reminder_letters,
        staff_paper_invoices,
        staff_paper_invoices_pdf,
    ]
