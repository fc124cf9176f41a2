"""The paper of a school's day (/agents/effectifs/...): the feuilles d'émargement and the
kitchen sheet, A4 PDFs built and journalled by ecp.backoffice.sheets. Staff reach them from
the effectifs page of a school."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Template

from ecp import clock
from ecp.backoffice import sheets
from ecp.web.forms import Form, Integer, text
from ecp.web.htmx import page_or_fragment
from ecp.web.params import parse_id, parse_iso_day

KITCHEN_PAGE = "pages/backoffice/kitchen_sheet.html"
PDF = "application/pdf"


def _day(jour: str | None):
    if not jour:
        return clock.today()
    day = parse_iso_day(jour)
    if day is None:
        raise NotFoundException("Jour invalide")
    return day


def _school(ecole: str | None) -> int:
    school_id = parse_id(ecole or "")
    if school_id is None:
        raise NotFoundException("École introuvable")
    return school_id


def _pdf(content: bytes, filename: str) -> Response:
    return Response(
        content=content,
        media_type=PDF,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _commune(request: Request) -> str:
    return request.app.state.settings.commune_name


@get("/effectifs/emargement.pdf", name="staff_attendance_sheets")
async def staff_attendance_sheets(
    request: Request,
    jour: FromQuery[str | None] = None,
    ecole: FromQuery[str | None] = None,
    activite: FromQuery[str | None] = None,
) -> Response:
    """The feuilles d'émargement of a school's day: one activity (`activite`) or all."""
    day, school_id = _day(jour), _school(ecole)
    activity_id = parse_id(activite) if activite else None
    if activite and activity_id is None:
        raise NotFoundException("Activité introuvable")
    pdf = await sheets.attendance_sheets(
        request.user, day, school_id, activity_id, _commune(request)
    )
    if pdf is None:
        raise NotFoundException("École introuvable")
    return _pdf(pdf, f"emargement-{day.isoformat()}-ecole-{school_id}.pdf")


class KitchenSheetForm(Form):
    """The kitchen sheet's one question: how many adults eat (not known to the portal)."""

    adultes = Integer(
        "Repas adultes",
        high=sheets.MAX_ADULTS,
        empty=0,
        invalid=f"Indiquez le nombre de repas adultes, un nombre entier de 0 à {sheets.MAX_ADULTS}.",
    )


async def _kitchen_context(day, school_id: int, form: Form) -> dict[str, Any]:
    counts = await sheets.kitchen_counts(day, school_id)
    if counts is None:
        raise NotFoundException("École introuvable")
    return {"counts": counts, "day": day, "form": form}


@get("/effectifs/cuisine", name="staff_kitchen_sheet")
async def staff_kitchen_sheet(
    request: Request, jour: FromQuery[str | None] = None, ecole: FromQuery[str | None] = None
) -> Template:
    day, school_id = _day(jour), _school(ecole)
    return page_or_fragment(
        request,
        page=KITCHEN_PAGE,
        context=await _kitchen_context(day, school_id, Form(values={"adultes": "0"})),
    )


@post("/effectifs/cuisine", name="staff_kitchen_sheet_print", status_code=200)
async def staff_kitchen_sheet_print(
    request: Request, data: URLEncodedBody[dict[str, Any]]
) -> Response | Template:
    """The kitchen sheet as a PDF with the adults' meals typed; 422 with the page when the
    number cannot be read."""
    day, school_id = parse_iso_day(text(data, "jour")), parse_id(text(data, "ecole"))
    if day is None or school_id is None:
        raise NotFoundException("École introuvable")
    form = KitchenSheetForm.bind(data)
    if not form.valid:
        return page_or_fragment(
            request,
            page=KITCHEN_PAGE,
            context=await _kitchen_context(day, school_id, form),
            status_code=422,
        )
    pdf = await sheets.kitchen_sheet(
        request.user, day, school_id, form.cleaned["adultes"], _commune(request)
    )
    if pdf is None:
        raise NotFoundException("École introuvable")
    return _pdf(pdf, f"cuisine-{day.isoformat()}-ecole-{school_id}.pdf")


def handlers() -> list:
    return [staff_attendance_sheets, staff_kitchen_sheet, staff_kitchen_sheet_print]
