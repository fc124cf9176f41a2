"""Template data for the week calendar (family and staff), built from a CalendarData, and the
documents the booking pages serve (the ICS feed, the effectifs' CSV): pure, no query."""

from __future__ import annotations

import datetime as dt
import io
import re
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


CELL_ID = re.compile(r"cell-\d+-\d+-\d{4}-\d{2}-\d{2}")


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
    deadline: str  # shown in the cell only when it differs from the day's
    note: str
    limit: dt.datetime | None = None

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
    today: bool = False
    past: bool = False  # before today: one line, what was booked
    deadline: str = ""  # the day's deadline, said once (cells repeat only a different one)
    late: bool = False  # the day's deadline has passed (only the service may change it)
    past_summary: str = ""

    @property
    def short(self) -> str:
        return french_date(self.day, "EEE d")

    @property
    def title(self) -> str:
        """« Lundi 7 décembre », the day's heading."""
        return self.label.capitalize()


@dataclass
class ChildView:
    id: int
    name: str
    level: str
    school_name: str
    days: list[DayView]
    booked: Counter
    total: int
    not_inscribed: list[str] = field(default_factory=list)  # said once, not in every cell
    closed_week: str = ""  # every day closed: one line

    @property
    def first_name(self) -> str:
        return self.name.split(" ")[0]

    @property
    def has_action(self) -> bool:
        return any(r.cell.action for d in self.days for r in d.rows)

    @property
    def past_days(self) -> list[DayView]:
        """Before today: one line each, above the cards."""
        return [d for d in self.days if d.past]

    @property
    def coming_days(self) -> list[DayView]:
        """Today and after: the cards."""
        return [d for d in self.days if not d.past]


def build_cell(
    data: CalendarData,
    child: dict,
    activity: cal.ActivityInfo,
    day: dt.date,
    now: dt.datetime,
    staff: bool,
    day_label: str | None = None,
) -> CellView:
    c = data.cell(child, activity, day, now, staff=staff)
    name = child["first_name"]
    context = f" {activity.short_label}, {day_label or jour(day)}, pour {name}"
    note = ""
    if c.state == "ferme":
        note = c.reason
    elif c.state == "non_inscrit":
        note = "Demandez l’inscription depuis la page Inscriptions."
    action = c.action
    if action == "reserver":
        conflict = data.group_conflict(child["id"], activity, day)
        if conflict:
            note = f"Déjà réservé : {conflict}."
    limit = c.deadline if c.state not in ("ferme", "malade", "non_inscrit") else None
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
        deadline="",
        note=note,
        limit=limit,
    )


def week_days(monday: dt.date) -> list[dt.date]:
    return [monday + dt.timedelta(days=i) for i in range(5)]


def _settle_day(view: DayView, now: dt.datetime, staff: bool) -> None:
    """The day's shared deadline (the most common among its cells), the cells that differ,
    the closed day and the past day's one line."""
    reasons = {r.cell.note for r in view.rows if r.cell.state == "ferme"}
    if view.rows and len(reasons) == 1 and all(r.cell.state == "ferme" for r in view.rows):
        view.closed = reasons.pop()
    limits = Counter(r.cell.limit for r in view.rows if r.cell.limit is not None)
    if limits:
        shared = limits.most_common(1)[0][0]
        view.deadline = deadline_text(shared)
        view.late = not staff and now.astimezone(clock.PARIS) >= shared + dt.timedelta(minutes=1)
        for r in view.rows:
            if r.cell.limit is not None and r.cell.limit != shared:
                r.cell.deadline = deadline_text(r.cell.limit)
            elif view.late and r.cell.state == "delai":
                r.cell.label = "Non réservé"  # the day's line says the deadline has passed
    if view.past:
        kept = [
            f"{r.activity.short_label}{' (absence signalée)' if r.cell.state == 'malade' else ''}"
            for r in view.rows
            if r.cell.state in ("reserve", "malade")
        ]
        view.past_summary = ", ".join(kept) if kept else "aucune réservation"


def _not_inscribed_all_week(
    data: CalendarData, child: dict, activity: cal.ActivityInfo, dates: list[dt.date]
) -> bool:
    """Every cell of the activity this week would say « non inscrit » or « fermé », one at least
    « non inscrit » (what build_week says once for the week): not inscribed, no booking kept
    (a booked or ill day shows whatever the inscription), and a day it runs."""
    if data.inscribed(child["id"], activity.id):
        return False
    runs = [d for d in dates if d.isoweekday() in activity.weekdays]
    if any(data.booking_state(child["id"], activity.id, d) in cal.STANDING for d in runs):
        return False
    return any(cal.closed_reason(d, activity, child["school"], data.rules) is None for d in runs)


def build_week(
    data: CalendarData, monday: dt.date, now: dt.datetime, staff: bool = False
) -> list[ChildView]:
    today = now.astimezone(clock.PARIS).date()
    dates = week_days(monday)
    labels = {day: jour(day) for day in dates}
    children = []
    for child in data.children:
        days = []
        booked: Counter = Counter()
        shown = [a for a in data.activities if a.eligible(child["level"])]
        # Said once, never built cell by cell: the activities it is not inscribed to this week.
        skipped = {a.id for a in shown if _not_inscribed_all_week(data, child, a, dates)}
        for day in dates:
            # Staff correct past days: theirs stay whole.
            view = DayView(day, labels[day], today=day == today, past=day < today and not staff)
            for activity in shown:
                if activity.id in skipped or day.isoweekday() not in activity.weekdays:
                    continue
                cell = build_cell(data, child, activity, day, now, staff, labels[day])
                view.rows.append(RowView(activity, cell))
                if cell.state == "reserve":
                    booked[activity.short_label] += 1
            days.append(view)
        # An activity the child is not inscribed to on any day of the week is said once.
        states: dict[int, set[str]] = {}
        for view in days:
            for r in view.rows:
                states.setdefault(r.activity.id, set()).add(r.cell.state)
        missing = skipped | {
            a for a, s in states.items() if s <= {"non_inscrit", "ferme"} and "non_inscrit" in s
        }
        not_inscribed = [a.short_label for a in data.activities if a.id in missing]
        for view in days:
            view.rows = [r for r in view.rows if r.activity.id not in missing]
            _settle_day(view, now, staff)
        closed = [v.closed for v in days]
        closed_week = ""
        if all(c or not v.rows for c, v in zip(closed, days)) and any(closed):
            closed_week = " ; ".join(dict.fromkeys(c for c in closed if c))
        children.append(
            ChildView(
                child["id"],
                f"{child['first_name']} {child['last_name']}",
                child["level"],
                child.get("school_name") or "",
                days,
                booked,
                sum(booked.values()),
                not_inscribed,
                closed_week,
            )
        )
    return children


@dataclass
class AllChildrenChoice:
    """« Pour tous mes enfants »: an activity on a day that two children or more may book."""

    activity_id: int
    activity_label: str
    day: dt.date
    names: list[str]

    @property
    def value(self) -> str:
        return f"{self.activity_id}:{self.day.isoformat()}"

    @property
    def names_text(self) -> str:
        return names_list(self.names)


def all_children_choices(children: list[ChildView]) -> list[AllChildrenChoice]:
    """The (activity, day) pairs free for at least two of the children (families of one child
    have none)."""
    if len(children) < 2:
        return []
    found: dict[tuple[int, dt.date], AllChildrenChoice] = {}
    for child in children:
        for view in child.days:
            for r in view.rows:
                if r.cell.action != "reserver":
                    continue
                key = (r.activity.id, view.day)
                choice = found.setdefault(
                    key, AllChildrenChoice(r.activity.id, r.activity.short_label, view.day, [])
                )
                choice.names.append(child.first_name)
    return sorted(
        (c for c in found.values() if len(c.names) >= 2), key=lambda c: (c.day, c.activity_id)
    )


def closed_week(children: list[ChildView]) -> str:
    """Every child's every day closed (holidays): the reason(s), said once for the week."""
    if not children or not all(c.closed_week for c in children):
        return ""
    return " ; ".join(dict.fromkeys(c.closed_week for c in children))


def names_list(names: list[str]) -> str:
    """« Léa », « Léa et Hugo », « Léa, Hugo et Zoé »."""
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} et {names[-1]}"


def week_title(monday: dt.date) -> str:
    friday = monday + dt.timedelta(days=4)
    if monday.month == friday.month:
        start = french_date(monday, "EEEE d")
    else:
        start = french_date(monday, "EEEE d MMMM")
    return f"Semaine du {start} au {french_date(friday, 'EEEE d MMMM y')}"


def week_heading(monday: dt.date) -> str:
    """The week page's heading, short enough for one line on a phone: « Semaine du 7 au 11
    décembre 2026 » (the <title> keeps the weekdays: views.week_title)."""
    friday = monday + dt.timedelta(days=4)
    if monday.year != friday.year:
        start = french_date(monday, "d MMMM y")
    elif monday.month != friday.month:
        start = french_date(monday, "d MMMM")
    else:
        start = french_date(monday, "d")
    return f"Semaine du {start} au {french_date(friday, 'd MMMM y')}"


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
