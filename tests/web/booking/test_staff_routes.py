"""Staff: effectifs and pointage, kitchen headcount, CSV export, and
booking on a family's behalf past the deadline (audit-logged)."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.booking import services
from ecp.booking.tables import Attendance, Booking
from ecp.families.tables import Child
from tests import booking_factories as bf
from tests import factories
from tests.support import login_family, login_staff, post_form, soup


async def setup(client, now=bf.NOW, login=True):
    clock.set_now(now)
    commune = await bf.make_commune(capacity=5)
    family, kids = await bf.make_family_with_children(commune)
    await factories.make_staff()
    if login:
        await login_staff(client)
    return commune, family, kids


async def test_families_cannot_reach_staff_pages(client):
    commune, family, kids = await setup(client, login=False)
    await login_family(client)
    assert (await client.get("/agents/inscriptions")).status_code == 404
    assert (await client.get("/agents/effectifs")).status_code == 404
    assert (await client.get(f"/agents/familles/{family.id}/reservations")).status_code == 404


async def test_effectifs_lists_children_kitchen_and_saves_pointage(client):
    commune, family, (lea, hugo) = await setup(client)
    await Child.update({Child.has_allergy: True}).where(Child.id == hugo.id)
    cantine = commune.activities["restauration"].id
    for kid in (lea, hugo):
        await services.book(kid.id, cantine, bf.MONDAY, family_id=family.id)
    # Booked ahead, pointed on the day (a day to come cannot be pointed): a new session then.
    clock.set_now(dt.datetime.combine(bf.MONDAY, dt.time(18, 0), tzinfo=clock.PARIS))
    client.cookies.clear()
    await login_staff(client)
    url = f"/agents/effectifs?jour={bf.MONDAY.isoformat()}"
    page = await client.get(url)
    assert page.status_code == 200
    s = soup(page.text)
    text = s.get_text(" ", strip=True)
    # Each booked child is listed, by name, level and allergy flag, for the pointage.
    listed = [
        " ".join(li.select_one("legend").get_text(" ", strip=True).split())
        for li in s.select("li.pointage-child")
    ]
    assert listed == ["Martin Hugo MS allergie", "Martin Léa CE1"]
    assert "Restauration scolaire – École Jules-Ferry : 2 attendus" in text
    assert "2 repas, dont 1 avec allergie" in text
    fragment = await client.get(url, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="attendance-lists"' in fragment.text
    response = await post_form(
        client,
        "/agents/effectifs",
        {
            "jour": bf.MONDAY.isoformat(),
            "ecole": commune.school.id,
            "activite": cantine,
            f"statut_{lea.id}": "present",
            f"statut_{hugo.id}": "absent",
        },
        from_page=url,
    )
    assert response.status_code == 303
    follow = await client.get(response.headers["location"])
    assert "Pointage enregistré : 2 enfants." in follow.text
    marks = {r["child"]: r["status"] for r in await Attendance.select()}
    assert marks == {lea.id: "present", hugo.id: "absent"}
    # Saving again updates, never duplicates.
    await post_form(
        client,
        "/agents/effectifs",
        {
            "jour": bf.MONDAY.isoformat(),
            "ecole": commune.school.id,
            "activite": cantine,
            f"statut_{hugo.id}": "excuse",
        },
        from_page=url,
    )
    assert await Attendance.count() == 2
    assert (await Attendance.select().where(Attendance.child == hugo.id).first())[
        "status"
    ] == "excuse"
    # A child not on the list is refused.
    other, (awa,) = await bf.make_family_with_children(
        commune, code="F00002", name="Diallo", children=(("Awa", "CM2"),)
    )
    bad = await post_form(
        client,
        "/agents/effectifs",
        {
            "jour": bf.MONDAY.isoformat(),
            "ecole": commune.school.id,
            "activite": cantine,
            f"statut_{awa.id}": "present",
        },
        from_page=url,
    )
    assert bad.status_code == 404 and await Attendance.count() == 2
    assert (await client.post("/agents/effectifs", data={"jour": "x"})).status_code == 403


async def test_csv_export(client):
    commune, family, (lea, hugo) = await setup(client)
    await services.book(
        lea.id, commune.activities["restauration"].id, bf.MONDAY, family_id=family.id
    )
    response = await client.get(f"/agents/effectifs.csv?jour={bf.MONDAY.isoformat()}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("date;ecole;activite;nom;prenom")
    assert lines[1].startswith("2026-12-07;École Jules-Ferry;Restauration scolaire;Martin;Léa;CE1")
    assert (await client.get("/agents/effectifs.csv?jour=demain")).status_code == 404


async def test_staff_book_on_behalf_past_the_deadline_is_audited(client):
    commune, family, (lea, hugo) = await setup(
        client, now=dt.datetime(2026, 12, 7, 8, 0, tzinfo=clock.PARIS)
    )
    url = f"/agents/familles/{family.id}/reservations"
    page = await client.get(f"{url}?semaine={bf.WEEK}")
    assert page.status_code == 200 and "Réservations de la famille Martin" in page.text
    cantine = commune.activities["restauration"].id
    cell = soup(page.text).select_one(f"#cell-{lea.id}-{cantine}-{bf.MONDAY.isoformat()}")
    assert "Réserver" in cell.get_text()
    fragment = await client.get(f"{url}?semaine={bf.WEEK}", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="week-grid"' in fragment.text
    response = await post_form(
        client,
        url,
        {
            "enfant": lea.id,
            "activite": cantine,
            "jour": bf.MONDAY.isoformat(),
            "action": "reserver",
            "semaine": bf.WEEK,
        },
        from_page=f"{url}?semaine={bf.WEEK}",
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"{url}?semaine={bf.WEEK}")
    rows = await bf.booking_rows(lea.id)
    assert rows[0]["state"] == "reservee" and rows[0]["source"] == "agent"
    log = await AuditLog.select().where(AuditLog.family == family.id)
    assert [r["action"] for r in log] == ["booking_book"]
    # Another family's child through this family's URL: 404, nothing written.
    other, (awa,) = await bf.make_family_with_children(
        commune, code="F00002", name="Diallo", children=(("Awa", "CM2"),)
    )
    bad = await post_form(
        client,
        url,
        {
            "enfant": awa.id,
            "activite": cantine,
            "jour": bf.MONDAY.isoformat(),
            "action": "reserver",
            "semaine": bf.WEEK,
        },
        from_page=url,
    )
    assert bad.status_code == 404
    assert await Booking.count().where(Booking.child == awa.id) == 0
    assert (await client.get("/agents/familles/999999/reservations")).status_code == 404


async def test_the_kitchen_counts_the_school_shown_or_every_school(client):
    commune, family, (lea, hugo) = await setup(client)
    cantine = commune.activities["restauration"].id
    await services.book(lea.id, cantine, bf.MONDAY, family_id=family.id)
    pasteur = await factories.make_school("École Pasteur")
    other, (awa,) = await bf.make_family_with_children(
        commune, code="F00002", name="Diallo", children=(("Awa", "CM2"),)
    )
    await Child.update({Child.school: pasteur.id, Child.diet: "sans_porc"}).where(
        Child.id == awa.id
    )
    await services.book(awa.id, cantine, bf.MONDAY, family_id=other.id)
    day = bf.MONDAY.isoformat()
    every = soup((await client.get(f"/agents/effectifs?jour={day}")).text)
    kitchen = [li.get_text(" ", strip=True) for li in every.select("#kitchen-title + ul li")]
    assert kitchen == ["École Jules-Ferry : 1 repas", "École Pasteur : 1 repas, 1 sans porc"]
    one = soup((await client.get(f"/agents/effectifs?jour={day}&ecole={pasteur.id}")).text)
    kitchen = [li.get_text(" ", strip=True) for li in one.select("#kitchen-title + ul li")]
    assert kitchen == ["École Pasteur : 1 repas, 1 sans porc"]
    assert "Restauration scolaire – École Pasteur : 1 attendu" in one.get_text(" ", strip=True)
    assert "Jules-Ferry : 1 attendu" not in one.get_text(" ", strip=True)
