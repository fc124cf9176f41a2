"""The commune set-up cached per process (ecp.commune.setup_cache.SETUP): database triggers change
setup_version with every change to the set-up, so a page never shows a stale closure, activity
or capacity, whichever path made the change."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp import clock
from ecp.booking import queries
from ecp.commune.setup_cache import SetupCache
from ecp.commune.tables import (
    Activity,
    ActivityCapacity,
    Closure,
    CommuneSettings,
    SchoolYear,
    SetupVersion,
)
from tests import booking_factories as bf
from tests.booking_support import count_queries
from tests.support import login_family, soup

URL = f"/famille/reservations?semaine={bf.WEEK}"


async def _version() -> int | None:
    rows = await SetupVersion.raw("SELECT version FROM setup_version WHERE id = 1")
    return rows[0]["version"] if rows else None


async def _family(client):
    clock.set_now(bf.NOW)
    commune = await bf.make_commune()
    family, kids = await bf.make_family_with_children(commune)
    await login_family(client)
    return commune, kids


def _cell_state(html: str, child_id: int, activity_id: int, day: dt.date) -> str:
    cell = soup(html).select_one(f"#cell-{child_id}-{activity_id}-{day.isoformat()}")
    assert cell is not None
    return cell.select_one(".cell-state").get_text(strip=True)


async def test_a_closure_added_after_the_set_up_was_cached_shows_at_once(client):
    commune, (lea, _hugo) = await _family(client)
    cantine = commune.activities["restauration"].id
    with clock.frozen(bf.NOW):
        first = await client.get(URL)  # reads and caches the set-up
        assert _cell_state(first.text, lea.id, cantine, bf.MONDAY) == "Libre"
        with count_queries() as warm:
            await client.get(URL)
        assert warm.count == 3, warm.queries  # session (+ version), children, bookings
        await Closure(starts_on=bf.MONDAY, ends_on=bf.MONDAY, reason="Grève").save()
        after = await client.get(URL)
    # The whole day closed: one « Fermé » line with the reason instead of the day's cells.
    assert soup(after.text).select_one(f"#cell-{lea.id}-{cantine}-{bf.MONDAY.isoformat()}") is None
    day = soup(after.text).select_one(f"#day-{lea.id}-{bf.MONDAY.isoformat()}")
    assert day.select_one(".day-line").get_text(strip=True) == "Fermé : Grève"


async def test_a_capacity_lowered_elsewhere_is_enforced_and_shown_at_once(client):
    commune, (lea, _hugo) = await _family(client)
    cantine = commune.activities["restauration"]
    with clock.frozen(bf.NOW):
        await client.get(URL)
        # Another process (or the staff settings page) sets the school's cantine to 0 places
        # left: one place, already taken by someone else.
        await ActivityCapacity.update({ActivityCapacity.capacity: 1}).where(
            ActivityCapacity.activity == cantine.id
        )
        from ecp.booking.tables import Slot

        await Slot.insert(
            Slot(school=commune.school.id, activity=cantine.id, day=bf.MONDAY, booked=1)
        )
        page = await client.get(URL)
    assert _cell_state(page.text, lea.id, cantine.id, bf.MONDAY) == "Complet"


@pytest.mark.parametrize("change", ["settings", "year", "activity", "capacity", "closure"])
async def test_every_set_up_table_changes_the_version(change):
    commune = await bf.make_commune()
    before = await _version()
    assert before is not None
    if change == "settings":
        await CommuneSettings.update({CommuneSettings.school_zone: "A"}, force=True)
    elif change == "year":
        await SchoolYear.update({SchoolYear.ends_on: dt.date(2027, 7, 4)}, force=True)
    elif change == "activity":
        await Activity.delete().where(Activity.id == commune.activities["alsh_soir"].id)
    elif change == "capacity":
        await ActivityCapacity.update({ActivityCapacity.capacity: 3}, force=True)
    else:
        await Closure(starts_on=bf.MONDAY, ends_on=bf.MONDAY, reason="Pont").save()
    assert await _version() not in (before, None)


async def test_outside_a_request_the_set_up_is_always_read():
    await bf.make_commune()
    with count_queries() as first:
        await queries.load_setup(bf.MONDAY, bf.MONDAY)
    with count_queries() as second:
        await queries.load_setup(bf.MONDAY, bf.MONDAY)
    assert first.count == second.count == 2


def test_only_safe_requests_trust_the_version_unless_a_route_opts_in():
    setup_cache = SetupCache("test_setup")  # its own, so the app's entry is left alone
    setup_cache.put("x")  # no request: nothing kept
    with setup_cache.current(7, "POST"):
        setup_cache.put("posted")
        assert setup_cache.get() is None
        setup_cache.trust()
        setup_cache.put("trusted")
        assert setup_cache.get() == "trusted"
    assert setup_cache.get() is None  # the request's version ends with it
    with setup_cache.current(8, "GET"):
        assert setup_cache.get() is None  # another version: the entry is stale
