"""Tariffs page (administrator): current grid, new tariff from a date, never retroactive."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.commune.tables import Tariff
from tests import factories
from tests.invoices_factories import make_commune
from tests.support import error_summary_links, login_staff, post_form, soup


def _future(days=10):
    return (clock.today() + dt.timedelta(days=days)).strftime("%d/%m/%Y")


async def test_grid_shows_current_prices_per_bracket_and_out_of_town(client):
    await factories.make_staff(role="administrateur")
    await make_commune()
    await login_staff(client)
    page = await client.get("/agents/parametres/tarifs")
    assert page.status_code == 200
    row = soup(page.text).select_one("#tariff-grid tbody tr").get_text()
    assert "Restauration scolaire" in row
    for price in ("1,20", "2,10", "6,20", "3,00"):
        assert price in row


async def test_new_tariff_applies_from_its_date_with_no_js_post(client):
    await factories.make_staff(role="administrateur")
    commune = await make_commune()
    low, _ = commune["brackets"]
    await login_staff(client)
    response = await post_form(
        client,
        "/agents/parametres/tarifs",
        {
            "activite": str(commune["canteen"].id),
            "tranche": str(low.id),
            "prix": "1,35",
            "majoration": "3",
            "date": _future(),
        },
        from_page="/agents/parametres/tarifs",
    )
    assert response.status_code == 303
    rows = await Tariff.select().where(Tariff.price_cents == 135)
    assert len(rows) == 1 and rows[0]["valid_from"] == clock.today() + dt.timedelta(days=10)
    page = await client.get("/agents/parametres/tarifs")
    assert "Nouveau tarif" in page.text
    assert "1,35" in soup(page.text).select_one("#tariff-upcoming").get_text()
    assert "1,35" not in soup(page.text).select_one("#tariff-grid").get_text()
    assert await AuditLog.count().where(AuditLog.action == "tarif_cree") == 1


async def test_past_date_and_bad_values_are_refused(client):
    await factories.make_staff(role="administrateur")
    commune = await make_commune()
    await login_staff(client)
    before = await Tariff.count()
    response = await post_form(
        client,
        "/agents/parametres/tarifs",
        {
            "activite": str(commune["canteen"].id),
            "tranche": "hors",
            "prix": "deux",
            "majoration": "",
            "date": (clock.today() - dt.timedelta(days=1)).strftime("%d/%m/%Y"),
        },
        from_page="/agents/parametres/tarifs",
    )
    assert response.status_code == 422
    assert soup(response.text).title.string.startswith("Erreur : ")
    assert error_summary_links(response.text) == ["#prix", "#date"]
    assert soup(response.text).select_one("#prix")["value"] == "deux"
    fragment = await post_form(
        client,
        "/agents/parametres/tarifs",
        {"activite": ""},
        from_page="/agents/parametres/tarifs",
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert 'id="tariff-form"' in fragment.text
    assert await Tariff.count() == before


async def test_tariffs_need_the_administrator_and_csrf(client):
    await factories.make_staff(role="regisseur")
    commune = await make_commune()
    await login_staff(client)
    assert (await client.get("/agents/parametres/tarifs")).status_code == 403
    data = {
        "activite": str(commune["canteen"].id),
        "tranche": "hors",
        "prix": "1",
        "majoration": "0",
        "date": _future(),
    }
    assert (
        await post_form(client, "/agents/parametres/tarifs", data, from_page="/agents/")
    ).status_code == 403
    assert (await client.post("/agents/parametres/tarifs", data=data)).status_code == 403
    assert await Tariff.count() == 3
