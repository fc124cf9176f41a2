"""The session's last activity is written once a minute: requests of one session arriving
together after that minute write it once, not once each."""

from __future__ import annotations

import asyncio
import datetime as dt

from ecp import clock
from ecp.auth.tables import AuthSession
from tests import booking_factories as bf
from tests.booking_support import count_queries
from tests.support import login_family


async def test_requests_arriving_together_write_the_last_activity_once(client):
    clock.set_now(bf.NOW)
    commune = await bf.make_commune()
    await bf.make_family_with_children(commune)
    await login_family(client)
    later = bf.NOW + dt.timedelta(minutes=5)
    with clock.frozen(later), count_queries() as counter:
        answers = await asyncio.gather(*(client.get("/famille/factures") for _ in range(6)))
    assert [a.status_code for a in answers] == [200] * 6
    touches = [q for q in counter.queries if q.lstrip().upper().startswith("UPDATE")]
    assert len(touches) == 1, touches
    (row,) = await AuthSession.select(AuthSession.last_seen_at)
    assert row["last_seen_at"] == later
    # A minute later, the next request writes it again.
    with clock.frozen(later + dt.timedelta(seconds=61)), count_queries() as counter:
        assert (await client.get("/famille/factures")).status_code == 200
    assert sum(q.lstrip().upper().startswith("UPDATE") for q in counter.queries) == 1
