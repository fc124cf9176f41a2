"""Figures for the State, computed from pointage (what children actually attended, whatever was
booked or billed):

- the CAF's prestation de service (ALSH): hours attended per accueil (the school's site) and
  activity, per kind of day (school days, Wednesdays, holidays), with the children counted,
  split under 6 / 6 and over by their age on the day;
- ma-cantine (EGAlim): meals served per school and year, with the daily figures.

Rules (written here once, and shown on the pages):
- a child marked present counts the activity's whole slot (starts_at to ends_at), even if
  present for part of it; where arrival and departure times are known (activities billed by
  the hour), the time between them counts instead, in started half-hours, within the slot;
- meals are not ALSH hours: the restauration activities (code containing « restauration » or
  « cantine ») are counted by ma-cantine, not by the CAF figures;
- on a Wednesday, a child's hours of the day are capped at 9 h when it ate at the canteen that
  day, else at 4 h (a half-day);
- a day is a holiday when it falls in the commune's zone's school holidays, else a Wednesday
  or a school day.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from ecp.booking.calendar import school_holiday
from ecp.db import fetch
from ecp.web.csv_export import Number, writer

MEDIA_TYPE_CSV = "text/csv; charset=utf-8"
MEAL_MARKERS = ("restauration", "cantine")
WEDNESDAY_CAP_WITH_MEAL = 9 * 60
WEDNESDAY_CAP_WITHOUT_MEAL = 4 * 60
KINDS = {"scolaire": "Jours d’école", "mercredi": "Mercredis", "vacances": "Vacances"}


def is_meal(code: str) -> bool:
    return any(marker in code.lower() for marker in MEAL_MARKERS)


def minutes(start: dt.time, end: dt.time) -> int:
    return max(0, (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute))


def attended_minutes(
    slot_start: dt.time,
    slot_end: dt.time,
    arrived: dt.time | None = None,
    left: dt.time | None = None,
) -> int:
    """A presence's minutes: the slot, or (with both times) the time between them within the
    slot, rounded up to the started half-hour."""
    if arrived is None or left is None:
        return minutes(slot_start, slot_end)
    start, end = max(arrived, slot_start), min(left, slot_end)
    spent = minutes(start, end)
    return min(-(-spent // 30) * 30, minutes(slot_start, slot_end)) if spent else 0


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def day_kind(day: dt.date, zone: str) -> str:
    if school_holiday(day, zone):
        return "vacances"
    return "mercredi" if day.weekday() == 2 else "scolaire"


@dataclass(frozen=True)
class Period:
    """A month (`2026-11`) or a civil year (`2026`), as the report's form gives it."""

    start: dt.date
    end: dt.date  # inclusive
    label: str

    @classmethod
    def parse(cls, value: str) -> Period:
        from ecp.mail.notices import month_label

        if len(value) == 4:
            year = int(value)
            return cls(dt.date(year, 1, 1), dt.date(year, 12, 31), f"l’année {year}")
        first = dt.date.fromisoformat(value + "-01")
        nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return cls(first, nxt - dt.timedelta(days=1), month_label(first))


PRESENCES_SQL = (
    "SELECT a.child, a.day, a.school, a.activity, a.arrived_at, a.left_at, s.name AS school_name, "
    "t.code AS activity_code, t.label AS activity_label, t.starts_at, t.ends_at, "
    "c.birth_date FROM attendance a JOIN activity t ON t.id = a.activity "
    "JOIN school s ON s.id = a.school JOIN child c ON c.id = a.child "
    "WHERE a.status = 'present' AND a.day >= {} AND a.day <= {} "
    "ORDER BY s.name, t.sort_order, a.day"
)
PRESENCE_TYPES = {
    "day": dt.date,
    "birth_date": dt.date,
    "starts_at": dt.time,
    "ends_at": dt.time,
    "arrived_at": dt.time,
    "left_at": dt.time,
}


async def _presences(period: Period) -> list[dict]:
    return await fetch(PRESENCES_SQL, period.start, period.end, types=PRESENCE_TYPES)


async def _zone() -> str:
    rows = await fetch("SELECT school_zone FROM commune_settings ORDER BY id LIMIT 1")
    return (rows[0]["school_zone"] if rows else "") or "C"


def caf_figures(presences: list[dict], zone: str) -> dict:
    """The CAF table from the presences (see the module's rules). Rows per school, activity and
    kind of day: minutes and children under 6 and 6 and over; totals per school and overall."""
    meals = {(p["child"], p["day"]) for p in presences if is_meal(p["activity_code"])}
    care = [p for p in presences if not is_meal(p["activity_code"])]
    # Minutes per presence, then Wednesday caps per child and day (spread over its presences).
    spent = [
        attended_minutes(p["starts_at"], p["ends_at"], p.get("arrived_at"), p.get("left_at"))
        for p in care
    ]
    by_child_day: dict[tuple[int, dt.date], list[int]] = {}
    for index, p in enumerate(care):
        if p["day"].weekday() == 2:
            by_child_day.setdefault((p["child"], p["day"]), []).append(index)
    for (child, day), indexes in by_child_day.items():
        cap = WEDNESDAY_CAP_WITH_MEAL if (child, day) in meals else WEDNESDAY_CAP_WITHOUT_MEAL
        over = sum(spent[i] for i in indexes) - cap
        for i in reversed(indexes):  # the day's last activities lose the excess first
            if over <= 0:
                break
            cut = min(over, spent[i])
            spent[i] -= cut
            over -= cut
    rows: dict[tuple, dict] = {}
    totals: dict[str, dict] = {}
    kinds: dict[dt.date, str] = {}
    for p, mins in zip(care, spent, strict=True):
        kind = kinds.setdefault(p["day"], day_kind(p["day"], zone))
        group = "moins_6" if age_on(p["birth_date"], p["day"]) < 6 else "plus_6"
        key = (p["school_name"], p["activity_label"], kind)
        row = rows.setdefault(
            key,
            {
                "school": p["school_name"],
                "activity": p["activity_label"],
                "kind": kind,
                "kind_label": KINDS[kind],
                "minutes": {"moins_6": 0, "plus_6": 0},
                "children": {"moins_6": set(), "plus_6": set()},
                "presences": 0,
            },
        )
        row["minutes"][group] += mins
        row["children"][group].add(p["child"])
        row["presences"] += 1
        total = totals.setdefault(
            p["school_name"],
            {
                "minutes": {"moins_6": 0, "plus_6": 0},
                "children": {"moins_6": set(), "plus_6": set()},
            },
        )
        total["minutes"][group] += mins
        total["children"][group].add(p["child"])
    out_rows = []
    for row in rows.values():
        out_rows.append(
            {
                **row,
                "children": {g: len(ids) for g, ids in row["children"].items()},
            }
        )
    schools = [
        {
            "school": name,
            "minutes": t["minutes"],
            "children": {g: len(ids) for g, ids in t["children"].items()},
        }
        for name, t in totals.items()
    ]
    everyone = {"moins_6": set(), "plus_6": set()}
    for t in totals.values():
        for g in everyone:
            everyone[g] |= t["children"][g]
    return {
        "rows": out_rows,
        "schools": schools,
        "total_minutes": {g: sum(t["minutes"][g] for t in totals.values()) for g in everyone},
        "total_children": {g: len(ids) for g, ids in everyone.items()},
    }


async def caf(period: Period) -> dict:
    return {"period": period, **caf_figures(await _presences(period), await _zone())}


def hours(minutes_: int) -> str:
    """Minutes as hours with two decimals, French style: 90 -> '1,50'."""
    return Number(f"{minutes_ // 60},{round((minutes_ % 60) * 100 / 60):02d}")


def caf_csv(report: dict) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    w = writer(out)
    w.writerow(
        [
            "Accueil",
            "Activité",
            "Jours",
            "Heures moins de 6 ans",
            "Heures 6 ans et plus",
            "Enfants moins de 6 ans",
            "Enfants 6 ans et plus",
        ]
    )
    for row in report["rows"]:
        w.writerow(
            [
                row["school"],
                row["activity"],
                row["kind_label"],
                hours(row["minutes"]["moins_6"]),
                hours(row["minutes"]["plus_6"]),
                row["children"]["moins_6"],
                row["children"]["plus_6"],
            ]
        )
    w.writerow(
        [
            "Total",
            "",
            "",
            hours(report["total_minutes"]["moins_6"]),
            hours(report["total_minutes"]["plus_6"]),
            report["total_children"]["moins_6"],
            report["total_children"]["plus_6"],
        ]
    )
    return out.getvalue()


# --- ma-cantine ---------------------------------------------------------------------------------

MEALS_SQL = (
    "SELECT s.name AS school_name, a.day, COUNT(*) AS meals FROM attendance a "
    "JOIN activity t ON t.id = a.activity JOIN school s ON s.id = a.school "
    "WHERE a.status = 'present' AND a.day >= {} AND a.day <= {} "
    "AND (LOWER(t.code) LIKE '%restauration%' OR LOWER(t.code) LIKE '%cantine%') "
    "GROUP BY s.name, a.day ORDER BY s.name, a.day"
)


async def meals(year: int) -> dict:
    """Meals served per school in the civil year, with the daily figures."""
    rows = await fetch(
        MEALS_SQL, dt.date(year, 1, 1), dt.date(year, 12, 31), types={"day": dt.date}
    )
    schools: dict[str, dict] = {}
    for row in rows:
        school = schools.setdefault(
            row["school_name"], {"school": row["school_name"], "meals": 0, "days": []}
        )
        school["meals"] += int(row["meals"])
        school["days"].append({"day": row["day"], "meals": int(row["meals"])})
    for school in schools.values():
        school["served_days"] = len(school["days"])
        school["average"] = round(school["meals"] / school["served_days"]) if school["days"] else 0
    return {
        "year": year,
        "schools": list(schools.values()),
        "total": sum(s["meals"] for s in schools.values()),
    }


def meals_csv(report: dict) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    w = writer(out)
    w.writerow(["École", "Date", "Repas servis"])
    for school in report["schools"]:
        for day in school["days"]:
            w.writerow([school["school"], day["day"].strftime("%d/%m/%Y"), day["meals"]])
        w.writerow([school["school"], f"Total {report['year']}", school["meals"]])
    return out.getvalue()
