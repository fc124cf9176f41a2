"""Demo inscriptions, bookings and pointage around today. Idempotent and date-relative: a run adds
only what is missing for the window [first day of last month, today + 3 weeks], then rebuilds the
place counters from the bookings. Some Wednesday cells are left close to full. The exclusive
groups are obeyed through the booking service's own rule (services.group_conflict)."""

from __future__ import annotations

import datetime as dt
import random

from ecp import clock
from ecp.booking import calendar as cal
from ecp.booking.queries import load_activities, load_rules_and_year
from ecp.booking.services import group_conflict
from ecp.booking.tables import Attendance, Booking, Inscription
from ecp.db import fetch
from ecp.families.tables import Child

MERCREDI = "alsh_mercredi_journee"
# What the two demo families of docs/product.md are registered to (the rest is random).
DEMO_INSCRIPTIONS = {
    ("F00001", "Léa"): [
        "garderie_matin",
        "restauration",
        "etude",
        "garderie_soir",
        "alsh_mercredi_journee",
        "alsh_mercredi_matin",
        "alsh_mercredi_apres_midi",
    ],
    ("F00001", "Hugo"): [
        "garderie_matin",
        "restauration",
        "garderie_soir",
        "alsh_mercredi_journee",
        "alsh_mercredi_matin",
    ],
    ("F00002", "Awa"): ["restauration", "etude", "alsh_soir", "alsh_mercredi_journee"],
}
DEMO_PENDING = {("F00001", "Hugo"): ["alsh_soir"]}


def _window(today: dt.date) -> tuple[dt.date, dt.date]:
    start = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    return start, today + dt.timedelta(days=21)


async def seed(context: dict) -> None:
    today = clock.today()
    start, end = _window(today)
    year_id = context["year_id"]
    rules, _ = await load_rules_and_year(start, end)
    activities, capacity = await load_activities()
    by_code = {a.code: a for a in activities}
    children = (
        await Child.select(
            Child.id,
            Child.first_name,
            Child.level,
            Child.school,
            Child.family.code.as_alias("code"),
        )
        .where(Child.active == True)
        .order_by(Child.id)
    )  # noqa: E712

    # Inscriptions: the demo families as listed, the others a random but stable choice.
    existing = {
        (r["child"], r["activity"])
        for r in await Inscription.select(Inscription.child, Inscription.activity).where(
            Inscription.school_year == year_id
        )
    }
    plans: dict[int, list[str]] = {}
    new_rows = []
    now = clock.now()
    for child in children:
        rng = random.Random(child["id"] * 7919)
        key = (child["code"], child["first_name"])
        if key in DEMO_INSCRIPTIONS:
            codes = DEMO_INSCRIPTIONS[key]
        elif child["code"] in ("F00001", "F00002"):
            codes = ["restauration"]
        else:
            codes = ["restauration"] if rng.random() < 0.9 else []
            codes += [
                c
                for c, p in (
                    ("garderie_matin", 0.3),
                    ("garderie_soir", 0.35),
                    ("etude", 0.3),
                    ("alsh_soir", 0.15),
                    (MERCREDI, 0.55),
                    ("alsh_mercredi_matin", 0.1),
                )
                if rng.random() < p
            ]
        codes = [c for c in codes if c in by_code and by_code[c].eligible(child["level"])]
        plans[child["id"]] = codes
        pending = DEMO_PENDING.get(key, [])
        if not pending and child["code"] not in ("F00001", "F00002") and rng.random() < 0.06:
            pending = [c for c in ("garderie_soir", "alsh_soir") if c not in codes][:1]
        for code in codes + pending:
            if (child["id"], by_code[code].id) in existing:
                continue
            status = "en_attente" if code in pending else "validee"
            new_rows.append(
                Inscription(
                    child=child["id"],
                    activity=by_code[code].id,
                    school_year=year_id,
                    status=status,
                    requested_at=now - dt.timedelta(days=60 if status == "validee" else 3),
                    decided_at=now - dt.timedelta(days=55) if status == "validee" else None,
                )
            )
    for i in range(0, len(new_rows), 500):
        await Inscription.insert(*new_rows[i : i + 500])

    # Bookings: a weekly pattern per child; the demo families keep the weeks after next free
    # so that they can try booking a whole week.
    # The child's day as the booking service sees it (activity id -> row), so that the seed
    # obeys the exclusive groups: one evening activity of « soir » per day, never both.
    group_of = {a.id: a.group_code for a in activities}
    have: set[tuple[int, int, dt.date]] = set()
    child_days: dict[tuple[int, dt.date], dict[int, dict]] = {}
    for r in await Booking.select(
        Booking.child, Booking.activity, Booking.day, Booking.state
    ).where((Booking.day >= start) & (Booking.day <= end)):
        have.add((r["child"], r["activity"], r["day"]))
        child_days.setdefault((r["child"], r["day"]), {})[r["activity"]] = {
            "activity": r["activity"],
            "state": r["state"],
            "group_code": group_of.get(r["activity"], ""),
        }
    next_monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7)
    demo_until = next_monday + dt.timedelta(days=4)
    mercredi_left: dict[tuple[int, dt.date], int] = {}
    rows = []
    for child in children:
        if not child["school"]:
            continue
        rng = random.Random(child["id"] * 104729)
        demo = child["code"] in ("F00001", "F00002")
        pattern = {
            code: {d for d in (1, 2, 4, 5) if rng.random() < 0.8} for code in plans[child["id"]]
        }
        for day in cal.days_between(start, end):
            if demo and day > demo_until:
                break
            for code in plans[child["id"]]:
                activity = by_code[code]
                if day.isoweekday() not in activity.weekdays:
                    continue
                if code == MERCREDI or code.startswith("alsh_mercredi"):
                    if code != MERCREDI or demo and day >= today:
                        continue
                    # Fill Wednesdays up to two places under capacity: "presque complet".
                    cap = capacity.get(
                        (activity.id, child["school"]), capacity.get((activity.id, None), 0)
                    )
                    left = mercredi_left.setdefault((child["school"], day), max(cap - 2, 0))
                    if left <= 0:
                        continue
                    mercredi_left[(child["school"], day)] = left - 1
                elif day.isoweekday() not in pattern[code]:
                    continue
                if cal.closed_reason(day, activity, child["school"], rules):
                    continue
                if (child["id"], activity.id, day) in have:
                    continue
                day_bookings = child_days.setdefault((child["id"], day), {})
                # Stricter than a family's tap: a day declared ill still holds the group.
                if group_conflict(activity, day_bookings, states=("reservee", "malade")):
                    continue
                state = "malade" if day < today and rng.random() < 0.03 else "reservee"
                day_bookings[activity.id] = {
                    "activity": activity.id,
                    "state": state,
                    "group_code": activity.group_code,
                }
                stamp = clock.now()
                rows.append(
                    Booking(
                        child=child["id"],
                        activity=activity.id,
                        school=child["school"],
                        day=day,
                        state=state,
                        source="demo",
                        created_at=stamp,
                        updated_at=stamp,
                    )
                )
    for i in range(0, len(rows), 500):
        await Booking.insert(*rows[i : i + 500])

    await _pointage(today)
    await rebuild_slots()


async def _pointage(today: dt.date) -> None:
    """Pointage for the last school days: most booked children present, a few absent."""
    since = today - dt.timedelta(days=7)
    done = {
        (r["child"], r["activity"], r["day"])
        for r in await Attendance.select(
            Attendance.child, Attendance.activity, Attendance.day
        ).where((Attendance.day >= since) & (Attendance.day < today))
    }
    bookings = await Booking.select(
        Booking.child, Booking.activity, Booking.school, Booking.day, Booking.state
    ).where((Booking.day >= since) & (Booking.day < today) & (Booking.state != "annulee"))
    rows = []
    for b in bookings:
        if (b["child"], b["activity"], b["day"]) in done:
            continue
        rng = random.Random(hash((b["child"], b["activity"], b["day"].toordinal())))
        status = (
            "excuse" if b["state"] == "malade" else ("absent" if rng.random() < 0.04 else "present")
        )
        rows.append(
            Attendance(
                child=b["child"],
                activity=b["activity"],
                school=b["school"],
                day=b["day"],
                status=status,
                marked_at=clock.now(),
            )
        )
    for i in range(0, len(rows), 500):
        await Attendance.insert(*rows[i : i + 500])


async def rebuild_slots() -> None:
    """The place counters recomputed from the bookings (demo only: no concurrent writers)."""
    await fetch("DELETE FROM slot")
    await fetch(
        "INSERT INTO slot (school, activity, day, booked) "
        "SELECT school, activity, day, COUNT(*) FROM booking WHERE state = 'reservee' "
        "GROUP BY school, activity, day"
    )


__all__ = ["seed", "rebuild_slots"]
