"""The boundary values an outside probe sent, each answered by a French 404 or 422."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp import clock
from ecp.web import params
from tests.booking_factories import NOW, make_commune, make_family_with_children
from tests.staff_factories import staff_client
from tests.support import csrf_token, login_family, soup

BIG = "9" * 25


def assert_french(response, status: int, title: str) -> None:
    assert response.status_code == status, (response.status_code, response.text[:300])
    page = soup(response.text)
    assert page.select_one("html")["lang"] == "fr"
    assert page.select_one("h1").get_text(strip=True) == title


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-W50", dt.date(2026, 12, 7)),
        ("0001-W01", None),
        ("9999-W52", None),
        ("2026-W54", None),
        ("2026-W00", None),
        ("٢٠٢٦-W50", None),
        ("2026-W50\x00", None),
    ],
)
def test_weeks(value, expected):
    assert params.parse_week(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-11", dt.date(2026, 11, 1)),
        ("9999-12", None),
        ("0001-01", None),
        ("2026-13", None),
    ],
)
def test_months(value, expected):
    assert params.parse_month(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("07/12/2026", dt.date(2026, 12, 7)),
        ("7/1/2027", dt.date(2027, 1, 7)),
        ("2026-12-07", dt.date(2026, 12, 7)),
        ("31/12/9999", None),
        ("01/01/0001", None),
        ("9999-12-31", None),
        ("31/02/2027", None),
        ("²/01/2027", None),
        ("", None),
    ],
)
def test_days(value, expected):
    assert params.parse_day(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("12", 12),
        (" 12 ", 12),
        ("2147483647", 2147483647),
        ("2147483648", None),
        (BIG, None),
        ("-1", None),
        ("²", None),
        ("١٢", None),
        ("1e3", None),
        ("", None),
        (None, None),
        (7, 7),
        (2**40, None),
        (True, None),
    ],
)
def test_ids(value, expected):
    assert params.parse_id(value) == expected


async def _family(client):
    clock.set_now(NOW)
    commune = await make_commune()
    await make_family_with_children(commune)
    await login_family(client)
    return commune


async def test_family_weeks_months_and_invoice_ids_out_of_range_are_404(client):
    await _family(client)
    for path in (
        "/famille/reservations?semaine=0001-W01",
        "/famille/reservations?semaine=9999-W52",
        "/famille/inscriptions?mois=9999-12",
        "/famille/inscriptions?mois=0001-01",
        "/famille/inscriptions/imprimer?mois=9999-12",
        f"/famille/factures/{BIG}",
        f"/famille/factures/{BIG}.pdf",
        f"/famille/factures/{BIG}/facture.pdf",
        f"/famille/coordonnees/{BIG}/modifier",
        "/famille/paiements/%00",
    ):
        assert_french(await client.get(path), 404, "Page introuvable")
    # The week still opens at the edge of the range.
    assert (await client.get("/famille/reservations?semaine=2100-W52")).status_code == 200


async def test_htmx_gets_the_404_as_a_fragment(client):
    await _family(client)
    response = await client.get(
        "/famille/reservations?semaine=9999-W52", headers={"HX-Request": "true"}
    )
    assert response.status_code == 404
    assert response.headers["hx-retarget"] == "#main"
    assert soup(response.text).select_one("html") is None
    assert "Page introuvable" in response.text


async def test_staff_ids_and_dates_out_of_range(client):
    await make_commune()
    await staff_client(client, "administrateur")
    for path in (
        f"/agents/familles/{BIG}",
        f"/agents/familles/{BIG}/reservations",
        f"/agents/factures/{BIG}",
        f"/agents/facturation?run={BIG}",
        "/agents/effectifs?jour=9999-12-31",
        "/agents/effectifs?jour=0001-01-01",
        f"/agents/effectifs?ecole={BIG}",
        "/agents/effectifs?ecole=%C2%B2",
        "/agents/paiements/export.csv?du=01/01/0001",
        "/agents/paiements/export.csv?au=31/12/9999",
    ):
        assert_french(await client.get(path), 404, "Page introuvable")
    for name, value in (("du", "31/12/9999"), ("au", "01/01/0001")):
        response = await client.get(f"/agents/journal?{name}={value}")
        assert response.status_code == 422
        field = soup(response.text).select_one(f"#{name}")
        assert field["value"] == value and field.get("aria-invalid") == "true"
        assert "Saisissez une date, par exemple 29/11/2026." in response.text
    # A cursor no entry can have shows the journal from its start.
    assert (await client.get(f"/agents/journal?avant={BIG}")).status_code == 200


async def test_posted_ids_out_of_range(client):
    commune = await make_commune()
    await staff_client(client, "administrateur")
    token = await csrf_token(client, "/agents/effectifs")
    activity = commune.activities["restauration"].id
    for fields in (
        {"jour": "2026-12-07", "activite": BIG, "ecole": str(commune.school.id)},
        {"jour": "9999-12-31", "activite": str(activity), "ecole": "1"},
        {"jour": "2026-12-07", "activite": str(activity), "ecole": "1", f"statut_{BIG}": "present"},
    ):
        response = await client.post("/agents/effectifs", data={**fields, "_csrf_token": token})
        assert_french(response, 404, "Page introuvable")


async def test_odd_static_paths_are_404(client):
    for path in (
        "/static/%00",
        "/static/css/%00",
        "/static/" + "a" * 2000,
        "/static/css/app.css%00.png",
    ):
        assert_french(await client.get(path), 404, "Page introuvable")
    assert (await client.get("/static/css/app.css")).status_code == 200
