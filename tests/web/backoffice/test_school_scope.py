"""An agent limited to some schools sees only those schools' lists and the families with a
child there: the family list and search, the records (another school's family is a 404), the
contact change requests, the inscriptions, the effectifs and pointage (another school is a
404). The administrator sets the schools on the staff account; none means every school."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.auth.tables import StaffSchool, StaffUser
from ecp.booking.tables import Booking, Inscription
from ecp.families import search
from ecp.families.tables import ContactChangeRequest
from tests import factories
from tests.booking_factories import inscribe_child, make_commune
from tests.staff_factories import staff_client
from tests.support import post_form, soup

DAY = dt.date(2026, 11, 17)  # a Tuesday


async def _two_schools():
    """Jules-Ferry (the commune's) with the Martins, Pasteur with the Diallos; each child
    inscribed (waiting) and booked at the canteen on DAY; each family has a request."""
    commune = await make_commune()
    pasteur = await factories.make_school("École Pasteur")
    families = {}
    for code, name, school in (
        ("F00001", "Martin", commune.school),
        ("F00002", "Diallo", pasteur),
    ):
        family = await factories.make_family(code, name=name)
        await factories.make_guardian(family)
        child = await factories.make_child(
            family, "Léa" if name == "Martin" else "Awa", school=school
        )
        await inscribe_child(commune, child, "garderie_soir", status="en_attente")
        now = clock.now()
        await Booking(
            child=child.id,
            activity=commune.activities["restauration"].id,
            school=school.id,
            day=DAY,
            state="reservee",
            source="famille",
            created_at=now,
            updated_at=now,
        ).save()
        await ContactChangeRequest(
            family=family.id,
            changes={"city": {"before": "A", "after": "B"}},
            submitted_at=now,
        ).save()
        await search.reindex(family.id)
        families[name] = (family, child, school)
    return commune, families


async def _limited_agent(client, *schools):
    staff = await staff_client(client, "agent")
    for school in schools:
        await StaffSchool(staff=staff.id, school=school.id).save()
    return staff


async def test_a_limited_agent_sees_only_the_families_of_their_schools(client):
    commune, families = await _two_schools()
    await _limited_agent(client, commune.school)
    (martin, _, _), (diallo, awa, _) = families["Martin"], families["Diallo"]
    found = soup((await client.get("/agents/familles?q=f0000")).text)
    codes = {
        td.get_text(strip=True) for td in found.select("#family-results td, #family-results a")
    }
    assert any("F00001" in c for c in codes) and not any("F00002" in c for c in codes)
    hx = await client.get("/agents/familles?q=diallo", headers={"HX-Request": "true"})
    assert "F00002" not in hx.text
    assert (await client.get(f"/agents/familles/{martin.id}")).status_code == 200
    assert (await client.get(f"/agents/familles/{diallo.id}")).status_code == 404
    health = await client.get(f"/agents/familles/{diallo.id}/enfants/{awa.id}/sante")
    assert health.status_code == 404
    requests = await client.get("/agents/demandes")
    assert "Martin" in requests.text and "Diallo" not in requests.text
    inscriptions = await client.get("/agents/inscriptions")
    assert "Léa" in inscriptions.text and "Awa" not in inscriptions.text


async def test_a_limited_agent_points_only_their_schools(client):
    commune, families = await _two_schools()
    _, _, pasteur = families["Diallo"]
    await _limited_agent(client, commune.school)
    page = await client.get(f"/agents/effectifs?jour={DAY.isoformat()}")
    html = soup(page.text)
    options = [o.get_text() for o in html.select("#ecole option") if o.get("value")]
    assert options == ["École Jules-Ferry"]
    assert "Léa" in page.text and "Awa" not in page.text
    other = await client.get(f"/agents/effectifs?jour={DAY.isoformat()}&ecole={pasteur.id}")
    assert other.status_code == 404
    csv = await client.get(f"/agents/effectifs.csv?jour={DAY.isoformat()}&ecole={pasteur.id}")
    assert csv.status_code == 404
    own_csv = await client.get(f"/agents/effectifs.csv?jour={DAY.isoformat()}")
    assert "Léa" in own_csv.text and "Awa" not in own_csv.text
    activity = commune.activities["restauration"].id
    posted = await post_form(
        client,
        "/agents/effectifs",
        {"jour": DAY.isoformat(), "activite": str(activity), "ecole": str(pasteur.id)},
        from_page="/agents/effectifs",
    )
    assert posted.status_code == 404


async def test_an_agent_without_schools_sees_every_school(client):
    commune, families = await _two_schools()
    await staff_client(client, "agent")
    found = await client.get("/agents/familles?q=f0000")
    assert "F00001" in found.text and "F00002" in found.text
    assert (await client.get(f"/agents/familles/{families['Diallo'][0].id}")).status_code == 200
    # Several schools and none chosen: the day's sizes per school, each a link to its lists.
    page = await client.get(f"/agents/effectifs?jour={DAY.isoformat()}")
    pasteur = families["Diallo"][2]
    assert commune.school.name in page.text and pasteur.name in page.text
    for school, child in ((commune.school, "Léa"), (pasteur, "Awa")):
        lists = await client.get(f"/agents/effectifs?jour={DAY.isoformat()}&ecole={school.id}")
        assert child in lists.text


async def test_the_administrator_sets_an_accounts_schools(client, other_client):
    commune, families = await _two_schools()
    _, _, pasteur = families["Diallo"]
    await staff_client(client, "administrateur")
    member = await factories.make_staff("membre", role="agent", display_name="Membre")
    path = f"/agents/parametres/agents/{member.id}"
    page = soup((await client.get(path)).text)
    boxes = {b["value"]: b.get("checked") for b in page.select('input[name="ecoles"]')}
    assert boxes == {str(commune.school.id): None, str(pasteur.id): None}
    values = {"nom_affiche": "Membre", "role": "agent", "actif": "oui", "ecoles": [str(pasteur.id)]}
    saved = await post_form(client, path, values, from_page=path)
    assert saved.status_code == 303
    rows = await StaffSchool.select(StaffSchool.school).where(StaffSchool.staff == member.id)
    assert [r["school"] for r in rows] == [pasteur.id]
    page = soup((await client.get(path)).text)
    assert page.select_one(f'input[name="ecoles"][value="{pasteur.id}"]').has_attr("checked")
    entry = await AuditLog.select().where(AuditLog.action == "staff_account_changed").first()
    details = (
        entry["details"]
        if isinstance(entry["details"], dict)
        else __import__("json").loads(entry["details"])
    )
    assert details["ecoles"] == ["École Pasteur"]
    # A school that does not exist: 422, the boxes as they were sent.
    bad = await post_form(client, path, {**values, "ecoles": ["999"]}, from_page=path)
    assert bad.status_code == 422 and "Choisissez parmi les écoles proposées." in bad.text
    hx = await post_form(
        client, path, {**values, "ecoles": []}, from_page=path, headers={"HX-Request": "true"}
    )
    assert hx.status_code == 200 and hx.headers["hx-redirect"]
    assert await StaffSchool.count().where(StaffSchool.staff == member.id) == 0
    assert await StaffUser.count() == 2


async def test_a_role_refusal_says_what_the_role_lacks(client):
    await staff_client(client, "agent")
    refused = await client.get("/agents/parametres")
    assert refused.status_code == 403
    text = soup(refused.text).select_one("main").get_text(" ", strip=True)
    assert "réservée aux comptes de rôle « administrateur »" in text
    assert "Votre compte a le rôle « agent »" in text and "formulaire" not in text
    hx = await client.get("/agents/facturation", headers={"HX-Request": "true"})
    assert hx.status_code == 403 and "« régisseur » ou « administrateur »" in hx.text


async def test_no_link_shown_to_an_agent_answers_403(client):
    """The menu follows the role, and so do the pages' own links."""
    commune, families = await _two_schools()
    martin, lea, _ = families["Martin"]
    await staff_client(client, "agent")
    pages = [
        "/agents/",
        "/agents/familles?q=martin",
        f"/agents/familles/{martin.id}",
        "/agents/inscriptions",
        "/agents/demandes",
        f"/agents/effectifs?jour={DAY.isoformat()}",
        "/agents/courriels",
        "/agents/compte",
    ]
    links = set()
    for path in pages:
        page = await client.get(path)
        assert page.status_code == 200, path
        for a in soup(page.text).select("main a[href], nav a[href]"):
            href = a["href"].split("#")[0]
            if href.startswith("/agents") and not href.endswith(".csv"):
                links.add(href)
    assert len(links) > 10
    refused = [href for href in sorted(links) if (await client.get(href)).status_code == 403]
    assert refused == []


async def test_a_limited_agent_decides_only_for_their_schools(client):
    commune, families = await _two_schools()
    await _limited_agent(client, commune.school)
    (_, lea, _), (_, awa, _) = families["Martin"], families["Diallo"]
    theirs = await Inscription.select(Inscription.id).where(Inscription.child == awa.id).first()
    refused = await post_form(
        client,
        "/agents/inscriptions",
        {"inscriptions": str(theirs["id"]), "decision": "valider"},
        from_page="/agents/inscriptions",
    )
    assert refused.status_code == 404
    mine = await Inscription.select(Inscription.id).where(Inscription.child == lea.id).first()
    decided = await post_form(
        client,
        "/agents/inscriptions",
        {"inscriptions": str(mine["id"]), "decision": "valider"},
        from_page="/agents/inscriptions",
    )
    assert decided.status_code == 303
    statuses = {r["child"]: r["status"] for r in await Inscription.select()}
    assert statuses == {lea.id: "validee", awa.id: "en_attente"}
    other = (
        await ContactChangeRequest.select(ContactChangeRequest.id)
        .where(ContactChangeRequest.family == families["Diallo"][0].id)
        .first()
    )
    response = await post_form(
        client,
        f"/agents/demandes/{other['id']}",
        {"decision": "refuser", "motif": "Non"},
        from_page="/agents/demandes",
    )
    assert response.status_code == 404
    assert (
        await ContactChangeRequest.count().where(ContactChangeRequest.status == "en_attente") == 2
    )


async def test_a_limited_agents_effectifs_offer_no_other_school_nor_all_of_them(client):
    commune, _ = await _two_schools()
    await _limited_agent(client, commune.school)
    for headers in ({}, {"HX-Request": "true"}):
        page = await client.get(f"/agents/effectifs?jour={DAY.isoformat()}", headers=headers)
        assert page.status_code == 200
        if not headers:
            options = [o.get_text() for o in soup(page.text).select("#ecole option")]
            assert options == ["École Jules-Ferry"]
            assert "Toutes les écoles" not in page.text


async def test_an_unlimited_agent_is_still_offered_every_school(client):
    await _two_schools()
    await staff_client(client, "agent")
    page = soup((await client.get(f"/agents/effectifs?jour={DAY.isoformat()}")).text)
    options = [o.get_text() for o in page.select("#ecole option")]
    assert options == ["Toutes les écoles", "École Jules-Ferry", "École Pasteur"]


async def _invoice(family, number: str, cents: int) -> None:
    from ecp.invoices.tables import Invoice
    from ecp.payments.tables import Payment

    await Invoice(
        number=number,
        family=family.id,
        month=dt.date(2026, 10, 1),
        issued_at=clock.now(),
        due_on=dt.date(2026, 11, 10),
        total_cents=cents,
        paid_cents=0,
    ).save()
    await Payment(
        family=family.id, method="especes", amount_cents=100, received_at=clock.now()
    ).save()


def _figures(html) -> dict[str, str]:
    return {
        div.dt.get_text(" ", strip=True): div.dd.get_text(" ", strip=True).split(" ")[0]
        for div in html.select(".figures > div")
    }


async def test_a_limited_agents_dashboard_counts_their_schools_only(client):
    with clock.frozen(dt.datetime(2026, 11, 17, 9, 0, tzinfo=dt.UTC)):
        commune, families = await _two_schools()
        await _invoice(families["Martin"][0], "FAC-2026-000001", 3000)
        await _invoice(families["Diallo"][0], "FAC-2026-000002", 7000)
        await _limited_agent(client, commune.school)
        page = await client.get("/agents/")
        assert page.status_code == 200
        html = soup(page.text)
        assert html.select_one("#dashboard-scope").get_text() == "Écoles : École Jules-Ferry."
        figures = _figures(html)
        assert figures["Familles actives"] == "1" and figures["Enfants"] == "1"
        assert figures["Réservations aujourd’hui"] == "1"
        assert figures["Inscriptions à valider"] == "1"
        assert figures["Demandes de changement en attente"] == "1"
        assert figures["Factures en retard"] == "1"
        assert "30\u00a0€" in html.select_one(".figures").get_text()
        today = html.select_one("#today-title").find_parent("section").get_text(" ")
        assert "Jules-Ferry" in today and "Pasteur" not in today
        heat = html.select_one("#occupancy-caption").find_parent("table").get_text(" ")
        assert "Jules-Ferry" in heat and "Pasteur" not in heat
        monthly = html.select_one("#monthly-caption").find_parent("table").get_text(" ")
        assert "30,00" in monthly and "100,00" not in monthly and "70,00" not in monthly
        weekly = html.select_one("#weekly-caption").find_parent("table")
        assert [td.get_text(strip=True) for td in weekly.select("tbody tr")[-1].select("td")][
            0
        ] == "1"
        fragment = await client.get("/agents/", headers={"HX-Request": "true"})
        assert "Pasteur" not in fragment.text and "<html" not in fragment.text


async def test_an_unlimited_agents_dashboard_counts_every_school(client):
    with clock.frozen(dt.datetime(2026, 11, 17, 9, 0, tzinfo=dt.UTC)):
        await _two_schools()
        await staff_client(client, "agent")
        html = soup((await client.get("/agents/")).text)
        assert html.select_one("#dashboard-scope") is None
        figures = _figures(html)
        assert figures["Familles actives"] == "2" and figures["Enfants"] == "2"
        assert figures["Réservations aujourd’hui"] == "2"
        assert figures["Inscriptions à valider"] == "2"
        assert figures["Demandes de changement en attente"] == "2"
        today = html.select_one("#today-title").find_parent("section").get_text(" ")
        assert "Jules-Ferry" in today and "Pasteur" in today
