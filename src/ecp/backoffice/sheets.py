"""The paper of a school's day, as A4 PDFs: the feuilles d'émargement (one per activity and
class: name, class, diet, PAI, arrival, departure, signature) and the kitchen sheet (menus
standard, sans porc, sans viande, PAI, adults). Read from ecp.booking.queries.attendance_day,
rendered by WeasyPrint in its own process (ecp.invoices.pdf_process), each print journalled.

PDF rather than a print stylesheet: WeasyPrint lays out the page at A4 itself (size, margins,
a header row repeated on each page, one class per page, page numbers), so the sheet prints the
same from a tablet, a phone or a desktop browser whatever its print dialog's scaling, margins
and headers and footers, and a list of 60 children never breaks mid-row."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.audit import services as audit
from ecp.audit.services import Actor
from ecp.booking import queries as booking_queries
from ecp.invoices import pdf_process
from ecp.resources import PACKAGE
from ecp.web.templating import environment

DIETS = {"standard": "Standard", "sans_porc": "Sans porc", "sans_viande": "Sans viande"}
MAX_ADULTS = 500


def _classes(group: dict) -> list[dict]:
    """A list's children by class (or level when the child has no class), classes in order."""
    classes: dict[str, list[dict]] = {}
    for child in group["children"]:
        classes.setdefault(child["class_name"] or child["level"] or "Sans classe", []).append(child)
    return [{"name": name, "children": kids} for name, kids in sorted(classes.items())]


async def attendance_sheets(
    actor: Actor, day: dt.date, school_id: int, activity_id: int | None, commune_name: str
) -> bytes | None:
    """The feuilles d'émargement of a school's day (one activity, or all): None when the
    school is unknown. One page (or more) per activity and class."""
    data = await booking_queries.attendance_day(day, school_id, activity_id)
    if data is None:
        return None
    school = next(s["name"] for s in data["schools"] if s["id"] == school_id)
    sheets = [
        {
            "activity": g["activity"],
            "hourly": g["hourly"],
            "class": c["name"],
            "children": c["children"],
        }
        for g in data["groups"]
        for c in _classes(g)
    ]
    html = (
        environment()
        .get_template("pdf/emargement.html")
        .render(
            day=day,
            school=school,
            sheets=sheets,
            diets=DIETS,
            printed_at=clock.now(),
            commune_name=commune_name,
        )
    )
    pdf = await pdf_process.write_pdf(html, str(PACKAGE))
    await audit.record(
        actor,
        "feuilles_emargement_imprimees",
        target=f"school:{school_id}",
        details={
            "jour": day.isoformat(),
            "activite": activity_id,
            "feuilles": len(sheets),
            "enfants": sum(len(s["children"]) for s in sheets),
        },
    )
    return pdf


async def kitchen_counts(day: dt.date, school_id: int) -> dict | None:
    """The school's meals of the day by menu (a child with a PAI counts as PAI only)."""
    data = await booking_queries.attendance_day(day, school_id, lists=False)
    if data is None:
        return None
    k = data["kitchen"][0]
    menus = [(label, k["menus"].get(code, 0)) for code, label in DIETS.items()]
    return {
        "day": day,
        "school": k["school"],
        "school_id": school_id,
        "menus": menus,
        "pai": k["allergies"],
        "meals": k["meals"],
    }


async def kitchen_sheet(
    actor: Actor, day: dt.date, school_id: int, adults: int, commune_name: str
) -> bytes | None:
    """The kitchen sheet of a school's day as a PDF, with the adults' meals the agent typed
    (the portal does not know who of the staff eats)."""
    counts = await kitchen_counts(day, school_id)
    if counts is None:
        return None
    html = (
        environment()
        .get_template("pdf/kitchen.html")
        .render(counts=counts, adults=adults, printed_at=clock.now(), commune_name=commune_name)
    )
    pdf = await pdf_process.write_pdf(html, str(PACKAGE))
    await audit.record(
        actor,
        "fiche_cuisine_imprimee",
        target=f"school:{school_id}",
        details={"jour": day.isoformat(), "repas_enfants": counts["meals"], "adultes": adults},
    )
    return pdf
