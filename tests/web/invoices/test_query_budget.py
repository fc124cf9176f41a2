"""Query budgets of the invoice pages, as they were when their reads moved to queries.py: exact
numbers, so that a query added anywhere on these paths fails here. Each request's first query
is the login check (ecp.auth.sessions.resolve)."""

from __future__ import annotations

from ecp.invoices.billing import run_billing
from ecp.invoices.tables import Invoice
from tests import factories
from tests.booking_support import count_queries
from tests.invoices_factories import NOV, make_billed_family, make_commune
from tests.support import login_family, login_staff, post_form

# session, the family's invoices, its paperless choice
FAMILY_LIST = 3
# session, invoice, lines, credit notes, the commune's details, the direct-debit mandate
FAMILY_DETAIL = 6
# session; the update that checks the address at the same time (a 303 after it)
PAPERLESS_SAVED = 2
# session, runs, the run shown, its invoices' total, the month's anomaly counts by state and
# those still to handle (kept from one run to the next: ecp.invoices.anomalies)
STAFF_BILLING = 6
# session, the invoices
STAFF_INVOICES = 2
# FAMILY_DETAIL and the lines already credited
STAFF_INVOICE = 7
# session, activities, brackets, tariffs
TARIFFS = 4
# session, periods, the month's families (invoiced; booked; present), its reference (activities,
# brackets, tariffs, closures, settings), their data (families, guardians, children, bookings,
# pointage, quotient history), their billed lines, the documents régularisations issued
REGULARISATIONS = 1 + 1 + 3 + 5 + 6 + 1 + 1


async def _counted(request) -> int:
    with count_queries() as counter:
        response = await request
    assert response.status_code in (200, 303), response.status_code
    return counter.count


async def _billed(settings):
    commune = await make_commune()
    family, _ = await make_billed_family(commune, code="F00001", days=(2, 3))
    await run_billing(NOV, settings=settings)
    return family, await Invoice.select().first()


async def test_family_pages_query_budget(client, settings):
    _, invoice = await _billed(settings)
    await login_family(client)
    await client.get("/famille/factures")  # the set-up cache is warm from here on
    assert await _counted(client.get("/famille/factures")) == FAMILY_LIST
    assert await _counted(client.get(f"/famille/factures/{invoice['id']}")) == FAMILY_DETAIL
    form = post_form(
        client,
        "/famille/factures/facture-electronique",
        {"mode": "papier"},
        from_page="/famille/factures",
    )
    # post_form reads the page for its CSRF token first: FAMILY_LIST of these are the GET's.
    assert await _counted(form) == FAMILY_LIST + PAPERLESS_SAVED


async def test_staff_pages_query_budget(client, settings):
    await factories.make_staff(role="administrateur")
    await factories.make_staff(username="regie", role="regisseur")
    _, invoice = await _billed(settings)
    await login_staff(client)
    await client.get("/agents/parametres/tarifs")
    assert await _counted(client.get("/agents/parametres/tarifs")) == TARIFFS
    client.cookies.clear()
    await login_staff(client, username="regie")
    await client.get("/agents/facturation")
    assert await _counted(client.get("/agents/facturation")) == STAFF_BILLING
    listing = client.get("/agents/factures?mois=2026-11&famille=F00001&envoi=papier")
    assert await _counted(listing) == STAFF_INVOICES
    assert await _counted(client.get(f"/agents/factures/{invoice['id']}")) == STAFF_INVOICE


async def test_regularisations_page_costs_the_same_for_one_family_or_many(client, settings):
    """The month is read in bulk (per 500 families), never per family or per day."""
    import datetime as dt

    from ecp.commune.tables import Closure

    await factories.make_staff(username="regie", role="regisseur")
    commune = await make_commune()
    await make_billed_family(commune, code="F00001", days=(2, 3))
    await run_billing(NOV, settings=settings)
    await login_staff(client, username="regie")
    url = "/agents/facturation/regularisations?mois=2026-11"
    await client.get(url)
    await Closure(starts_on=dt.date(2026, 11, 2), ends_on=dt.date(2026, 11, 2), reason="x").save()
    one = await _counted(client.get(url))
    for i in range(2, 5):
        await make_billed_family(commune, code=f"F0000{i}", name=f"Famille{i}", days=(2, 3, 5))
    many = await _counted(client.get(url))
    assert one == many == REGULARISATIONS
