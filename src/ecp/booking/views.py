"""Template data for the week calendar (family and staff), built from a CalendarData, and the
documents the booking pages serve (the ICS feed, the effectifs' CSV): pure, no query."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from ecp import clock
from ecp.booking import calendar as cal
from ecp.booking.queries import CalendarData
from ecp.booking.services import POINTAGE
from ecp.web import csv_export
from ecp.web.plural import counted
from ecp.web.templating import french_date

ACTION_LABELS = {"reserver": "Réserver", "annuler": "Annuler", "malade": "Signaler malade"}
ACTION_VERBS = {
    "reserver": "Réserver",
    "annuler": "Annuler",
    "malade": "Signaler l’absence pour maladie de",
}


def jour(day: dt.date) -> str:
    return french_date(day, "EEEE d MMMM")


@lru_cache(maxsize=4096)
def deadline_text(limit: dt.datetime | None) -> str:
    if limit is None:
        return ""
    return f"{french_date(limit.date(), 'EEEE d MMMM')}, {limit.strftime('%H:%M')}"


def cell_id(child_id: int, activity_id: int, day: dt.date) -> str:
    return f"cell-{child_id}-{activity_id}-{day.isoformat()}"


@dataclass
class CellView:
    id: str
    child_id: int
    activity_id: int
    day: dt.date
    state: str
    label: str
    action: str | None
    action_label: str
    hidden_context: str
    places_left: int | None
    deadline: str
    note: str

    @property
    def case(self) -> str:
        """What the cell's button posts: 'child:activity:day:action' (see routes._parse_change)."""
        return f"{self.child_id}:{self.activity_id}:{self.day.isoformat()}:{self.action}"


@dataclass
class RowView:
    activity: cal.ActivityInfo
    cell: CellView


@dataclass
class DayView:
    day: dt.date
    label: str
    rows: list[RowView] = field(default_factory=list)
    closed: str = ""


@dataclass
class ChildView:
    id: int
    name: str
    level: str
    school_name: str
    days: list[DayView]
    booked: Counter
    total: int


def build_cell(
    data: CalendarData,
    child: dict,
    activity: cal.ActivityInfo,
    day: dt.date,
    now: dt.datetime,
    staff: bool,
) -> CellView:
    c = data.cell(child, activity, day, now, staff=staff)
    name = child["first_name"]
    context = f" {activity.short_label}, {jour(day)}, pour {name}"
    note = ""
    if c.state == "reserve" and c.late and not staff:
        note = "Délai dépassé : seul le service peut annuler."
    elif c.state == "ferme":
        note = c.reason
    elif c.state == "non_inscrit":
        note = "Demandez l’inscription depuis la page Inscriptions."
    action = c.action
    if action == "reserver":
        conflict = data.group_conflict(child["id"], activity, day)
        if conflict:
            note = f"Déjà réservé : {conflict}."
    return CellView(
        id=cell_id(child["id"], activity.id, day),
        child_id=child["id"],
        activity_id=activity.id,
        day=day,
        state=c.state,
        label=c.label[0].upper() + c.label[1:],
        action=action,
        action_label=ACTION_LABELS.get(action or "", ""),
        hidden_context=context,
        places_left=c.places_left,
        deadline=deadline_text(c.deadline),
        note=note,
    )


def week_days(monday: dt.date) -> list[dt.date]:
    return [monday + dt.timedelta(days=i) for i in range(5)]


def build_week(
    data: CalendarData, monday: dt.date, now: dt.datetime, staff: bool = False
) -> list[ChildView]:
    children = []
    for child in data.children:
        days = []
        booked: Counter = Counter()
        for day in week_days(monday):
            view = DayView(day, jour(day))
            for activity in data.activities:
                if (
                    not activity.eligible(child["level"])
                    or day.isoweekday() not in activity.weekdays
                ):
                    continue
                cell = build_cell(data, child, activity, day, now, staff)
                view.rows.append(RowView(activity, cell))
                if cell.state == "reserve":
                    booked[activity.short_label] += 1
            reasons = {r.cell.note for r in view.rows if r.cell.state == "ferme"}
            if view.rows and len(reasons) == 1 and all(r.cell.state == "ferme" for r in view.rows):
                view.closed = reasons.pop()
            days.append(view)
        children.append(
            ChildView(
                child["id"],
                f"{child['first_name']} {child['last_name']}",
                child["level"],
                child.get("school_name") or "",
                days,
                booked,
                sum(booked.values()),
            )
        )
    return children


def week_title(monday: dt.date) -> str:
    friday = monday + dt.timedelta(days=4)
    if monday.month == friday.month:
        start = french_date(monday, "EEEE d")
    else:
        start = french_date(monday, "EEEE d MMMM")
    return f"Semaine du {start} au {french_date(friday, 'EEEE d MMMM y')}"


def pattern_result_message(made: int, failed: int) -> str:
    """The warning after a semaine type that booked only part of the days, or none."""
    not_booked = counted(failed, "jour n’a pas pu être réservé", "jours n’ont pas pu être réservés")
    if not made and not failed:
        return "Aucune réservation ajoutée : les jours choisis étaient déjà réservés."
    if not made:
        return f"Semaine type non appliquée : aucune réservation ajoutée, {not_booked}."
    return (
        "Semaine type appliquée en partie : "
        f"{counted(made, 'réservation ajoutée', 'réservations ajoutées')}, {not_booked}."
    )


# ---------------------------------------------------------------------------------------------
# The private calendar feed and the effectifs' CSV: documents rather than pages


def ics_calendar(rows: list[dict], family_name: str) -> bytes:
    """The family's bookings (queries.ics_bookings) as an iCalendar document; a day declared
    ill or closed by the service stays in it, cancelled, so that a phone removes the event."""
    import icalendar

    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Portail Famille//ECP//FR")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"Réservations – famille {family_name}")
    calendar.add("x-wr-timezone", "Europe/Paris")
    calendar.add("refresh-interval", dt.timedelta(hours=6), parameters={"VALUE": "DURATION"})
    for row in rows:
        event = icalendar.Event()
        note = {"malade": " (absence signalée)", "fermee": " (fermé)"}.get(row["state"], "")
        event.add("uid", f"booking-{row['id']}@ecp")
        event.add("summary", f"{row['label']} – {row['child']}{note}")
        event.add("dtstart", dt.datetime.combine(row["day"], row["starts_at"], tzinfo=clock.PARIS))
        event.add("dtend", dt.datetime.combine(row["day"], row["ends_at"], tzinfo=clock.PARIS))
        event.add("dtstamp", row["updated_at"] or clock.now())
        event.add("location", row["school"] or "")
        event.add("status", "CANCELLED" if note else "CONFIRMED")
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


# Served with the document it names, built by the shared writer below.
CSV_MEDIA_TYPE = "text/csv"
ATTENDANCE_CSV_HEADER = [
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


def attendance_csv(data: dict) -> str:
    """A day's lists (queries.attendance_day) as the staff's spreadsheet, one row per child,
    with the BOM Excel needs to read UTF-8 accents."""
    out = io.StringIO()
    writer = csv_export.writer(out)  # every cell neutralised against spreadsheet formulas
    writer.writerow(ATTENDANCE_CSV_HEADER)
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
    return "\ufeff" + out.getvalue()
