"""Closures that act, called on the services directly (no HTTP): a closure hitting bookings is
shown before it is written, then cancels them (« fermée ») in one transaction with one e-mail
per family and its journal line; the effectifs and the kitchen leave them out, billing never
charges them; removing it names the families and rebooks nothing. Places set below the
bookings of days to come are confirmed first, nobody cancelled."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.backoffice import settings_services as services
from ecp.booking import queries as booking_queries
from ecp.booking import services as booking
from ecp.booking.tables import Booking
from ecp.commune.tables import ActivityCapacity, Closure
from ecp.mail.tables import OutboxEmail
from tests import booking_factories as bf
from tests import factories
from tests.conftest import default_settings
from tests.integration.backoffice.closure_commune import (
    MONDAY,
    TUESDAY,
    admin_principal,
    make_closure_commune,
    places_taken,
    states,
)

SETTINGS = default_settings()


async def admin():
    return admin_principal(await factories.make_staff("admin", display_name="Admin Test"))


async def journal() -> list[dict]:
    return (
        await AuditLog.select(AuditLog.target, AuditLog.details)
        .where(AuditLog.action == "settings_changed")
        .order_by(AuditLog.id)
        .output(load_json=True)
    )


async def mails() -> list[dict]:
    return await OutboxEmail.select().order_by(OutboxEmail.id)


async def test_a_strike_at_one_school_is_shown_then_cancels_its_bookings():
    c = await make_closure_commune()
    me = await admin()
    before = await states(c.lea, c.hugo, c.zoe, c.nina)
    strike = dict(starts_on=MONDAY, ends_on=TUESDAY, reason="Grève", school_id=c.commune.school.id)
    with pytest.raises(services.ToConfirm) as shown:
        await services.add_closure(me, **strike, settings=SETTINGS)
    impact = shown.value.impact
    # Booked and declared ill, at Jules-Ferry only; the garderie Zoé cancelled is not there.
    assert impact.bookings == 6 and impact.children == 3 and len(impact.families) == 2
    assert impact.days == [MONDAY, TUESDAY]
    durand, martin = impact.families  # by name
    assert (durand.code, martin.code) == ("F00002", "F00001")
    assert [(ch.name, [(d.day, d.activities) for d in ch.days]) for ch in martin.children] == [
        ("Hugo Martin", [(MONDAY, ["Cantine"]), (TUESDAY, ["Cantine"])]),
        ("Léa Martin", [(MONDAY, ["Cantine", "Garderie soir"]), (TUESDAY, ["Cantine"])]),
    ]
    assert impact.scope.school_text == "École Jules-Ferry"
    assert impact.scope.activity_text == "toutes les activités"
    # Nothing written before the confirmation.
    assert await Closure.count() == 0 and await mails() == [] and await journal() == []
    assert await states(c.lea, c.hugo, c.zoe, c.nina) == before

    done = await services.add_closure(me, **strike, confirmed=True, settings=SETTINGS)
    assert done.impact.bookings == 6 and done.emails == 2
    after = await states(c.lea, c.hugo, c.zoe, c.nina)
    assert {k: v for k, v in after.items() if v == "fermee"} == {
        ("Léa", "restauration", MONDAY): "fermee",
        ("Léa", "restauration", TUESDAY): "fermee",
        ("Léa", "garderie_soir", MONDAY): "fermee",
        ("Hugo", "restauration", MONDAY): "fermee",
        ("Hugo", "restauration", TUESDAY): "fermee",
        ("Zoé", "restauration", MONDAY): "fermee",
    }
    assert after[("Zoé", "garderie_soir", TUESDAY)] == "annulee"
    assert after[("Nina", "restauration", MONDAY)] == "reservee"  # the other school
    # The day is closed: the place counters are left as they were.
    assert await places_taken(c.commune.school.id, c.activity("restauration"), MONDAY) == 3
    rows = await Booking.select(Booking.updated_by).where(Booking.state == "fermee")
    assert {r["updated_by"] for r in rows} == {me.staff_id}

    # One e-mail per family, listing its children and days, with the link to its calendar.
    sent = await mails()
    assert [(m["family"], m["to_address"], m["kind"]) for m in sent] == [
        (c.durand.id, c.durand.email, "fermeture"),
        (c.martin.id, c.martin.email, "fermeture"),
    ]
    martin_mail = sent[1]
    assert martin_mail["subject"] == (
        "Fermeture du lundi 7 décembre au mardi 8 décembre : réservations annulées"
    )
    text = martin_mail["body_text"]
    assert "Grève" in text and "(toutes les activités, École Jules-Ferry)" in text
    assert "– Hugo : lundi 7 décembre (Cantine), mardi 8 décembre (Cantine)" in text
    assert "– Léa : lundi 7 décembre (Cantine, Garderie soir), mardi 8 décembre (Cantine)" in text
    assert "ne vous seront pas facturées" in text
    assert "https://testserver.local/famille/reservations?semaine=2026-W50" in text
    assert "Zoé" not in text and "Nina" not in text
    assert "<li><strong>Léa</strong>" in martin_mail["body_html"]
    assert "– Zoé : lundi 7 décembre (Cantine)" in sent[0]["body_text"]
    assert "La réservation suivante de votre famille est donc annulée" in sent[0]["body_text"]

    assert await journal() == [
        {
            "target": "fermeture",
            "details": {
                "du": "2026-12-07",
                "au": "2026-12-08",
                "motif": "Grève",
                "école": "École Jules-Ferry",
                "activité": "toutes les activités",
                "réservations": 6,
                "familles": 2,
            },
        }
    ]


async def test_the_cantine_of_every_school_closes_the_cantine_only():
    c = await make_closure_commune()
    await c.durand.update_self({"email": ""})  # no address: no e-mail, the calendar tells it
    done = await services.add_closure(
        await admin(),
        starts_on=MONDAY,
        ends_on=MONDAY,
        reason="Cuisine centrale en panne",
        activity_id=c.activity("restauration"),
        confirmed=True,
        settings=SETTINGS,
    )
    assert done.impact.bookings == 4 and len(done.impact.families) == 3 and done.emails == 2
    after = await states(c.lea, c.hugo, c.zoe, c.nina)
    assert after[("Nina", "restauration", MONDAY)] == "fermee"
    assert after[("Léa", "garderie_soir", MONDAY)] == "reservee"
    assert after[("Léa", "restauration", TUESDAY)] == "reservee"
    sent = await mails()
    assert [m["family"] for m in sent] == [c.martin.id, c.petit.id]
    assert sent[0]["subject"] == "Fermeture le lundi 7 décembre : réservations annulées"
    assert "(Restauration scolaire, toutes les écoles)" in sent[0]["body_text"]


async def test_a_closure_without_bookings_needs_no_confirmation():
    c = await make_closure_commune()
    done = await services.add_closure(
        await admin(),
        starts_on=MONDAY + dt.timedelta(days=7),
        ends_on=MONDAY + dt.timedelta(days=7),
        reason="Pont",
        school_id=c.pasteur.id,
    )
    assert done.impact.bookings == 0 and done.emails == 0
    assert await Closure.count() == 1 and await mails() == []
    assert (await journal())[0]["details"]["réservations"] == 0


async def test_effectifs_kitchen_calendar_and_billing_leave_closed_days_out():
    c = await make_closure_commune()
    await services.add_closure(
        await admin(),
        starts_on=MONDAY,
        ends_on=MONDAY,
        reason="Grève",
        school_id=c.commune.school.id,
        confirmed=True,
        settings=SETTINGS,
    )
    day = await booking_queries.attendance_day(MONDAY, c.commune.school.id)
    assert day["groups"] == []
    assert [k["meals"] for k in day["kitchen"]] == [0]
    everyone = await booking_queries.attendance_day(MONDAY, None)
    assert [(g["school"], len(g["children"])) for g in everyone["groups"]] == [("École Pasteur", 1)]
    assert {k["school"]: k["meals"] for k in everyone["kitchen"]} == {
        "École Jules-Ferry": 0,
        "École Pasteur": 1,
    }
    # The family's calendar: « Fermé » with the reason, even where the child was booked.
    data = await booking_queries.load_calendar(c.martin.id, MONDAY, TUESDAY)
    lea = next(ch for ch in data.children if ch["id"] == c.lea.id)
    cell = data.cell(lea, data.activities[0], MONDAY, bf.NOW)
    assert (cell.state, cell.label, cell.reason) == ("ferme", "fermé", "Grève")
    # The month's recap counts the day as closed, not booked.
    recap = await booking_queries.month_recap(c.martin.id, MONDAY.replace(day=1))
    line = next(ln for ln in recap if ln["child"] == "Léa" and ln["label"] == "Cantine")
    assert line["closed"] == [MONDAY] and line["days"] == [TUESDAY]
    # Nobody may cancel a closed booking twice, and nobody may book the closed day.
    with pytest.raises(booking.NothingToDo):
        await booking.cancel(
            c.lea.id, c.activity("restauration"), MONDAY, actor=admin_principal(await staff())
        )
    with pytest.raises(booking.Closed):
        await booking.book(c.lea.id, c.activity("restauration"), MONDAY, family_id=c.martin.id)


async def staff():
    return await factories.make_staff("agent2", role="agent")


async def test_removing_a_closure_names_the_families_and_rebooks_nothing():
    c = await make_closure_commune()
    me = await admin()
    cantine = c.activity("restauration")
    strike = await services.add_closure(
        me,
        starts_on=MONDAY,
        ends_on=TUESDAY,
        reason="Grève",
        school_id=c.commune.school.id,
        confirmed=True,
        settings=SETTINGS,
    )
    # A second closure covers the Tuesday cantine everywhere: those days stay closed.
    kitchen = await services.add_closure(
        me,
        starts_on=TUESDAY,
        ends_on=TUESDAY,
        reason="Cuisine",
        activity_id=cantine,
        settings=SETTINGS,
    )
    assert kitchen.impact.bookings == 0  # already closed by the strike
    with pytest.raises(services.ToConfirm) as shown:
        await services.delete_closure(me, strike.closure_id)
    impact = shown.value.impact
    assert [f.code for f in impact.families] == ["F00002", "F00001"]
    # Monday's three bookings; Tuesday's cantine stays closed by the other closure.
    assert impact.bookings == 4
    assert impact.days == [MONDAY]
    assert await Closure.count() == 2

    done = await services.delete_closure(me, strike.closure_id, confirmed=True)
    assert [f.name for f in done.impact.families] == ["Durand", "Martin"]
    assert await Closure.count() == 1
    # Nothing rebooked, nobody e-mailed again; the counters count the standing bookings.
    after = await states(c.lea, c.hugo, c.zoe)
    assert set(after.values()) == {"fermee", "annulee"}
    assert len(await mails()) == 2
    assert await places_taken(c.commune.school.id, cantine, MONDAY) == 0
    assert await places_taken(c.pasteur.id, cantine, MONDAY) == 1  # Nina's, untouched
    # The family books Monday again: one place taken, the row reused.
    await booking.book(c.lea.id, cantine, MONDAY, family_id=c.martin.id)
    assert await places_taken(c.commune.school.id, cantine, MONDAY) == 1
    assert (await states(c.lea))[("Léa", "restauration", MONDAY)] == "reservee"
    assert (await journal())[-1] == {
        "target": "fermeture supprimée",
        "details": {
            "du": "2026-12-07",
            "au": "2026-12-08",
            "motif": "Grève",
            "école": "École Jules-Ferry",
            "activité": "toutes les activités",
            "réservations": 4,
            "familles": 2,
        },
    }
    with pytest.raises(services.Missing):
        await services.delete_closure(me, strike.closure_id, confirmed=True)


async def test_a_removal_without_closed_bookings_asks_nothing():
    c = await make_closure_commune()
    me = await admin()
    done = await services.add_closure(
        me,
        starts_on=MONDAY,
        ends_on=MONDAY,
        reason="Grève",
        school_id=c.pasteur.id,
        confirmed=True,
        settings=SETTINGS,
    )
    # Nina's booking was closed; the family books nothing else: she is listed on removal.
    with pytest.raises(services.ToConfirm):
        await services.delete_closure(me, done.closure_id)
    other = await services.add_closure(
        me,
        starts_on=MONDAY + dt.timedelta(days=14),
        ends_on=MONDAY + dt.timedelta(days=14),
        reason="Pont",
    )
    removed = await services.delete_closure(me, other.closure_id)
    assert removed.impact.families == []


# ---------------------------------------------------------------- places below bookings


async def activity_values(c, capacity: int, confirmed: bool = False) -> dict:
    a = c.commune.activities["restauration"]
    return dict(
        label=a.label,
        short_label=a.short_label,
        weekdays=a.weekdays.split(","),
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        levels=a.eligible_levels.split(","),
        default_capacity=a.default_capacity,
        active=True,
        capacities={c.commune.school.id: capacity, c.pasteur.id: 5},
        over_capacity_confirmed=confirmed,
    )


async def test_places_below_the_bookings_of_days_to_come_are_confirmed_first():
    c = await make_closure_commune()
    me = await admin()
    cantine = c.activity("restauration")
    # Jules-Ferry's cantine: 3 booked on Monday, 1 on Tuesday (Hugo is ill).
    with pytest.raises(services.OverCapacity) as refused:
        await services.update_activity(me, cantine, **await activity_values(c, 1))
    error = refused.value
    assert error.field == "confirmer_places"
    assert [(d.school_name, d.day, d.booked, d.capacity, d.over) for d in error.days] == [
        ("École Jules-Ferry", MONDAY, 3, 1, 2)
    ]
    assert error.message == (
        "Les places choisies sont inférieures aux réservations déjà faites : 2 réservations "
        "au-delà des places, sur 1 jour. Cochez la case pour enregistrer quand même : aucune "
        "réservation n’est annulée."
    )
    row = (
        await ActivityCapacity.select(ActivityCapacity.capacity)
        .where(
            (ActivityCapacity.activity == cantine)
            & (ActivityCapacity.school == c.commune.school.id)
        )
        .first()
    )
    assert row["capacity"] == 5  # nothing written
    await services.update_activity(me, cantine, **await activity_values(c, 1, confirmed=True))
    row = (
        await ActivityCapacity.select(ActivityCapacity.capacity)
        .where(
            (ActivityCapacity.activity == cantine)
            & (ActivityCapacity.school == c.commune.school.id)
        )
        .first()
    )
    assert row["capacity"] == 1
    assert await Booking.count().where(Booking.state == "reservee") == 6  # nobody cancelled
    line = (await journal())[-1]
    assert line["details"]["réservations au-delà des places"] == 2
    # The same places again ask nothing (they are not lowered); so do places at the bookings.
    await services.update_activity(me, cantine, **await activity_values(c, 1))
    await services.update_activity(me, cantine, **await activity_values(c, 3))


async def test_days_gone_by_and_unlimited_places_ask_nothing():
    c = await make_closure_commune(capacity=0)  # unlimited
    me = await admin()
    cantine = c.activity("restauration")
    with pytest.raises(services.OverCapacity):  # from unlimited to 2, under Monday's 3
        await services.update_activity(me, cantine, **await activity_values(c, 2))
    await services.update_activity(me, cantine, **await activity_values(c, 0))
    clock.set_now(dt.datetime(2026, 12, 9, 10, 0, tzinfo=clock.PARIS))  # the days are past
    await services.update_activity(me, cantine, **await activity_values(c, 1))
