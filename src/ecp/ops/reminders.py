"""Deadline reminders: an e-mail to opted-in families when next week's bookings close within
48 hours and a child has nothing booked on a day it usually attends.

"Usually" = booked (any activity, not cancelled) on that weekday in each of the previous
`settings.reminder_weeks` weeks. A family gets at most one reminder per week: the outbox row's
kind, `rappel:<ISO week>`, is the record, checked and written in one transaction (and the job
runs in one process at a time through its lease).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from ecp import clock, db
from ecp.booking.tables import Booking
from ecp.commune.queries import commune_settings
from ecp.commune.tables import Activity, Closure
from ecp.families.tables import Child, Family
from ecp.mail.outbox import queue_email
from ecp.mail.tables import OutboxEmail
from ecp.web import urls
from ecp.web.templating import jour

WINDOW = dt.timedelta(hours=48)
KIND_PREFIX = "rappel:"


def _public_holidays(years: set[int]):
    try:
        import holidays

        return holidays.France(years=sorted(years))
    except Exception:  # noqa: BLE001 - without the calendar only weekends are non-working
        return {}


def is_working_day(day: dt.date, public_holidays) -> bool:
    return day.weekday() < 5 and day not in public_holidays


def day_deadline(
    day: dt.date, rule: str, working_days: int, at: dt.time, public_holidays
) -> dt.datetime:
    """When booking `day` closes (Paris time): N working days before at 23:59 by default;
    ALSH mercredi: the Wednesday before."""
    if rule == "previous_wednesday":
        back = (day.weekday() - 2) % 7 or 7
        closing = day - dt.timedelta(days=back)
    else:
        closing, counted = day, 0
        while counted < working_days:
            closing -= dt.timedelta(days=1)
            if is_working_day(closing, public_holidays):
                counted += 1
    return dt.datetime.combine(closing, at, tzinfo=clock.PARIS)


def week_deadline(
    monday: dt.date, activities: list[dict], working_days: int, at: dt.time, public_holidays
) -> dt.datetime:
    """The week closes with its earliest deadline: the first day any activity runs."""
    deadlines = []
    for activity in activities:
        days = {int(d) for d in (activity["weekdays"] or "").split(",") if d.strip()}
        for offset in range(7):
            day = monday + dt.timedelta(days=offset)
            if day.isoweekday() in days:
                deadlines.append(
                    day_deadline(day, activity["deadline_rule"], working_days, at, public_holidays)
                )
                break
    if not deadlines:  # no activity set up: the default rule on Monday
        deadlines.append(day_deadline(monday, "working_days", working_days, at, public_holidays))
    return min(deadlines)


def iso_week(monday: dt.date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


async def upcoming_week(now: dt.datetime) -> tuple[dt.date, dt.datetime, list] | None:
    """Next week whose deadline is still ahead, if it falls within the 48-hour window."""
    rules = await commune_settings()
    working_days = rules["booking_deadline_working_days"]
    at = rules["booking_deadline_time"]  # a time on both engines, default included
    activities = await Activity.select(Activity.weekdays, Activity.deadline_rule).where(
        Activity.active == True
    )  # noqa: E712 - Piccolo builds SQL from ==
    today = now.astimezone(clock.PARIS).date()
    monday = today + dt.timedelta(days=7 - today.weekday())
    public_holidays = _public_holidays({today.year, today.year + 1})
    for candidate in (monday, monday + dt.timedelta(days=7)):
        deadline = week_deadline(candidate, activities, working_days, at, public_holidays)
        if deadline > now:
            if deadline - now <= WINDOW:
                return candidate, deadline, public_holidays
            return None
    return None


async def missing_days(monday: dt.date, weeks: int, public_holidays) -> dict[int, list]:
    """{family_id: [(child first name, [days])]} for opted-in families: a fixed handful of
    queries whatever the number of families."""
    families = await Family.select(Family.id).where(
        (Family.reminders == True)
        & (Family.active == True)  # noqa: E712
        & Family.anonymised_at.is_null()
        & (Family.email != "")
    )
    if not families:
        return {}
    family_ids = [f["id"] for f in families]
    children = (
        await Child.select(Child.id, Child.family, Child.first_name, Child.school)
        .where(Child.family.is_in(family_ids) & (Child.active == True))
        .order_by(Child.id)
    )  # noqa: E712
    if not children:
        return {}
    first = monday - dt.timedelta(days=7 * weeks)
    last = monday + dt.timedelta(days=6)
    bookings = await Booking.select(Booking.child, Booking.day).where(
        Booking.child.is_in([c["id"] for c in children])
        & (Booking.day >= first)
        & (Booking.day <= last)
        & (Booking.state != "annulee")
    )
    booked: dict[int, set] = defaultdict(set)
    for row in bookings:
        booked[row["child"]].add(row["day"])
    closures = await Closure.select(
        Closure.starts_on, Closure.ends_on, Closure.school, Closure.activity
    ).where((Closure.starts_on <= last) & (Closure.ends_on >= monday))

    def closed(day: dt.date, school: int | None) -> bool:
        return any(
            c["starts_on"] <= day <= c["ends_on"]
            and c["activity"] is None
            and c["school"] in (None, school)
            for c in closures
        )

    result: dict[int, list] = defaultdict(list)
    for child in children:
        days = []
        for offset in range(5):
            day = monday + dt.timedelta(days=offset)
            if day in public_holidays or closed(day, child["school"]):
                continue
            usual = all(
                day - dt.timedelta(days=7 * k) in booked[child["id"]] for k in range(1, weeks + 1)
            )
            if usual and day not in booked[child["id"]]:
                days.append(day)
        if days:
            result[child["family"]].append((child["first_name"], days))
    return dict(result)


def compose(
    settings, monday: dt.date, deadline: dt.datetime, children: list, service: str
) -> tuple[str, str]:
    week = iso_week(monday)
    link = urls.absolute(settings.base_url, "booking_week") + f"?semaine={week}"
    closing = deadline.astimezone(clock.PARIS)
    when = f"{jour(closing.date())} à {closing.strftime('%H:%M')}"
    subject = f"Rappel : réservations de la semaine du {jour(monday)}"
    lines = [
        "Bonjour,",
        "",
        f"Les réservations de la semaine du {jour(monday)} ferment le {when}.",
        "",
        "Rien n’est réservé pour ces jours où votre enfant vient habituellement :",
    ]
    for name, days in children:
        lines.append(f"– {name} : {', '.join(jour(d) for d in days)}")
    lines += [
        "",
        "Pour réserver ou vérifier la semaine :",
        link,
        "",
        "Si ces absences sont voulues, vous n’avez rien à faire.",
        "",
        "Vous recevez ce message car vous avez demandé les rappels de réservation. "
        f"Pour ne plus les recevoir : {urls.absolute(settings.base_url, 'family_contact')}",
        "",
        f"{service} – {settings.commune_name}",
    ]
    return subject, "\n".join(lines)


async def queue_reminders(settings, now: dt.datetime | None = None) -> int:
    """Queue the week's reminders; returns how many were queued (0 outside the window)."""
    now = now or clock.now()
    found = await upcoming_week(now)
    if found is None:
        return 0
    monday, deadline, public_holidays = found
    todo = await missing_days(monday, settings.reminder_weeks, public_holidays)
    if not todo:
        return 0
    kind = f"{KIND_PREFIX}{iso_week(monday)}"
    already = {
        r["family"]
        for r in await OutboxEmail.select(OutboxEmail.family).where(
            (OutboxEmail.kind == kind) & OutboxEmail.family.is_in(list(todo))
        )
    }
    emails = {
        r["id"]: r["email"]
        for r in await Family.select(Family.id, Family.email).where(Family.id.is_in(list(todo)))
    }
    service = (await commune_settings())["service_name"]
    queued = 0
    for family_id, children in todo.items():
        if family_id in already:
            continue
        subject, text = compose(settings, monday, deadline, children, service)
        async with db.write_transaction():
            # Checked again inside the transaction, the family row locked (PostgreSQL): never
            # two reminders for one family and week, even if two runs overlapped.
            await db.lock_for_update(Family.select(Family.id).where(Family.id == family_id))
            if await OutboxEmail.exists().where(
                (OutboxEmail.kind == kind) & (OutboxEmail.family == family_id)
            ):
                continue
            await queue_email(
                to=emails[family_id], subject=subject, text=text, kind=kind, family_id=family_id
            )
        queued += 1
    return queued
