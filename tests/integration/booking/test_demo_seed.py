"""The demo's booking data: validated inscriptions, bookings around today, near-full Wednesdays,
place counters that match the bookings, and a second run that adds nothing."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.auth.passwords import Passwords
from ecp.booking.tables import Booking, Inscription, Slot
from ecp.demo import booking as demo_booking
from ecp.demo.core import seed_core


async def test_demo_booking_seed_is_relative_to_today_and_idempotent(settings):
    clock.set_now(dt.datetime(2026, 11, 30, 10, 0, tzinfo=clock.PARIS))
    passwords = Passwords(settings.password_profile, settings.hash_concurrency)
    context = await seed_core(passwords, n_families=40)
    context["settings"] = settings
    await demo_booking.seed(context)
    counts = (await Booking.count(), await Inscription.count(), await Slot.count())
    assert counts[0] > 500 and counts[1] > 40
    assert await Inscription.count().where(Inscription.status == "en_attente") >= 1
    await demo_booking.seed(context)
    assert (await Booking.count(), await Inscription.count(), await Slot.count()) == counts
    # Bookings around today, never on a closed day (Christmas holidays start 19/12/2026).
    days = {r["day"] for r in await Booking.select(Booking.day)}
    assert min(days) < clock.today() < max(days)
    assert not [d for d in days if d.weekday() >= 5 or dt.date(2026, 12, 19) <= d]
    # Counters equal the live bookings.
    live = {}
    for r in await Booking.select(Booking.school, Booking.activity, Booking.day).where(
        Booking.state == "reservee"
    ):
        key = (r["school"], r["activity"], r["day"])
        live[key] = live.get(key, 0) + 1
    slots = {(r["school"], r["activity"], r["day"]): r["booked"] for r in await Slot.select()}
    assert {k: v for k, v in slots.items() if v} == live
    # A Wednesday cell is close to full (capacity 24 in the demo).
    wednesday = dt.date(2026, 12, 9)
    mercredi = context["activities"]["alsh_mercredi_journee"]
    inscribed: dict[int, int] = {}
    for r in await Inscription.select(
        Inscription.child.school.as_alias("school"), Inscription.child.family.code.as_alias("code")
    ).where((Inscription.activity == mercredi) & (Inscription.status == "validee")):
        if r["code"] not in ("F00001", "F00002"):
            inscribed[r["school"]] = inscribed.get(r["school"], 0) + 1
    taken = {s: v for (s, a, d), v in slots.items() if a == mercredi and d == wednesday}
    assert taken == {s: min(22, n) for s, n in inscribed.items() if n}


async def test_demo_seed_obeys_exclusive_groups_in_bookings_and_billing(settings):
    """Garderie du soir and loisirs du soir share the group « soir »: the seed books at most one
    of them a day per child (as the booking service would), so no invoice bills both."""
    from ecp.demo.seed import seed_demo
    from ecp.invoices.tables import Invoice, InvoiceLine

    clock.set_now(dt.datetime(2026, 11, 30, 10, 0, tzinfo=clock.PARIS))
    await seed_demo(settings, n_families=60)
    for _ in range(2):  # idempotent: the second run neither adds nor breaks anything
        pairs = await Booking.raw(
            "SELECT b.child, b.day, a.group_code, COUNT(*) AS n FROM booking b "
            "JOIN activity a ON a.id = b.activity "
            "WHERE a.group_code <> '' AND b.state <> 'annulee' "
            "GROUP BY b.child, b.day, a.group_code HAVING COUNT(*) > 1"
        )
        assert pairs == []
        counts = (await Booking.count(), await Invoice.count())
        await seed_demo(settings, n_families=60)
        assert (await Booking.count(), await Invoice.count()) == counts
    # Both evening activities were seeded (the check is not vacuous)...
    soir = await Booking.count().where(
        (Booking.activity.group_code == "soir") & (Booking.state == "reservee")
    )
    alsh = await Booking.count().where(
        (Booking.activity.code == "alsh_soir") & (Booking.state == "reservee")
    )
    assert alsh > 0 and soir > alsh
    # ...and the invoices of the seeded months never bill one child both on one day.
    lines = await InvoiceLine.select(
        InvoiceLine.invoice,
        InvoiceLine.child,
        InvoiceLine.days,
        InvoiceLine.activity.group_code.as_alias("group_code"),
        InvoiceLine.activity.code.as_alias("code"),
    ).where((InvoiceLine.kind == "prestation") & (InvoiceLine.invoice.kind == "facture"))
    billed: dict[tuple, list[str]] = {}
    for line in lines:
        if line["group_code"] != "soir":
            continue
        for day in filter(None, line["days"].split(",")):
            billed.setdefault((line["invoice"], line["child"], day), []).append(line["code"])
    assert billed, "the seeded months bill evening care"
    assert {k: v for k, v in billed.items() if len(v) > 1} == {}
    months = {r["month"] for r in await Invoice.select(Invoice.month)}
    assert dt.date(2026, 10, 1) in months  # the month the booking seed covers is billed
