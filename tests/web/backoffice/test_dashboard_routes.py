"""Staff > Tableau de bord: today's figures, each a link to its list (with its filters), the
day per school and activity against the places, three SVG charts each with its table, an htmx
fragment, the money only linked for those who may see the invoices, and a query budget that
does not grow with the data."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from ecp import clock
from ecp.booking.tables import Booking
from ecp.invoices.tables import Invoice
from ecp.payments.tables import Payment
from tests import factories
from tests.booking_factories import make_commune
from tests.booking_support import count_queries
from tests.staff_factories import staff_client
from tests.support import soup

# session, figures, schools, the weeks' bookings, presences, invoices per month, payments per
# month (the set-up comes from the process's cache once warm).
DASHBOARD = 7
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def tuesday():
    with clock.frozen(NOW):
        yield


async def _commune_with_data(families: int = 1):
    commune = await make_commune(capacity=20)
    cantine = commune.activities["restauration"]
    for i in range(families):
        family = await factories.make_family(f"F{i + 1:05d}", name=f"Famille{i}")
        child = await factories.make_child(family, "Léa", school=commune.school)
        await Booking(
            child=child.id,
            activity=cantine.id,
            school=commune.school.id,
            day=clock.today(),
            created_at=clock.now(),
            updated_at=clock.now(),
        ).save()
        await Invoice(
            number=f"FAC-2026-{i + 1:06d}",
            family=family.id,
            month=dt.date(2026, 11, 1),
            issued_at=clock.now(),
            due_on=dt.date(2026, 11, 20),
            total_cents=4250,
            paid_cents=250,
        ).save()
        await Payment(
            family=family.id, method="especes", amount_cents=250, received_at=clock.now()
        ).save()
    return commune


async def test_figures_link_to_their_lists(client):
    await staff_client(client, "regisseur")
    commune = await _commune_with_data()
    page = await client.get("/agents/")
    assert page.status_code == 200
    html = soup(page.text)
    links = {a["href"] for a in html.select(".figures a")}
    assert "/agents/familles" in links
    assert "/agents/effectifs?jour=2026-12-01" in links
    assert "/agents/inscriptions?statut=en_attente" in links
    assert "/agents/demandes" in links
    assert any(link.startswith(("/agents/factures", "/agents/paiements/impayes")) for link in links)
    figures = html.select_one(".figures").get_text(" ")
    assert "40\u00a0€" in figures and "Factures en retard" in figures
    today = html.select_one("#today-title").find_parent("section")
    assert today.find("a", string="École Jules-Ferry")["href"] == (
        f"/agents/effectifs?jour=2026-12-01&ecole={commune.school.id}"
    )
    row = today.find("th", string="Restauration scolaire").find_parent("tr")
    assert [td.get_text(strip=True) for td in row.select("td")] == ["1", "20", "5 %"]


async def test_three_charts_each_with_its_table(client):
    await staff_client(client)
    await _commune_with_data()
    html = soup((await client.get("/agents/")).text)
    for chart, caption in (
        ("chart-occupancy", "occupancy-caption"),
        ("chart-weekly", "weekly-caption"),
        ("chart-monthly", "monthly-caption"),
    ):
        svg = html.select_one(f"svg#{chart}")
        assert svg["role"] == "img" and svg.title.get_text() and svg.desc.get_text(), chart
        assert svg["aria-labelledby"] == f"{chart}-title {chart}-desc"
        table = html.select_one(f"#{caption}").find_parent("table")
        assert table.select("tbody tr"), chart
    monthly = html.select_one("#monthly-caption").find_parent("table").get_text(" ")
    assert "novembre 2026" in monthly and "42,50" in monthly
    # No client-side charting: the page loads no script but the app's own.
    scripts = [s.get("src", "") for s in html.select("script")]
    assert all(re.search(r"/static/(js/app|vendor/htmx)", s) for s in scripts), scripts


async def test_the_fragment_and_an_agent_without_money_links(client):
    await staff_client(client, "agent")
    await _commune_with_data()
    fragment = await client.get("/agents/", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'id="dashboard"' in fragment.text and fragment.headers["vary"] == "HX-Request"
    html = soup((await client.get("/agents/")).text)
    links = {a["href"] for a in html.select("#dashboard a")}
    assert not any("/factures" in link or "/impayes" in link for link in links)
    assert "40\u00a0€" in html.select_one(".figures").get_text()


async def test_the_dashboard_costs_the_same_few_queries_whatever_the_data(client):
    await staff_client(client)
    await client.get("/agents/")  # the set-up cache is warm from here on
    with count_queries() as empty:
        assert (await client.get("/agents/")).status_code == 200
    assert empty.count == DASHBOARD, empty.queries
    await _commune_with_data(families=12)
    await client.get("/agents/")
    with count_queries() as full:
        assert (await client.get("/agents/")).status_code == 200
    assert full.count == DASHBOARD, full.queries
