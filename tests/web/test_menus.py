"""The main menu by role: each side sees the links it may open, and each link's page opens."""

from __future__ import annotations

import pytest

from ecp.auth.principal import Principal
from ecp.web.menus import FAMILY_MENU, STAFF_MENU, menu_for
from tests import factories
from tests.support import login_family, login_staff, soup


def staff(role: str) -> Principal:
    return Principal(kind="staff", session_id=1, name="x", staff_id=1, role=role)


def test_staff_see_only_the_sections_their_role_opens():
    agent = {item.route for item in menu_for(staff("agent"))}
    regisseur = {item.route for item in menu_for(staff("regisseur"))}
    admin = {item.route for item in menu_for(staff("administrateur"))}
    assert "staff_billing" not in agent and "staff_settings" not in agent
    assert {"staff_billing", "staff_payments"} <= regisseur and "staff_journal" not in regisseur
    assert admin == {item.route for item in STAFF_MENU}
    assert agent < regisseur < admin
    assert menu_for(None) == ()


def test_every_menu_route_exists(app):
    for item in (*FAMILY_MENU, *STAFF_MENU):
        assert app.route_reverse(item.route).startswith(("/famille", "/agents"))


@pytest.mark.parametrize("role", ["agent", "regisseur", "administrateur"])
async def test_each_link_of_a_staff_menu_opens_for_that_role(client, role):
    await factories.make_staff(username=f"menu-{role}", role=role)
    await login_staff(client, f"menu-{role}")
    page = soup((await client.get("/agents/")).text)
    links = [a["href"] for a in page.select("nav.main-nav a")]
    assert len(links) == len(menu_for(staff(role)))
    for href in links:
        response = await client.get(href)
        assert response.status_code == 200, (role, href)
    current = page.select("nav.main-nav a[aria-current=page]")
    assert [a.get_text(strip=True) for a in current] == ["Tableau de bord"]


async def test_the_family_menu_marks_the_current_section(client):
    await factories.make_family("F00001")
    await login_family(client)
    page = soup((await client.get("/famille/factures")).text)
    labels = [a.get_text(strip=True) for a in page.select("nav.main-nav a")]
    assert labels == [item.label for item in FAMILY_MENU]
    current = page.select("nav.main-nav a[aria-current=page]")
    assert [a.get_text(strip=True) for a in current] == ["Factures"]


async def test_a_section_under_another_is_the_only_current_one(client):
    await factories.make_staff(username="menu-regie", role="regisseur")
    await login_staff(client, "menu-regie")
    page = soup((await client.get("/agents/facturation/anomalies")).text)
    current = page.select("nav.main-nav a[aria-current=page]")
    assert [a.get_text(strip=True) for a in current] == ["Anomalies"]
    page = soup((await client.get("/agents/facturation")).text)
    current = page.select("nav.main-nav a[aria-current=page]")
    assert [a.get_text(strip=True) for a in current] == ["Facturation"]
