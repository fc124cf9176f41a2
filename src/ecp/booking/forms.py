"""The booking pages' forms: the calendar's cell buttons, the semaine type, an inscription
request, an inscription decision, and the staff's pointage and « present without a booking »
forms. Checks that need the database are the services' (ecp.booking.services)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ecp.booking import calendar as cal
from ecp.booking import services
from ecp.web.forms import Day, Field, Form, Ids, Invalid, Text, many, text
from ecp.web.params import parse_day, parse_id, parse_int, parse_iso_day

# ---------------------------------------------------------------------------------------------
# The week calendar


@dataclass(frozen=True)
class CellChange:
    """One tap on a cell of the week: what to do, to whom, and the week the page showed."""

    child_id: int
    activity_id: int
    day: dt.date
    action: str
    week: str

    def monday(self, today: dt.date) -> dt.date:
        """The week to show after the tap: the one the page showed, if it holds the cell's
        day, else the week that holds the cell."""
        monday = cal.parse_week(self.week, today)
        if monday is None or not monday <= self.day <= monday + dt.timedelta(days=4):
            monday = self.day - dt.timedelta(days=self.day.weekday())
        return monday


def parse_change(data: dict[str, Any]) -> CellChange | None:
    """The calendar's buttons post `case=child:activity:day:action`; the four separate fields
    are accepted too (links and scripts written against them keep working). None when the
    request names no cell: the page answers 422 with a message, there is no field to blame."""
    case = text(data, "case", 80)
    if case:
        parts = case.split(":")
        if len(parts) != 4:
            return None
        child, activity, day_text, action = parts
    else:
        child, activity, day_text = text(data, "enfant"), text(data, "activite"), text(data, "jour")
        action = text(data, "action")
    child_id, activity_id, day = parse_id(child), parse_id(activity), parse_iso_day(day_text)
    if child_id is None or activity_id is None or day is None:
        return None
    if action not in services.ACTIONS:
        return None
    return CellChange(child_id, activity_id, day, action, text(data, "semaine"))


def parse_all_children(data: dict[str, Any]) -> tuple[int, dt.date] | None:
    """« Pour tous mes enfants » posts `tous=activity:day`: (activity id, day), or None."""
    parts = text(data, "tous", 40).split(":")
    if len(parts) != 2:
        return None
    activity_id, day = parse_id(parts[0]), parse_iso_day(parts[1])
    if activity_id is None or day is None:
        return None
    return activity_id, day


# ---------------------------------------------------------------------------------------------
# Semaine type

MAX_PATTERN_DAYS = 140


class PatternDays(Field):
    """The weekdays ticked for each activity, posted as `jours_<activity id>`: read as
    {activity id: {ISO weekdays}}; values that are not weekdays are dropped."""

    def read(self, data: dict[str, Any]) -> dict[str, list[str]]:
        return {key: many(data, key) for key in data if key.startswith("jours_")}

    def clean(self, value: dict[str, list[str]]) -> dict[int, set[int]]:
        pattern: dict[int, set[int]] = {}
        for key, values in value.items():
            activity_id = parse_id(key.removeprefix("jours_"))
            days = {d for d in (parse_int(v, 1, 7) for v in values) if d is not None}
            if activity_id is not None and days:
                pattern[activity_id] = days
        return pattern


def pattern_period(data: dict[str, Any]) -> tuple[dt.date, dt.date] | None:
    """The period posted, when its dates make one the form may accept (the page then reads the
    calendar of those dates once, for the choices, the preview and the booking rules)."""
    start, end = parse_day(text(data, "du", 20)), parse_day(text(data, "au", 20))
    if start and end and start <= end and (end - start).days <= MAX_PATTERN_DAYS:
        return start, end
    return None


class PatternForm(Form):
    """Children, weekdays per activity and a period. Bind with `children` (the family's) and
    `activities` (those open to them): a child who is not the family's is a forged request,
    refused as a whole (services.NotFound, a 404), before any other check."""

    enfants = Ids("Enfants", required="Choisissez au moins un enfant.")
    jours = PatternDays("Jours", required="Cochez au moins un jour pour une activité.")
    du = Day(
        "Du",
        required="Saisissez la date de début, par exemple 07/12/2026.",
        invalid="Saisissez la date de début, par exemple 07/12/2026.",
    )
    au = Day(
        "Au",
        required="Saisissez la date de fin, par exemple 18/12/2026.",
        invalid="Saisissez la date de fin, par exemple 18/12/2026.",
    )

    @classmethod
    def bind(cls, data: dict[str, Any] | None, **context: Any):
        family_children = {c["id"] for c in context["children"]}
        if any(parse_id(v) not in family_children for v in many(data or {}, "enfants")):
            raise services.NotFound("Enfant introuvable")
        return super().bind(data, **context)

    @classmethod
    def default(cls, today: dt.date):
        """The form as first shown: the week after next, two weeks long."""
        monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=14)
        return cls.initial(
            enfants=[],
            du=monday.strftime("%d/%m/%Y"),
            au=(monday + dt.timedelta(days=11)).strftime("%d/%m/%Y"),
        )

    def clean_jours(self, pattern: dict[int, set[int]]) -> dict[int, set[int]]:
        kept: dict[int, set[int]] = {}
        for activity in self.context["activities"]:
            days = pattern.get(activity.id, set()) & set(activity.weekdays)
            # Kept as ticked for the redisplay and the confirmation's hidden fields.
            self.values[f"jours_{activity.id}"] = [str(d) for d in sorted(days)]
            if days:
                kept[activity.id] = days
        if not kept:
            raise Invalid(self.fields["jours"].required)
        return kept

    def clean_du(self, start: dt.date) -> dt.date:
        if start < self.context["today"]:
            raise Invalid("La date de début ne peut pas être passée.")
        return start

    def clean_au(self, end: dt.date) -> dt.date:
        # Against the start as typed, even when the start was refused (a past day): both
        # mistakes are shown at once.
        start = parse_day(self.values.get("du", ""))
        if start is not None and end < start:
            raise Invalid("La date de fin doit être après la date de début.")
        if start is not None and (end - start).days > MAX_PATTERN_DAYS:
            raise Invalid("Choisissez une période de 20 semaines au plus.")
        return end


# ---------------------------------------------------------------------------------------------
# Inscriptions


class InscriptionRequestForm(Form):
    """A family asks for an inscription: the child and the activity, checked by the service
    (services.request_inscription), which files a refusal under the child's select."""

    enfant = Text("Enfant", max_length=20)
    activite = Text("Activité", max_length=20)

    @property
    def child_id(self) -> int | None:
        return parse_id(self.cleaned.get("enfant", ""))

    @property
    def activity_id(self) -> int | None:
        return parse_id(self.cleaned.get("activite", ""))


# ---------------------------------------------------------------------------------------------
# Effectifs and pointage


@dataclass(frozen=True)
class PostedList:
    day: dt.date
    activity_id: int
    school_id: int

    @property
    def key(self) -> str:
        """The list's key in the page's ids (`liste-<key>`, `enfant-<key>`)."""
        return f"{self.school_id}-{self.activity_id}"


def posted_list(data: dict[str, Any]) -> PostedList | None:
    """The (day, activity, school) a pointage form names, or None when it names no list."""
    day = parse_iso_day(text(data, "jour"))
    activity_id, school_id = parse_id(text(data, "activite")), parse_id(text(data, "ecole"))
    if day is None or activity_id is None or school_id is None:
        return None
    return PostedList(day, activity_id, school_id)


def posted_marks(data: dict[str, Any]) -> list[tuple[int | None, str]]:
    """The radios of a one-list pointage form, `statut_<child>`: (child id or None, status)."""
    marks = []
    for key, value in data.items():
        if not key.startswith("statut_") or "_" in key.removeprefix("statut_"):
            continue
        value = value[0] if isinstance(value, list) else value
        marks.append((parse_id(key.removeprefix("statut_")), value))
    return marks


def mark_name(kind: str, activity_id: int, child_id: int) -> str:
    """A control's name in the page's pointage form: statut_, arrivee_ or depart_<a>_<c>."""
    return f"{kind}_{activity_id}_{child_id}"


def _time(value: str) -> dt.time | None:
    """« 16:45 », « 16h45 », « 16 h 45 » or « 16:45:00 »; None when it is no time."""
    cleaned = value.replace(" ", "").lower().replace("h", ":")
    if cleaned.endswith(":"):
        cleaned += "00"
    try:
        return dt.time.fromisoformat(cleaned if len(cleaned) > 4 else cleaned.zfill(5))
    except ValueError:
        return None


@dataclass
class PostedPointage:
    """The page's pointage form: the lists' marks {activity: [Mark]}, which list the htmx save
    button named (`seule`: only that one is saved and swapped), the list whose « tous
    présents » was pressed without JavaScript (`tous`), and a Form for the redisplay (values by
    control name, errors by control id)."""

    day: dt.date
    school_id: int
    lists: dict[int, list[services.Mark]]
    only: int | None
    all_present: int | None
    form: Form
    # A long list is shown a page at a time: the children of the page posted, per list
    # (`enfants_<activity>`), so that « tous présents » marks that page only.
    shown: dict[int, list[int]] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return self.form.valid


def posted_pointage(data: dict[str, Any]) -> PostedPointage | None:
    """Reads a pointage post: the page's form (`statut_<activity>_<child>`, with the times of
    an activity billed by the hour), or one list's (`activite` and `statut_<child>`). None when
    it names no day and school."""
    day = parse_iso_day(text(data, "jour"))
    school_id = parse_id(text(data, "ecole"))
    if day is None or school_id is None:
        return None
    form = Form()
    only = parse_id(text(data, "seule")) if text(data, "seule") else None
    all_present = parse_id(text(data, "tous")) if text(data, "tous") else None
    single = parse_id(text(data, "activite")) if text(data, "activite") else None
    for name, value in (("seule", only), ("tous", all_present), ("activite", single)):
        if text(data, name) and value is None:
            return None  # names a list that cannot exist
    lines: dict[tuple[int, int], dict[str, str]] = {}
    shown: dict[int, list[int]] = {}
    for key, value in data.items():
        kind, _, rest = key.partition("_")
        if kind == "enfants" and rest:
            ids = [parse_id(i) for i in text(data, key, 4000).split()]
            if parse_id(rest) is None or None in ids:
                return None
            shown[parse_id(rest)] = ids
            continue
        if kind not in ("statut", "arrivee", "depart") or not rest:
            continue
        value = text(data, key, 20)
        form.values[key] = value
        a, sep, c = rest.partition("_")
        activity_id, child_id = (parse_id(a), parse_id(c)) if sep else (single, parse_id(a))
        if activity_id is None or child_id is None:
            return None
        lines.setdefault((activity_id, child_id), {})[kind] = value
    lists: dict[int, list[services.Mark]] = {}
    if single is not None:
        lists[single] = []
    for (activity_id, child_id), line in lines.items():
        if only is not None and activity_id != only:
            continue
        status = line.get("statut", "")
        if all_present == activity_id or (
            not status and (line.get("arrivee") or line.get("depart"))
        ):
            status = "present"  # a time typed for a child not marked yet: the child came
            form.values[mark_name("statut", activity_id, child_id)] = status
        times = {}
        for kind, label in (("arrivee", "d’arrivée"), ("depart", "de départ")):
            raw = line.get(kind, "")
            field = f"{kind}-{activity_id}-{child_id}"
            times[kind] = _time(raw) if raw else None
            if raw and times[kind] is None:
                form.error(field, f"Heure {label} invalide : écrivez-la par exemple 16:45.")
            elif raw and status != "present":
                form.error(field, f"Une heure {label} ne se note que pour un enfant présent.")
        if times["arrivee"] and times["depart"] and times["depart"] < times["arrivee"]:
            form.error(
                f"depart-{activity_id}-{child_id}",
                "L’heure de départ doit suivre l’heure d’arrivée.",
            )
        lists.setdefault(activity_id, []).append(
            services.Mark(child_id, status, times["arrivee"], times["depart"])
        )
    for activity_id in (only, all_present):
        if activity_id is not None:
            lists.setdefault(activity_id, [])
    return PostedPointage(day, school_id, lists, only, all_present, form, shown)


class UnbookedForm(Form):
    """A child present without a booking, chosen in a list's select. Bind with `field`, the
    select's id (`enfant-<list key>`): every error is filed under it, so the error summary
    leads to that list's select."""

    enfant = Text("Enfant présent sans réservation", max_length=20)

    def clean(self) -> None:
        field = self.context["field"]
        raw = self.cleaned["enfant"]
        if not raw:
            raise Invalid("Choisissez l’enfant présent sans réservation.", field=field)
        child_id = parse_id(raw)
        if child_id is None:
            raise Invalid("Cet enfant est introuvable : choisissez-le dans la liste.", field=field)
        self.cleaned["child_id"] = child_id
