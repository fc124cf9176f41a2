"""The finance pages (/agents/finance/...), for the régisseur (and the administrator): the
accountant's codes, the PES V2 export of a month or of the overdue invoices, the bordereaux with
their files and their cancellation. Reads come from ecp.finance.queries, writes and journalled
downloads from ecp.finance.services."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template

from ecp import clock
from ecp.auth.guards import requires_role
from ecp.errors import Rejected
from ecp.finance import certificates, queries, reports, services
from ecp.finance.forms import (
    MEANINGS,
    ActivityCodesForm,
    CafForm,
    CancelForm,
    CertificateYearForm,
    ExportForm,
    FinanceSettingsForm,
    MealsForm,
    certificate_years,
    meal_years,
    month_options,
    report_periods,
)
from ecp.mail.notices import month_label
from ecp.web.forms import Form
from ecp.web.htmx import page_or_fragment, redirect

REGISSEUR = [requires_role("regisseur")]


def _download(content: bytes, filename: str, media_type: str) -> Response:
    return Response(
        content=content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- The accountant's codes ------------------------------------------------------------------


def _settings_form(settings: dict) -> FinanceSettingsForm:
    values = {name: settings.get(name) or "" for name in FinanceSettingsForm.fields}
    return FinanceSettingsForm.initial(**values)


async def _settings_page(
    request: Request,
    form: Form | None = None,
    codes_form: Form | None = None,
    status_code: int = 200,
) -> Template:
    data = await queries.settings_page()
    return page_or_fragment(
        request,
        page="pages/finance/settings.html",
        fragment=(
            "partials/finance/settings_form.html"
            if form is not None
            else "partials/finance/activity_codes.html"
            if codes_form is not None
            else None
        ),
        context={
            **data,
            "form": form or _settings_form(data["settings"]),
            "codes_form": codes_form or ActivityCodesForm(),
            "meanings": MEANINGS,
            "activity_options": [(a["id"], a["label"]) for a in data["activities"]],
        },
        status_code=status_code,
    )


@get("/finance/parametres", name="staff_finance_settings", guards=REGISSEUR)
async def staff_finance_settings(request: Request) -> Template:
    return await _settings_page(request)


@post("/finance/parametres", name="staff_finance_settings_save", status_code=200, guards=REGISSEUR)
async def staff_finance_settings_save(
    request: Request, data: URLEncodedBody[dict[str, Any]]
) -> Any:
    form = FinanceSettingsForm.bind(data)
    if not form.valid:
        return await _settings_page(request, form=form, status_code=422)
    changed = await services.save_settings(request.user, form.cleaned)
    message = "Paramètres PES enregistrés." if changed else "Aucun changement à enregistrer."
    return redirect(request, request.app.route_reverse("staff_finance_settings"), message)


@post(
    "/finance/parametres/activites",
    name="staff_finance_activity_codes",
    status_code=200,
    guards=REGISSEUR,
)
async def staff_finance_activity_codes(
    request: Request, data: URLEncodedBody[dict[str, Any]]
) -> Any:
    form = ActivityCodesForm.bind(data)
    if form.valid:
        try:
            await services.save_activity_codes(
                request.user,
                form.cleaned["activite"],
                form.cleaned["produit"],
                form.cleaned["nature"],
            )
        except Rejected as error:
            form.reject(error, "activite")
        else:
            path = request.app.route_reverse("staff_finance_settings") + "#codes-activites"
            return redirect(request, path, "Codes de l’activité enregistrés.")
    return await _settings_page(request, codes_form=form, status_code=422)


# --- The PES export ----------------------------------------------------------------------------


def _export_form(perimetre: str | None, mois: str | None) -> ExportForm:
    return ExportForm.bind({"perimetre": perimetre or "mois", "mois": mois or ""})


async def _export_page(
    request: Request, form: ExportForm, issue_error: bool = False, status_code: int = 200
) -> Template:
    preview = None
    if form.valid and form.cleaned:  # an unbound form (nothing chosen yet) shows no pieces
        preview = await queries.preview(form.cleaned["perimetre"], form.cleaned["mois"])
    settings = await queries.finance_settings()
    return page_or_fragment(
        request,
        page="pages/finance/pes.html",
        fragment="partials/finance/pes_preview.html",
        context={
            "form": form,
            "preview": preview,
            "months": month_options(),
            "scopes": list(queries.SCOPES.items()),
            "missing": queries.missing_codes(settings),
            "bordereaux": await queries.bordereaux(),
            "month_label": month_label,
            "issue_error": issue_error,
        },
        status_code=status_code if form.valid or status_code != 200 else 422,
    )


@get("/finance/pes", name="staff_pes", guards=REGISSEUR)
async def staff_pes(
    request: Request,
    perimetre: FromQuery[str | None] = None,
    mois: FromQuery[str | None] = None,
) -> Template:
    if perimetre is None and mois is None:
        # Nothing chosen yet: the form alone, with the list of bordereaux.
        form = ExportForm.initial(perimetre="mois", mois="")
        return await _export_page(request, form)
    return await _export_page(request, _export_form(perimetre, mois))


@post("/finance/pes", name="staff_pes_issue", status_code=200, guards=REGISSEUR)
async def staff_pes_issue(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    form = ExportForm.bind(data)
    if form.valid:
        try:
            result = await services.issue_bordereau(
                request.user, form.cleaned["perimetre"], form.cleaned["mois"]
            )
        except Rejected as error:
            form.reject(error, "perimetre")
        else:
            message = (
                f"Bordereau n° {result['number']} de {result['year']} émis\u00a0: "
                f"{result['pieces']} pièce{'s' if result['pieces'] > 1 else ''}."
            )
            path = request.app.route_reverse("staff_pes_bordereau", bordereau_id=result["id"])
            return redirect(request, path, message)
    return await _export_page(request, form, issue_error=True, status_code=422)


async def _bordereau_page(
    request: Request, bordereau_id: int, form: Form | None = None, status_code: int = 200
) -> Template:
    row = await queries.bordereau(bordereau_id)
    if row is None:
        raise NotFoundException()
    return page_or_fragment(
        request,
        page="pages/finance/bordereau.html",
        fragment="partials/finance/bordereau_cancel.html" if form is not None else None,
        context={
            "b": row,
            "form": form or CancelForm(),
            "scopes": queries.SCOPES,
            "month_label": month_label,
        },
        status_code=status_code,
    )


@get("/finance/pes/{bordereau_id:int}", name="staff_pes_bordereau", guards=REGISSEUR)
async def staff_pes_bordereau(request: Request, bordereau_id: FromPath[int]) -> Template:
    return await _bordereau_page(request, bordereau_id)


@get("/finance/pes/{bordereau_id:int}/pes.xml", name="staff_pes_xml", guards=REGISSEUR)
async def staff_pes_xml(request: Request, bordereau_id: FromPath[int]) -> Response:
    found = await services.xml_file(request.user, bordereau_id)
    if found is None:
        raise NotFoundException()
    return _download(found[0], found[1], "application/xml")


@get("/finance/pes/{bordereau_id:int}/pes.zip", name="staff_pes_zip", guards=REGISSEUR)
async def staff_pes_zip(request: Request, bordereau_id: FromPath[int]) -> Response:
    found = await services.zip_file(request.user, bordereau_id, request.app.state.settings)
    if found is None:
        raise NotFoundException()
    return _download(found[0], found[1], "application/zip")


@post(
    "/finance/pes/{bordereau_id:int}/annulation",
    name="staff_pes_cancel",
    status_code=200,
    guards=REGISSEUR,
)
async def staff_pes_cancel(
    request: Request, bordereau_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    form = CancelForm.bind(data)
    if form.valid:
        try:
            row = await services.cancel_bordereau(request.user, bordereau_id, form.cleaned["motif"])
        except LookupError:
            raise NotFoundException() from None
        except Rejected as error:
            form.reject(error, "motif")
        else:
            message = (
                f"Bordereau n° {row['number']} de {row['year']} annulé\u00a0: ses factures peuvent "
                "être exportées à nouveau ; son numéro ne sera plus utilisé."
            )
            path = request.app.route_reverse("staff_pes_bordereau", bordereau_id=bordereau_id)
            return redirect(request, path, message)
    return await _bordereau_page(request, bordereau_id, form, 422)


# --- Reports to the State ---------------------------------------------------------------------


def _caf_form(periode: str | None) -> CafForm:
    return CafForm.bind({"periode": periode or str(clock.today().year)})


async def _caf_page(request: Request, form: CafForm) -> Template:
    report = (
        await reports.caf(reports.Period.parse(form.cleaned["periode"])) if form.valid else None
    )
    return page_or_fragment(
        request,
        page="pages/finance/caf.html",
        fragment="partials/finance/caf_table.html",
        context={
            "form": form,
            "report": report,
            "periods": report_periods(),
            "hours": reports.hours,
            "query": f"?periode={form.cleaned['periode']}" if form.valid else "",
        },
        status_code=200 if form.valid else 422,
    )


@get("/finance/caf", name="staff_caf", guards=REGISSEUR)
async def staff_caf(request: Request, periode: FromQuery[str | None] = None) -> Template:
    return await _caf_page(request, _caf_form(periode))


@get("/finance/caf.csv", name="staff_caf_csv", guards=REGISSEUR)
async def staff_caf_csv(request: Request, periode: FromQuery[str | None] = None) -> Any:
    form = _caf_form(periode)
    if not form.valid:
        return await _caf_page(request, form)
    content, name = await services.caf_file(
        request.user, reports.Period.parse(form.cleaned["periode"])
    )
    return _download(content.encode("utf-8"), name, reports.MEDIA_TYPE_CSV)


def _meals_form(annee: str | None) -> MealsForm:
    return MealsForm.bind({"annee": annee or str(clock.today().year)})


async def _meals_page(request: Request, form: MealsForm) -> Template:
    report = await reports.meals(form.cleaned["annee"]) if form.valid else None
    return page_or_fragment(
        request,
        page="pages/finance/meals.html",
        fragment="partials/finance/meals_table.html",
        context={
            "form": form,
            "report": report,
            "years": meal_years(),
            "query": f"?annee={form.cleaned['annee']}" if form.valid else "",
        },
        status_code=200 if form.valid else 422,
    )


@get("/finance/ma-cantine", name="staff_meals", guards=REGISSEUR)
async def staff_meals(request: Request, annee: FromQuery[str | None] = None) -> Template:
    return await _meals_page(request, _meals_form(annee))


@get("/finance/ma-cantine.csv", name="staff_meals_csv", guards=REGISSEUR)
async def staff_meals_csv(request: Request, annee: FromQuery[str | None] = None) -> Any:
    form = _meals_form(annee)
    if not form.valid:
        return await _meals_page(request, form)
    content, name = await services.meals_file(request.user, form.cleaned["annee"])
    return _download(content.encode("utf-8"), name, reports.MEDIA_TYPE_CSV)


# --- Attestations de frais de garde -------------------------------------------------------------


def _certificate_form(annee: str | None) -> CertificateYearForm:
    return CertificateYearForm.bind({"annee": annee or str(clock.today().year - 1)})


async def _certificates_page(
    request: Request, form: CertificateYearForm, status_code: int = 200
) -> Template:
    year = form.cleaned.get("annee") or clock.today().year - 1
    return page_or_fragment(
        request,
        page="pages/finance/certificates.html",
        fragment="partials/finance/certificates_run.html",
        context={
            "form": form,
            "year": year,
            "summary": await certificates.year_summary(year),
            "years": certificate_years(),
        },
        status_code=status_code if form.valid else 422,
    )


@get("/finance/attestations", name="staff_certificates", guards=REGISSEUR)
async def staff_certificates(request: Request, annee: FromQuery[str | None] = None) -> Template:
    return await _certificates_page(request, _certificate_form(annee))


@post("/finance/attestations", name="staff_certificates_issue", status_code=200, guards=REGISSEUR)
async def staff_certificates_issue(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    form = CertificateYearForm.bind(data)
    if form.valid:
        try:
            result = await certificates.issue_year(
                request.user, form.cleaned["annee"], request.app.state.settings
            )
        except Rejected as error:
            form.reject(error, "annee")
        else:
            year = form.cleaned["annee"]
            message = (
                f"Attestations {year}\u00a0: {result['issued']} émise{'s' if result['issued'] > 1 else ''}, "
                f"{result['emailed']} envoyée{'s' if result['emailed'] > 1 else ''} par courriel"
                + (
                    f", {result['existing']} déjà émise{'s' if result['existing'] > 1 else ''} avant."
                    if result["existing"]
                    else "."
                )
            )
            path = request.app.route_reverse("staff_certificates") + f"?annee={year}"
            return redirect(request, path, message)
    return await _certificates_page(request, form, 422)


@get("/attestations", name="family_certificates")
async def family_certificates(request: Request) -> Template:
    return page_or_fragment(
        request,
        page="pages/finance/family_certificates.html",
        context={"certificates": await certificates.family_certificates(request.user.family_id)},
    )


@get("/attestations/{certificate_id:int}/attestation.pdf", name="family_certificate_pdf")
async def family_certificate_pdf(request: Request, certificate_id: FromPath[int]) -> Response:
    found = await certificates.certificate_pdf(
        certificate_id, request.user.family_id, request.app.state.settings
    )
    if found is None:
        raise NotFoundException()
    return _download(found[0], found[1], "application/pdf")


def family_router(settings) -> Router:
    return Router(path="/", route_handlers=[family_certificates, family_certificate_pdf])


def staff_router(settings) -> Router:
    return Router(
        path="/",
        route_handlers=[
            staff_finance_settings,
            staff_finance_settings_save,
            staff_finance_activity_codes,
            staff_pes,
            staff_pes_issue,
            staff_pes_bordereau,
            staff_pes_xml,
            staff_pes_zip,
            staff_pes_cancel,
            staff_caf,
            staff_caf_csv,
            staff_meals,
            staff_meals_csv,
            staff_certificates,
            staff_certificates_issue,
        ],
    )
