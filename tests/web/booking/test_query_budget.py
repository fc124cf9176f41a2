"""Query budgets of the family booking pages (issue 7: every page <= 6 queries; on SQLite each
query outside a transaction opens a connection, ~2 ms). Exact numbers, with 0 and many
bookings, so that a query added anywhere on these paths fails here."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.booking import services
from ecp.booking.tables import Booking
from ecp.db import is_sqlite
from tests import booking_factories as bf
from tests.booking_support import count_queries
from tests.support import csrf_token, login_family

URL = "/famille/reservations"
PATTERN = "/famille/reservations/semaine-type"

# The login check (ecp.auth.sessions.resolve) is 1 of these on every request; it also reads the
# set-up's version, so the set-up itself (year, settings, activities, capacities, closures: 2
# queries) comes from the process's cache once a first request has read it.
WEEK_PAGE = 3  # session, children, bookings+slots
# The week is read once before the change and updated in memory: 3 + child/day locked read,
# place counter upsert (or release), booking row.
TOGGLE = 6
# 3 + children with inscriptions, their bookings, one INSERT for the new rows, and one place
# taken per booking made (capacity is a per-slot conditional update): 4 here.
PATTERN_CONFIRM = 6 + 4


async def _setup(client):
    clock.set_now(bf.NOW)
    commune = await bf.make_commune()
    family, kids = await bf.make_family_with_children(commune)
    await login_family(client)
    return commune, family, kids


async def _book_many(commune, family, kids) -> None:
    for kid in kids:
        for code in ("restauration", "garderie_soir"):
            for offset in (0, 1, 3):
                await services.book(
                    kid.id,
                    commune.activities[code].id,
                    bf.MONDAY + dt.timedelta(days=offset),
                    family_id=family.id,
                )
        await services.book(
            kid.id,
            commune.activities["alsh_mercredi_journee"].id,
            bf.WEDNESDAY,
            family_id=family.id,
        )


async def _measure(client, commune, kids, token):
    """Week page, a booking toggle then its cancel (htmx), and a semaine type confirmation."""
    lea = kids[0]
    cell = {
        "enfant": lea.id,
        "activite": commune.activities["alsh_soir"].id,
        "jour": (bf.MONDAY + dt.timedelta(days=4)).isoformat(),
        "semaine": bf.WEEK,
        "_csrf_token": token,
    }
    htmx = {"HX-Request": "true"}
    with count_queries() as week:
        assert (await client.get(f"{URL}?semaine={bf.WEEK}")).status_code == 200
    with count_queries() as book:
        response = await client.post(URL, data=cell | {"action": "reserver"}, headers=htmx)
    assert response.status_code == 200 and "Réservation enregistrée : Loisirs soir" in response.text
    with count_queries() as cancel:
        response = await client.post(URL, data=cell | {"action": "annuler"}, headers=htmx)
    assert response.status_code == 200 and "Réservation annulée : Loisirs soir" in response.text
    pattern = {
        "enfants": [str(k.id) for k in kids],
        "du": "14/12/2026",
        "au": "18/12/2026",
        f"jours_{commune.activities['restauration'].id}": ["1", "4"],
        "etape": "confirmer",
        "_csrf_token": token,
    }
    with count_queries() as confirm:
        response = await client.post(PATTERN, data=pattern, follow_redirects=False)
    assert response.status_code == 303
    return week, book, cancel, confirm


async def test_budgets_are_exact_with_0_and_many_bookings(client):
    commune, family, kids = await _setup(client)
    with clock.frozen(bf.NOW):
        token = await csrf_token(client, URL)
        empty = await _measure(client, commune, kids, token)
        await Booking.delete(force=True)
        await _book_many(commune, family, kids)
        many = await _measure(client, commune, kids, token)
    assert await Booking.count().where(Booking.state == "reservee") == 14 + 4
    assert [c.count for c in empty] == [c.count for c in many], [c.queries for c in many]
    # PostgreSQL locks the child row in a statement of its own (services._lock_children);
    # SQLite's IMMEDIATE transaction needs none.
    lock = 0 if is_sqlite() else 1
    assert [c.count for c in many] == [
        WEEK_PAGE,
        TOGGLE + lock,
        TOGGLE + lock,
        PATTERN_CONFIRM + lock,
    ], [c.queries for c in many]
