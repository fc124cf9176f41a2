"""Staff pages of the booking feature: inscriptions to decide, effectifs and pointage for a day,
the kitchen's headcount and the CSV export."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template

from ecp import clock
from ecp.audit import services as audit
from ecp.auth.guards import requires_role
from ecp.booking import services
from ecp.booking.calendar import MEAL_CODES
from ecp.booking.tables import Attendance, Booking, Inscription
from ecp.commune.tables import Activity, School
from ecp.db import fetch, write_transaction
from ecp.web import csv_export
from ecp.web.forms import Form, text
from ecp.web.htmx import page_or_fragment, redirect, wants_fragment
from ecp.web.params import parse_id, parse_iso_day

STATUS_LABELS = {"en_attente": "en attente", "validee": "validée", "refusee": "refusée"}
POINTAGE = {"present": "présent", "absent": "absent", "excuse": "excusé"}

# ---------------------------------------------------------------------------------------------
# Inscriptions


async def _inscriptions(statut: str) -> list[dict]:
    rows = (
        await Inscription.select(
            Inscription.id,
            Inscription.status,
            Inscription.requested_at,
            Inscription.reason,
            Inscription.child.first_name.as_alias("first_name"),
            Inscription.child.last_name.as_alias("last_name"),
            Inscription.child.level.as_alias("level"),
            Inscription.child.family.as_alias("family_id"),
            Inscription.child.family.code.as_alias("family_code"),
            Inscription.child.school.name.as_alias("school"),
            Inscription.activity.label.as_alias("activity"),
        )
        .where(Inscription.status == statut)
        .order_by(Inscription.requested_at)
        .limit(200)
    )
    return rows


async def _inscriptions_context(
    statut: str, form: Form | None = None, form_id: int | None = None
) -> dict[str, Any]:
    return {
        "rows": await _inscriptions(statut),
        "statut": statut,
        "statuses": STATUS_LABELS,
        "form": form or Form(),
        "form_id": form_id,
    }


@get("/inscriptions", name="staff_inscriptions")
async def staff_inscriptions(request: Request, statut: FromQuery[str] = "en_attente") -> Template:
    if statut not in STATUS_LABELS:
        raise NotFoundException("Statut inconnu")
    return page_or_fragment(
        request,
        page="pages/booking/staff_inscriptions.html",
        fragment="partials/booking/inscription_list.html",
        context=await _inscriptions_context(statut),
    )


@post("/inscriptions/{inscription_id:int}", name="staff_inscription_decide", status_code=200)
async def staff_inscription_decide(
    request: Request, inscription_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]
) -> Any:
    decision, reason = text(data, "decision"), text(data, "motif", 300)
    row = (
        await Inscription.select(
            Inscription.id,
            Inscription.status,
            Inscription.child.family.as_alias("family"),
            Inscription.child.first_name.as_alias("name"),
            Inscription.activity.label.as_alias("activity"),
        )
        .where(Inscription.id == inscription_id)
        .first()
    )
    if row is None:
        raise NotFoundException("Inscription introuvable")
    form = Form(values={f"motif-{inscription_id}": reason})
    if decision not in ("valider", "refuser"):
        form.error(f"motif-{inscription_id}", "Choisissez « Valider » ou « Refuser ».")
    elif decision == "refuser" and not reason:
        form.error(f"motif-{inscription_id}", "Donnez le motif du refus : la famille le lira.")
    if not form.valid:
        context = await _inscriptions_context("en_attente", form, inscription_id)
        return page_or_fragment(
            request,
            page="pages/booking/staff_inscriptions.html",
            fragment="partials/booking/inscription_list.html",
            context=context,
            status_code=422,
        )
    status = "validee" if decision == "valider" else "refusee"
    async with write_transaction():
        await Inscription.update(
            {
                Inscription.status: status,
                Inscription.decided_at: clock.now(),
                Inscription.decided_by: request.user.staff_id,
                Inscription.reason: reason if status == "refusee" else "",
            }
        ).where(Inscription.id == inscription_id)
        await audit.record(
            request.user,
            f"inscription_{'validate' if status == 'validee' else 'refuse'}",
            family_id=row["family"],
            target=f"inscription:{inscription_id}",
            details={"activity": row["activity"], "reason": reason},
        )
    verb = "validée" if status == "validee" else "refusée"
    return redirect(
        request,
        "/agents/inscriptions",
        f"Inscription de {row['name']} à « {row['activity']} » {verb}.",
    )


# ---------------------------------------------------------------------------------------------
# Effectifs, pointage, kitchen


def _day_or_404(jour: str | None) -> dt.date:
    if not jour:
        return clock.today()
    day = parse_iso_day(jour)
    if day is None:
        raise NotFoundException("Jour invalide")
    return day


# The lists of one day, for one school or all: raw SQL, because building these Piccolo joins
# cost more than running them, and the school filter must reach the database (a commune's day
# holds tens of thousands of bookings).
LIST_SQL = (
    "SELECT {kind} AS kind, r.child, r.activity, r.school, {state} AS state, {mark} AS mark, "
    "c.first_name, c.last_name, c.level, c.has_allergy AS allergy, c.needs_support AS support, "
    "k.name AS class_name, a.label AS activity_label, a.sort_order AS activity_order "
    "FROM {table} r JOIN child c ON c.id = r.child JOIN activity a ON a.id = r.activity "
    "LEFT JOIN school_class k ON k.id = c.school_class WHERE r.day = {{}}{extra}"
)
BOOKINGS_SQL = LIST_SQL.format(
    kind="'b'", state="r.state", mark="''", table="booking", extra=" AND r.state <> 'annulee'"
)
MARKS_SQL = LIST_SQL.format(kind="'m'", state="''", mark="r.status", table="attendance", extra="")
# The kitchen's meals per school (every school's, or the one shown): an aggregate, not rows.
KITCHEN_SQL = (
    "SELECT b.school, c.diet, COUNT(*) AS meals, "
    "SUM(CASE WHEN c.has_allergy THEN 1 ELSE 0 END) AS allergies "
    "FROM booking b JOIN child c ON c.id = b.child JOIN activity a ON a.id = b.activity "
    "WHERE b.day = {} AND b.state = 'reservee' AND a.code IN (%s)"
    % ", ".join("'%s'" % code for code in sorted(MEAL_CODES))
)
LIST_TYPES = {"allergy": bool, "support": bool}
KITCHEN_TYPES = {"meals": int, "allergies": int}


async def _list_rows(day: dt.date, school_id: int | None) -> tuple[list[dict], list[dict]]:
    where = " AND r.school = {}" if school_id is not None else ""
    args = [day] + ([school_id] if school_id is not None else [])
    rows = await fetch(
        f"{BOOKINGS_SQL}{where} UNION ALL {MARKS_SQL}{where} ORDER BY last_name, first_name, child",
        *args,
        *args,
        types=LIST_TYPES,
    )
    bookings = [r for r in rows if r["kind"] == "b"]
    marks = [r for r in rows if r["kind"] == "m"]
    return bookings, marks


async def attendance_data(day: dt.date, school_id: int | None) -> dict[str, Any]:
    """Expected children per school and activity for a day, their pointage, and the kitchen's
    headcount per school: four queries whatever the number of children (schools, lists and
    pointage, kitchen, children who may be added)."""
    schools = await fetch("SELECT id, name FROM school WHERE active = {} ORDER BY name", True)
    if school_id is not None and school_id not in {s["id"] for s in schools}:
        raise NotFoundException("École introuvable")
    bookings, attendance = await _list_rows(day, school_id)
    marks = {(r["child"], r["activity"]): r["mark"] for r in attendance}
    names = {s["id"]: s["name"] for s in schools}
    kitchen: dict[int, dict] = {
        s["id"]: {"school": s["name"], "meals": 0, "allergies": 0, "diets": {}}
        for s in schools
        if school_id is None or s["id"] == school_id
    }
    kitchen_sql, kitchen_args = KITCHEN_SQL, [day]
    if school_id is not None:
        kitchen_sql, kitchen_args = f"{kitchen_sql} AND b.school = {{}}", [day, school_id]
    for row in await fetch(
        f"{kitchen_sql} GROUP BY b.school, c.diet", *kitchen_args, types=KITCHEN_TYPES
    ):
        k = kitchen.get(row["school"])
        if k is None:
            continue
        k["meals"] += row["meals"]
        k["allergies"] += row["allergies"]
        if row["diet"] and row["diet"] != "standard":
            k["diets"][row["diet"]] = k["diets"].get(row["diet"], 0) + row["meals"]
    groups: dict[tuple[int, int], dict] = {}
    for b in bookings:
        group = groups.setdefault(
            (b["school"], b["activity"]),
            {
                "school_id": b["school"],
                "school": names.get(b["school"], "?"),
                "activity_id": b["activity"],
                "activity": b["activity_label"],
                "order": b["activity_order"],
                "children": [],
                "expected": 0,
            },
        )
        group["children"].append(b | {"mark": marks.get((b["child"], b["activity"]), "")})
        group["expected"] += 1 if b["state"] == "reservee" else 0
    # Children pointed without a booking (or whose booking was cancelled): listed too, flagged,
    # since billing charges them the majoration.
    listed = {(b["child"], b["activity"]) for b in bookings}
    for a in attendance:
        if (a["child"], a["activity"]) in listed or a["school"] not in names:
            continue
        group = groups.setdefault(
            (a["school"], a["activity"]),
            {
                "school_id": a["school"],
                "school": names[a["school"]],
                "activity_id": a["activity"],
                "activity": a["activity_label"],
                "order": a["activity_order"],
                "children": [],
                "expected": 0,
            },
        )
        group["children"].append(a | {"state": "sans_reservation", "mark": a["mark"]})
    candidates = await services.unbooked_candidates(
        day,
        sorted({g["school_id"] for g in groups.values()}),
        sorted({g["activity_id"] for g in groups.values()}),
    )
    for key, group in groups.items():
        on_list = {c["child"] for c in group["children"]}
        group["candidates"] = [c for c in candidates.get(key, []) if c["child"] not in on_list]
    ordered = sorted(groups.values(), key=lambda g: (g["school"], g["order"]))
    return {
        "day": day,
        "schools": schools,
        "school_id": school_id,
        "groups": ordered,
        "kitchen": list(kitchen.values()),
        "pointage": POINTAGE,
        "can_add": day <= clock.today(),
        "add_form": Form(),
        "add_list": None,
        "focus_child": None,
    }


def _school_param(ecole: str | None) -> int | None:
    if not ecole:
        return None
    school_id = parse_id(ecole)
    if school_id is None:
        raise NotFoundException("École introuvable")
    return school_id


@get("/effectifs", name="staff_attendance")
async def staff_attendance(
    request: Request, jour: FromQuery[str | None] = None, ecole: FromQuery[str | None] = None
) -> Template:
    data = await attendance_data(_day_or_404(jour), _school_param(ecole))
    return page_or_fragment(
        request,
        page="pages/booking/staff_attendance.html",
        fragment="partials/booking/attendance_lists.html",
        context=data,
    )


async def _posted_list(data: dict[str, Any]) -> tuple[dt.date, int, int]:
    """The (day, activity, school) a pointage form names; 404 when it names no list."""
    day = parse_iso_day(text(data, "jour"))
    activity_id, school_id = parse_id(text(data, "activite")), parse_id(text(data, "ecole"))
    if day is None or activity_id is None or school_id is None:
        raise NotFoundException("Liste introuvable")
    if not await Activity.exists().where(Activity.id == activity_id):
        raise NotFoundException("Activité introuvable")
    return day, activity_id, school_id


@post("/effectifs", name="staff_attendance_save", status_code=200)
async def staff_attendance_save(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    day, activity_id, school_id = await _posted_list(data)
    expected = {
        r["child"]: r["family"]
        for r in await Booking.select(Booking.child, Booking.child.family.as_alias("family")).where(
            (Booking.day == day)
            & (Booking.activity == activity_id)
            & (Booking.school == school_id)
            & (Booking.state != "annulee")
        )
    }
    # Children added as present without a booking are on the list too (same controls).
    expected.update(
        {
            r["child"]: r["family"]
            for r in await Attendance.select(
                Attendance.child, Attendance.child.family.as_alias("family")
            ).where(
                (Attendance.day == day)
                & (Attendance.activity == activity_id)
                & (Attendance.school == school_id)
            )
        }
    )
    marks: dict[int, str] = {}
    for key, value in data.items():
        if not key.startswith("statut_"):
            continue
        value = value[0] if isinstance(value, list) else value
        child = parse_id(key.removeprefix("statut_"))
        if child is None or child not in expected:
            raise NotFoundException("Enfant introuvable sur cette liste")
        if value in POINTAGE:
            marks[child] = value
    stamp = clock.now()
    async with write_transaction():
        existing = {
            r["child"]: r["id"]
            for r in await Attendance.select(Attendance.id, Attendance.child).where(
                (Attendance.day == day)
                & (Attendance.activity == activity_id)
                & Attendance.child.is_in(list(marks) or [0])
            )
        }
        new_rows = []
        for child, status in marks.items():
            if child in existing:
                await Attendance.update(
                    {
                        Attendance.status: status,
                        Attendance.marked_at: stamp,
                        Attendance.marked_by: request.user.staff_id,
                    }
                ).where(Attendance.id == existing[child])
            else:
                new_rows.append(
                    Attendance(
                        child=child,
                        activity=activity_id,
                        school=school_id,
                        day=day,
                        status=status,
                        marked_at=stamp,
                        marked_by=request.user.staff_id,
                    )
                )
        if new_rows:
            await Attendance.insert(*new_rows)
        if marks:
            await audit.record(
                request.user,
                "attendance_mark",
                target=f"activity:{activity_id}",
                details={"day": day.isoformat(), "school": school_id, "count": len(marks)},
            )
    return redirect(
        request,
        f"/agents/effectifs?jour={day.isoformat()}&ecole={school_id}"
        f"#liste-{school_id}-{activity_id}",
        f"Pointage enregistré : {len(marks)} enfant{'s' if len(marks) > 1 else ''}.",
    )


@post(
    "/effectifs/sans-reservation",
    name="staff_attendance_unbooked",
    status_code=200,
    guards=[requires_role("agent")],
)
async def staff_attendance_unbooked(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    """Adds a child who came without a booking to a list as present (billed with the
    majoration); post/redirect/get, or the lists fragment for htmx."""
    day, activity_id, school_id = await _posted_list(data)
    if not await School.exists().where((School.id == school_id) & (School.active == True)):  # noqa: E712
        raise NotFoundException("École introuvable")
    # The page's school filter ("" = all schools), so the answer shows the same view.
    view_school = school_id if text(data, "filtre") else None
    key = f"{school_id}-{activity_id}"
    field = f"enfant-{key}"
    raw_child = text(data, "enfant", 20)
    form = Form(values={field: raw_child})
    outcome = None
    if not raw_child:
        form.error(field, "Choisissez l’enfant présent sans réservation.")
    elif parse_id(raw_child) is None:
        form.error(field, "Cet enfant est introuvable : choisissez-le dans la liste.")
    else:
        try:
            outcome = await services.record_unbooked_presence(
                request.user,
                child_id=parse_id(raw_child),
                activity_id=activity_id,
                school_id=school_id,
                day=day,
            )
        except services.UnbookedRefused as exc:
            form.error(field, exc.message)
    if outcome is None:
        context = await attendance_data(day, view_school)
        context.update(add_form=form, add_list=key)
        return page_or_fragment(
            request,
            page="pages/booking/staff_attendance.html",
            fragment="partials/booking/attendance_lists.html",
            context=context,
            status_code=422,
        )
    if outcome.created:
        message, kind = (
            (
                f"Présence sans réservation enregistrée pour {outcome.child_name} "
                "(journée facturée avec la majoration)."
            ),
            "success",
        )
    else:
        message, kind = f"{outcome.child_name} est déjà sur la liste : rien n’a changé.", "info"
    if wants_fragment(request):
        context = await attendance_data(day, view_school)
        context.update(
            add_list=key,
            focus_child=outcome.child_id,
            flash_messages=[{"kind": kind, "text": message}],
            flash_oob=True,
        )
        return page_or_fragment(
            request,
            page="pages/booking/staff_attendance.html",
            fragment="partials/booking/attendance_lists.html",
            context=context,
        )
    query = f"jour={day.isoformat()}" + (f"&ecole={school_id}" if view_school else "")
    return redirect(request, f"/agents/effectifs?{query}#liste-{key}", message, kind)


@get("/effectifs.csv", name="staff_attendance_csv")
async def staff_attendance_csv(
    jour: FromQuery[str | None] = None, ecole: FromQuery[str | None] = None
) -> Response:
    data = await attendance_data(_day_or_404(jour), _school_param(ecole))
    out = io.StringIO()
    writer = csv_export.writer(out)  # every cell neutralised against spreadsheet formulas
    writer.writerow(
        [
            "date",
            "ecole",
            "activite",
            "nom",
            "prenom",
            "niveau",
            "classe",
            "allergie",
            "reservation",
            "pointage",
        ]
    )
    for group in data["groups"]:
        for c in group["children"]:
            writer.writerow(
                [
                    data["day"].isoformat(),
                    group["school"],
                    group["activity"],
                    c["last_name"],
                    c["first_name"],
                    c["level"],
                    c["class_name"] or "",
                    "oui" if c["allergy"] else "non",
                    c["state"] if c["state"] in ("malade", "sans_reservation") else "reservee",
                    POINTAGE.get(c["mark"], ""),
                ]
            )
    # BOM: Excel (the staff's spreadsheet) reads UTF-8 accents only with it.
    return Response(
        content="\ufeff" + out.getvalue(),
        media_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="effectifs-{data["day"].isoformat()}.csv"'
        },
    )


HANDLERS = [
    staff_inscriptions,
    staff_inscription_decide,
    staff_attendance,
    staff_attendance_save,
    staff_attendance_unbooked,
    staff_attendance_csv,
]
