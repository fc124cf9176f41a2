"""`python -m bench.seed` on a small commune: the rows it writes hold together, on both
engines."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bench.seed import BENCH_PASSWORD, BENCH_STAFF, NotEmpty, billed_months, seed_bench
from ecp.auth.passwords import Passwords
from ecp.auth.tables import StaffUser
from ecp.booking.tables import Booking, Inscription, Slot
from ecp.commune.tables import ActivityCapacity, School, SchoolYear, Tariff
from ecp.families.tables import Child, Family, Guardian
from ecp.invoices.tables import Invoice, InvoiceCounter, InvoiceLine
from ecp.payments.tables import Payment, PaymentAllocation
from tests.conftest import DATABASE_URL
from tests.factories import make_family

TODAY = dt.date(2026, 11, 29)


async def test_seed_writes_a_consistent_commune():
    summary = await seed_bench(DATABASE_URL, families=40, schools=6, today=TODAY)

    assert await Family.count() == summary.families == 40
    assert await School.count() == summary.schools == 6
    assert await Child.count() == summary.children
    assert 40 <= summary.children <= 120
    assert await Guardian.count() >= 40
    assert await Booking.count() == summary.bookings
    # About two hundred bookings a child over a school year.
    assert summary.bookings > summary.children * 50
    assert await Inscription.count() == summary.inscriptions
    year = await SchoolYear.objects().get(SchoolYear.is_current == True)  # noqa: E712
    assert year.label == "2026-2027"

    # Every booking has a validated inscription and falls on a school day of the year.
    orphans = await Booking.raw(
        "SELECT COUNT(*) AS n FROM booking b WHERE NOT EXISTS (SELECT 1 FROM inscription i "
        "WHERE i.child = b.child AND i.activity = b.activity AND i.status = 'validee')"
    )
    assert orphans[0]["n"] == 0
    days = {r["day"] for r in await Booking.select(Booking.day).distinct()}
    assert min(days) >= year.starts_on and max(days) <= year.ends_on
    assert all(d.isoweekday() <= 5 for d in days)
    assert dt.date(2026, 11, 11) not in days  # Armistice
    assert dt.date(2026, 12, 22) not in days  # Christmas holidays, zone C

    # The place counters match the bookings and stay within capacity.
    mismatched = await Slot.raw(
        "SELECT COUNT(*) AS n FROM slot s WHERE s.booked <> (SELECT COUNT(*) FROM booking b "
        "WHERE b.school = s.school AND b.activity = s.activity AND b.day = s.day "
        "AND b.state = 'reservee')"
    )
    assert mismatched[0]["n"] == 0
    over = await Slot.raw(
        "SELECT COUNT(*) AS n FROM slot s JOIN activity_capacity c ON c.school = s.school "
        "AND c.activity = s.activity WHERE s.booked > c.capacity"
    )
    assert over[0]["n"] == 0
    assert await ActivityCapacity.count() == 6 * 8
    assert await Tariff.count() == 8 * 6

    # Ten months of invoices, numbered without gaps per year, their lines adding up.
    months = {r["month"] for r in await Invoice.select(Invoice.month).distinct()}
    assert months == set(billed_months(TODAY))
    assert len(months) == 10
    assert await Invoice.count() == summary.invoices
    assert await InvoiceLine.count() == summary.invoice_lines
    bad_totals = await Invoice.raw(
        "SELECT COUNT(*) AS n FROM invoice i WHERE i.total_cents <> "
        "(SELECT SUM(amount_cents) FROM invoice_line l WHERE l.invoice = i.id)"
    )
    assert bad_totals[0]["n"] == 0
    for counter in await InvoiceCounter.select():
        numbers = sorted(
            int(r["number"][-6:])
            for r in await Invoice.select(Invoice.number).where(
                Invoice.number.like(f"FAC-{counter['year']}-%")
            )
        )
        assert numbers == list(range(1, counter["last_number"] + 1))

    # Payments: each allocated to its invoice, paid_cents kept with them.
    assert await Payment.count() == summary.payments > 0
    assert await PaymentAllocation.count() == summary.payments
    bad_paid = await Invoice.raw(
        "SELECT COUNT(*) AS n FROM invoice i WHERE i.paid_cents <> COALESCE("
        "(SELECT SUM(amount_cents) FROM payment_allocation a WHERE a.invoice = i.id), 0)"
    )
    assert bad_paid[0]["n"] == 0
    assert await Invoice.count().where(Invoice.paid_cents < Invoice.total_cents) > 0

    # One production-profile hash shared by the families; the documented passwords work.
    family = await Family.objects().get(Family.code == "B000001")
    passwords = Passwords("production")
    assert await passwords.verify(family.password_hash, BENCH_PASSWORD)
    assert not passwords.needs_rehash(family.password_hash)
    assert len({r["password_hash"] for r in await Family.select(Family.password_hash)}) == 1
    staff = await StaffUser.objects().get(StaffUser.username == BENCH_STAFF)
    assert staff.role == "administrateur"


async def test_new_rows_after_the_seed_get_fresh_ids():
    await seed_bench(DATABASE_URL, families=5, schools=3, today=TODAY)
    family = await make_family(code="F99999")
    assert family.id == 6


async def test_a_second_run_is_refused_and_changes_nothing():
    await seed_bench(DATABASE_URL, families=5, schools=3, today=TODAY)
    before = (await Family.count(), await Booking.count(), await Invoice.count())
    with pytest.raises(NotEmpty):
        await seed_bench(DATABASE_URL, families=5, schools=3, today=TODAY)
    assert (await Family.count(), await Booking.count(), await Invoice.count()) == before


async def test_a_database_with_families_is_refused():
    await make_family(code="F00001")
    with pytest.raises(NotEmpty):
        await seed_bench(DATABASE_URL, families=5, schools=3, today=TODAY)
    assert await Family.count() == 1
    assert await School.count() == 0


def test_the_command_seeds_then_refuses_a_second_run():
    import os
    import subprocess
    import sys

    # This checkout's bench/ and src/, whatever ecp the interpreter has installed.
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "ECP_DATABASE_URL": DATABASE_URL, "PYTHONPATH": f"{root / 'src'}:{root}"}
    command = [sys.executable, "-m", "bench.seed", "--families", "3", "--schools", "3", "--quiet"]
    first = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "3 familles" in first.stdout and "bench-famille" in first.stdout
    second = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True, timeout=120)
    assert second.returncode == 1
    assert "base vide" in second.stderr
