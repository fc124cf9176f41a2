"""/agents/finance/caf and /agents/finance/ma-cantine: the State's figures from the database,
on screen (full page and htmx fragment) and as CSV (journalled), bad periods 422, roles."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.booking.tables import Attendance
from tests import factories
from tests.conftest import default_settings
from tests.support import error_summary_links, login_family, login_staff, soup

T = dt.time
NOW = dt.datetime(2026, 11, 20, 10, tzinfo=clock.PARIS)
CAF = "/agents/finance/caf"
MEALS = "/agents/finance/ma-cantine"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def settings():
    return default_settings()


async def _pointed(client, role: str = "regisseur") -> None:
    """École des Tilleuls: Léa (8 years) and Tom (4 years on 16 November) at the evening
    garderie on Monday 16 November (2 h each) and at the canteen on 16 and 17 November; Léa on
    Wednesday 18 at the accueil de loisirs (8 h) and the canteen (cap 9 h: 8 h kept)."""
    clock.set_now(NOW)
    school = await factories.make_school("École des Tilleuls")
    canteen = await factories.make_activity(
        "restauration", "Restauration scolaire", starts_at=T(12), ends_at=T(13, 30)
    )
    evening = await factories.make_activity(
        "garderie_soir", "Garderie du soir", starts_at=T(16, 30), ends_at=T(18, 30)
    )
    wednesday = await factories.make_activity(
        "alsh_mercredi",
        "Accueil de loisirs du mercredi",
        weekdays="3",
        starts_at=T(8),
        ends_at=T(16),
    )
    family = await factories.make_family("F00001", name="Martin")
    lea = await factories.make_child(family, "Léa", school=school, birth_date=dt.date(2018, 2, 1))
    tom = await factories.make_child(
        family, "Tom", "MS", school=school, birth_date=dt.date(2022, 5, 1)
    )
    marks = [
        (lea, evening, dt.date(2026, 11, 16)),
        (tom, evening, dt.date(2026, 11, 16)),
        (lea, canteen, dt.date(2026, 11, 16)),
        (tom, canteen, dt.date(2026, 11, 16)),
        (lea, canteen, dt.date(2026, 11, 17)),
        (lea, wednesday, dt.date(2026, 11, 18)),
        (lea, canteen, dt.date(2026, 11, 18)),
    ]
    for child, activity, day in marks:
        await Attendance(
            child=child.id,
            activity=activity.id,
            school=school.id,
            day=day,
            status="present",
            marked_at=clock.now(),
        ).save()
    # An evening billed by the hour: Léa came at 16:40 and left at 17:20 (40 minutes in started half-hours: 1 h).
    hourly = await factories.make_activity(
        "garderie_tardive", "Garderie tardive", starts_at=T(16, 30), ends_at=T(19), hourly=True
    )
    await Attendance(
        child=lea.id,
        activity=hourly.id,
        school=school.id,
        day=dt.date(2026, 11, 19),
        status="present",
        arrived_at=T(16, 40),
        left_at=T(17, 20),
        marked_at=clock.now(),
    ).save()
    await Attendance(
        child=tom.id,
        activity=canteen.id,
        school=school.id,
        day=dt.date(2026, 11, 17),
        status="absent",
        marked_at=clock.now(),
    ).save()
    await factories.make_staff(username="regie", role=role, display_name="Régie")
    await login_staff(client, "regie")


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text.lstrip("\ufeff")), delimiter=";"))


async def test_the_caf_page_shows_hours_by_age_and_kind_of_day(client):
    await _pointed(client)
    page = await client.get(CAF + "?periode=2026-11")
    assert page.status_code == 200
    html = soup(page.text)
    assert html.h1.get_text() == "Heures de présence pour la CAF"
    summary = html.select_one("#caf-summary").get_text()
    assert "2,00\u00a0h pour les moins de 6 ans (1 enfant)" in summary
    assert "11,00\u00a0h pour les 6 ans et plus (1 enfant)" in summary
    rows = [
        [c.get_text() for c in tr.find_all(["th", "td"])]
        for tr in html.select("#caf-rows tbody tr")
    ]
    assert [
        "École des Tilleuls",
        "Garderie du soir",
        "Jours d’école",
        "2,00",
        "2,00",
        "1",
        "1",
    ] in rows
    assert [
        "École des Tilleuls",
        "Accueil de loisirs du mercredi",
        "Mercredis",
        "0,00",
        "8,00",
        "0",
        "1",
    ] in rows
    assert [
        "École des Tilleuls",
        "Garderie tardive",
        "Jours d’école",
        "0,00",
        "1,00",
        "0",
        "1",
    ] in rows
    assert not any("Restauration" in r[1] for r in rows)
    fragment = await client.get(CAF + "?periode=2026", headers=HTMX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert soup(fragment.text).select_one("#caf-title[data-focus]") is not None
    bad = await client.get(CAF + "?periode=1999")
    assert bad.status_code == 422 and error_summary_links(bad.text) == ["#periode"]
    assert soup(bad.text).title.get_text().startswith("Erreur : ")


async def test_the_caf_csv_is_journalled(client):
    await _pointed(client)
    rows = _rows(await client.get(CAF + ".csv?periode=2026-11"))
    assert rows[0][:3] == ["Accueil", "Activité", "Jours"]
    assert rows[-1] == ["Total", "", "", "2,00", "11,00", "1", "1"]
    assert await AuditLog.count().where(AuditLog.action == "caf_exporte") == 1
    assert (await client.get(CAF + ".csv?periode=abc")).status_code == 422


async def test_ma_cantine_counts_meals_per_school_and_day(client):
    await _pointed(client)
    page = await client.get(MEALS + "?annee=2026")
    html = soup(page.text)
    assert "4 repas" in html.select_one("#meals-summary").get_text()
    cells = [c.get_text() for c in html.select("#meals-schools tbody tr")[0].find_all(["th", "td"])]
    assert cells == ["École des Tilleuls", "4", "3", "1"]
    fragment = await client.get(MEALS + "?annee=2025", headers=HTMX)
    assert "Aucun repas pointé" in fragment.text and "<html" not in fragment.text
    rows = _rows(await client.get(MEALS + ".csv?annee=2026"))
    assert rows[1:] == [
        ["École des Tilleuls", "16/11/2026", "2"],
        ["École des Tilleuls", "17/11/2026", "1"],
        ["École des Tilleuls", "18/11/2026", "1"],
        ["École des Tilleuls", "Total 2026", "4"],
    ]
    assert await AuditLog.count().where(AuditLog.action == "ma_cantine_exporte") == 1
    assert (await client.get(MEALS + "?annee=1990")).status_code == 422


async def test_reports_are_the_regisseurs(client, other_client):
    await _pointed(client, role="agent")
    for path in (CAF, CAF + ".csv", MEALS, MEALS + ".csv"):
        assert (await client.get(path)).status_code == 403, path
    await login_family(other_client)
    for path in (CAF, MEALS):
        assert (await other_client.get(path)).status_code == 404, path
