"""The family's Accueil: children, the next days' bookings, invoices to pay, requests in
progress, deadlines coming up; a fixed number of queries."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.booking import services
from ecp.families.tables import ContactChangeRequest
from ecp.invoices.tables import Invoice
from tests import booking_factories as bf
from tests.booking_support import count_queries
from tests.support import login_family, soup


async def test_home_shows_bookings_invoices_requests_and_deadlines(client):
    clock.set_now(dt.datetime(2026, 11, 30, 10, 0, tzinfo=clock.PARIS))
    commune = await bf.make_commune()
    family, (lea, hugo) = await bf.make_family_with_children(commune)
    other, (awa,) = await bf.make_family_with_children(
        commune, code="F00002", name="Diallo", children=(("Awa", "CM2"),)
    )
    await services.book(
        awa.id, commune.activities["restauration"].id, dt.date(2026, 12, 3), family_id=other.id
    )
    clock.set_now(dt.datetime(2026, 12, 2, 10, 0, tzinfo=clock.PARIS))  # Wednesday
    await login_family(client)
    await client.get("/famille/")  # the set-up is cached from then on, as in production
    with count_queries() as empty:
        assert (await client.get("/famille/")).status_code == 200
    clock.set_now(dt.datetime(2026, 11, 30, 10, 0, tzinfo=clock.PARIS))
    await services.book(
        lea.id, commune.activities["restauration"].id, dt.date(2026, 12, 3), family_id=family.id
    )
    await services.book(
        hugo.id, commune.activities["garderie_soir"].id, dt.date(2026, 12, 4), family_id=family.id
    )
    clock.set_now(dt.datetime(2026, 12, 2, 10, 0, tzinfo=clock.PARIS))
    await Invoice(
        number="FAC-2026-000001",
        family=family.id,
        month=dt.date(2026, 11, 1),
        issued_at=clock.now(),
        due_on=dt.date(2026, 12, 31),
        total_cents=4250,
        paid_cents=1000,
    ).save()
    await Invoice(
        number="FAC-2026-000002",
        family=family.id,
        month=dt.date(2026, 10, 1),
        issued_at=clock.now(),
        due_on=dt.date(2026, 11, 30),
        total_cents=1000,
        paid_cents=1000,
    ).save()
    await ContactChangeRequest(
        family=family.id, changes={"email": {"before": "a", "after": "b"}}, submitted_at=clock.now()
    ).save()
    await login_family(client)
    await client.get("/famille/")
    with count_queries() as full:
        response = await client.get("/famille/")
    text = soup(response.text).get_text(" ", strip=True)
    assert "Bonjour, famille Martin" in text and "Léa Martin" in text
    assert "Léa : Cantine" in text and "Hugo : Garderie soir" in text and "Awa" not in text
    assert "FAC-2026-000001 : 32,50" in text and "FAC-2026-000002" not in text
    assert 'href="/famille/factures"' in response.text
    assert "en attente de validation" in text and 'href="/famille/coordonnees"' in response.text
    assert "Réservez la semaine du lundi 7 décembre avant jeudi 3 décembre 23:59" in text
    # The session, the family and its children, then the Accueil's 9 (ecp.pages.queries).
    assert empty.count == full.count == 12
