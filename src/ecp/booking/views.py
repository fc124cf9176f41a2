"""Template data for the week calendar (family and staff), built from a CalendarData (pure)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from ecp.booking import calendar as cal
from ecp.booking.queries import CalendarData
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
