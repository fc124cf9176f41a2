"""Deadline reminders: who gets one, what it says, and never twice for a family and week."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.booking.tables import Booking
from ecp.commune.tables import Closure
from ecp.mail.tables import OutboxEmail
from ecp.ops.jobs import send_reminders
from ecp.ops.reminders import day_deadline, queue_reminders
from tests.factories import make_activity, make_child, make_family, make_school

NEXT_MONDAY = dt.date(2026, 12, 7)  # week 2026-W50; closes Thursday 3 December 23:59
IN_WINDOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=clock.PARIS)  # 38 hours before
TOO_EARLY = dt.datetime(2026, 12, 1, 10, 0, tzinfo=clock.PARIS)  # 62 hours before
PAST = dt.datetime(2026, 12, 4, 8, 0, tzinfo=clock.PARIS)


async def _book(child, activity, school, *days: dt.date) -> None:
    now = clock.now()
    for day in days:
        await Booking(
            child=child.id,
            activity=activity.id,
            school=school.id,
            day=day,
            state="reservee",
            created_at=now,
            updated_at=now,
        ).save()


def _weekday(week_offset: int, weekday: int) -> dt.date:
    return NEXT_MONDAY + dt.timedelta(days=7 * week_offset + weekday)


async def _usual_family(reminders: bool, name: str = "Martin", book_next: tuple = (0,)):
    """Léa comes Monday, Tuesday, Thursday every week; Hugo some Fridays only."""
    school = await make_school()
    activity = await make_activity(code=f"rest-{name}", school=school)
    family = await make_family(name=name, reminders=reminders, email=f"{name.lower()}@example.org")
    lea = await make_child(family, first_name="Léa", school=school)
    hugo = await make_child(family, first_name="Hugo", level="MS", school=school)
    for week in (-3, -2, -1):
        await _book(lea, activity, school, *(_weekday(week, d) for d in (0, 1, 3)))
    await _book(hugo, activity, school, _weekday(-2, 4), _weekday(-1, 4))
    await _book(lea, activity, school, *(_weekday(0, d) for d in book_next))
    return family, school, activity


async def test_reminder_names_the_deadline_the_missing_days_and_links_to_the_week(settings):
    family, _, _ = await _usual_family(reminders=True)
    await _usual_family(reminders=False, name="Diallo")  # opted out: nothing
    await _usual_family(reminders=True, name="Bernard", book_next=(0, 1, 3))  # all booked

    assert await queue_reminders(settings, IN_WINDOW.astimezone(dt.UTC)) == 1
    rows = await OutboxEmail.select()
    assert len(rows) == 1
    mail = rows[0]
    assert mail["family"] == family.id and mail["to_address"] == "martin@example.org"
    assert mail["kind"] == "rappel:2026-W50"
    assert mail["subject"] == "Rappel : réservations de la semaine du lundi 7 décembre"
    text = mail["body_text"]
    assert "ferment le jeudi 3 décembre à 23:59" in text
    assert f"{settings.base_url}/famille/reservations?semaine=2026-W50" in text
    assert "– Léa : mardi 8 décembre, jeudi 10 décembre" in text
    assert "Hugo" not in text  # two Fridays out of three is not "usually"
    assert f"{settings.base_url}/famille/coordonnees" in text


async def test_never_twice_for_the_same_family_and_week(settings):
    await _usual_family(reminders=True)
    now = IN_WINDOW.astimezone(dt.UTC)
    assert await queue_reminders(settings, now) == 1
    assert await queue_reminders(settings, now + dt.timedelta(hours=3)) == 0
    assert await send_reminders(settings, now + dt.timedelta(hours=6)) == 0
    assert await OutboxEmail.count() == 1


async def test_no_reminder_outside_the_48_hours_before_the_deadline(settings):
    await _usual_family(reminders=True)
    assert await queue_reminders(settings, TOO_EARLY.astimezone(dt.UTC)) == 0
    # Once W50 has closed, the next week (W51) closes in 6 days: nothing yet either.
    assert await queue_reminders(settings, PAST.astimezone(dt.UTC)) == 0
    assert await OutboxEmail.count() == 0


async def test_closed_days_are_not_reminded(settings):
    family, school, _ = await _usual_family(reminders=True)
    await Closure(
        starts_on=_weekday(0, 3),
        ends_on=_weekday(0, 3),
        school=school.id,
        activity=None,
        reason="Pont",
    ).save()
    assert await queue_reminders(settings, IN_WINDOW.astimezone(dt.UTC)) == 1
    text = (await OutboxEmail.select(OutboxEmail.body_text).first())["body_text"]
    assert "– Léa : mardi 8 décembre\n" in text


async def test_a_wednesday_activity_closes_the_week_on_the_wednesday_before(settings):
    await _usual_family(reminders=True)
    await make_activity(code="alsh-mercredi", weekdays="3", deadline_rule="previous_wednesday")
    # Tuesday 1 December 10:00 is 38 hours before Wednesday 2 December 23:59.
    assert await queue_reminders(settings, TOO_EARLY.astimezone(dt.UTC)) == 1
    text = (await OutboxEmail.select(OutboxEmail.body_text).first())["body_text"]
    assert "ferment le mercredi 2 décembre à 23:59" in text


def test_deadlines_skip_weekends_and_public_holidays():
    import holidays

    fr = holidays.France(years=[2026])
    at = dt.time(23, 59)
    # Monday 7 December: two working days before is Thursday 3 December.
    assert day_deadline(dt.date(2026, 12, 7), "working_days", 2, at, fr).date() == dt.date(
        2026, 12, 3
    )
    # Friday 13 November: Thursday 12 counts, Wednesday 11 (Armistice) does not: Tuesday 10.
    assert day_deadline(dt.date(2026, 11, 13), "working_days", 2, at, fr).date() == dt.date(
        2026, 11, 10
    )
    assert day_deadline(dt.date(2026, 12, 9), "previous_wednesday", 2, at, fr).date() == dt.date(
        2026, 12, 2
    )
