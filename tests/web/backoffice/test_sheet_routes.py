"""The paper of a school's day: feuilles d'émargement per activity and class (diet and PAI
columns, arrival, departure and signature boxes) and the kitchen sheet (menus standard, sans
porc, sans viande, PAI, adults), A4 PDFs, each print journalled."""

from __future__ import annotations

import datetime as dt
import io
import json

from pypdf import PdfReader

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.backoffice import sheets
from ecp.booking import services
from ecp.families.tables import Child
from tests import booking_factories as bf
from tests import factories
from tests.support import error_summary_links, login_family, login_staff, post_form, soup

DAY = bf.MONDAY.isoformat()


async def setup(client, login=True):
    clock.set_now(bf.NOW)
    commune = await bf.make_commune()
    family, (lea, hugo) = await bf.make_family_with_children(commune)
    other, (awa,) = await bf.make_family_with_children(
        commune, code="F00002", name="Diallo", children=(("Awa", "CM2"),)
    )
    await Child.update({Child.diet: "sans_porc"}).where(Child.id == lea.id)
    await Child.update({Child.has_allergy: True}).where(Child.id == hugo.id)
    await Child.update({Child.diet: "sans_viande"}).where(Child.id == awa.id)
    cantine = commune.activities["restauration"].id
    for kid, fam in ((lea, family), (hugo, family), (awa, other)):
        await services.book(kid.id, cantine, bf.MONDAY, family_id=fam.id)
    await factories.make_staff()
    if login:
        await login_staff(client)
    return commune, cantine


def details(row) -> dict:
    value = row["details"]
    return json.loads(value) if isinstance(value, str) else value


async def test_kitchen_counts_by_menu():
    clock.set_now(bf.NOW)
    commune = await bf.make_commune()
    family, (lea, hugo) = await bf.make_family_with_children(commune)
    await Child.update({Child.has_allergy: True, Child.diet: "sans_porc"}).where(
        Child.id == hugo.id
    )
    cantine = commune.activities["restauration"].id
    for kid in (lea, hugo):
        await services.book(kid.id, cantine, bf.MONDAY, family_id=family.id)
    counts = await sheets.kitchen_counts(bf.MONDAY, commune.school.id)
    # Hugo has a PAI: counted as PAI only, not as « sans porc ».
    assert counts["menus"] == [("Standard", 1), ("Sans porc", 0), ("Sans viande", 0)]
    assert (counts["pai"], counts["meals"]) == (1, 2)
    assert await sheets.kitchen_counts(bf.MONDAY, 999999) is None


async def test_attendance_sheets_pdf_is_a4_and_journalled(client):
    commune, cantine = await setup(client)
    page = soup((await client.get(f"/agents/effectifs?jour={DAY}&ecole={commune.school.id}")).text)
    link = page.find("a", string="Feuilles d’émargement (PDF, A4)")
    assert link["href"] == (
        f"/agents/effectifs/emargement.pdf?jour={DAY}&ecole={commune.school.id}&activite={cantine}"
    )
    response = await client.get(link["href"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    pdf = PdfReader(io.BytesIO(response.content))
    # A4 portrait (595 × 842 points), one page per class.
    assert {(round(p.mediabox.width), round(p.mediabox.height)) for p in pdf.pages} == {(595, 842)}
    assert len(pdf.pages) == 3
    assert "Restauration scolaire – École Jules-Ferry – classe CE1" in pdf.pages[0].extract_text()
    log = await AuditLog.select().where(AuditLog.action == "feuilles_emargement_imprimees")
    assert len(log) == 1
    # One sheet per class: Léa's CE1 and Hugo's MS and Awa's CM2 (levels, no class set).
    assert details(log[0]) == {"jour": DAY, "activite": cantine, "feuilles": 3, "enfants": 3}
    html = (
        sheets.environment()
        .get_template("pdf/emargement.html")
        .render(
            day=bf.MONDAY,
            school="École Jules-Ferry",
            sheets=[
                {
                    "activity": "Restauration scolaire",
                    "class": "CE1",
                    "children": [
                        {
                            "last_name": "Martin",
                            "first_name": "Léa",
                            "class_name": None,
                            "level": "CE1",
                            "diet": "sans_porc",
                            "allergy": True,
                            "state": "reservee",
                            "arrived": dt.time(11, 40),
                            "departed": None,
                        }
                    ],
                }
            ],
            diets=sheets.DIETS,
            printed_at=clock.now(),
            commune_name="Villebelle",
        )
    )
    cells = [td.get_text(strip=True) for td in soup(html).select("tbody td")]
    assert cells == ["Martin Léa", "CE1", "Sans porc", "PAI", "11:40", "", ""]
    headers = [th.get_text() for th in soup(html).select("thead th")]
    assert headers == ["Nom et prénom", "Classe", "Régime", "PAI", "Arrivée", "Départ", "Signature"]
    assert (await client.get("/agents/effectifs/emargement.pdf?jour=x&ecole=1")).status_code == 404
    missing = await client.get(f"/agents/effectifs/emargement.pdf?jour={DAY}&ecole=999999")
    assert missing.status_code == 404


async def test_kitchen_sheet_page_422_and_pdf(client):
    commune, cantine = await setup(client)
    url = f"/agents/effectifs/cuisine?jour={DAY}&ecole={commune.school.id}"
    page = await client.get(url)
    assert page.status_code == 200
    s = soup(page.text)
    assert s.title.get_text().startswith("Fiche cuisine du 7 décembre 2026 – École Jules-Ferry")
    rows = [
        [c.get_text(" ", strip=True) for c in tr.select("th, td")] for tr in s.select("tbody tr")
    ]
    assert rows == [
        ["Standard", "0"],
        ["Sans porc", "1"],
        ["Sans viande", "1"],
        ["PAI (allergie : voir le protocole)", "1"],
        ["Total enfants", "3"],
    ]
    assert s.select_one("#adultes")["value"] == "0"
    fields = {"jour": DAY, "ecole": commune.school.id}
    bad = await post_form(
        client, "/agents/effectifs/cuisine", fields | {"adultes": "trois"}, from_page=url
    )
    assert bad.status_code == 422
    b = soup(bad.text)
    assert b.title.get_text().startswith("Erreur : ")
    assert error_summary_links(bad.text) == ["#adultes"]
    assert "nombre entier de 0 à 500" in b.select_one("#adultes-error").get_text()
    assert b.select_one("#adultes")["value"] == "trois"
    assert await AuditLog.count().where(AuditLog.action == "fiche_cuisine_imprimee") == 0
    response = await post_form(
        client, "/agents/effectifs/cuisine", fields | {"adultes": "4"}, from_page=url
    )
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    pdf = PdfReader(io.BytesIO(response.content))
    assert [(round(p.mediabox.width), round(p.mediabox.height)) for p in pdf.pages] == [(595, 842)]
    text = pdf.pages[0].extract_text()
    assert "Adultes" in text and "Sans viande" in text
    log = await AuditLog.select().where(AuditLog.action == "fiche_cuisine_imprimee")
    assert details(log[0]) == {"jour": DAY, "repas_enfants": 3, "adultes": 4}
    # CSRF, unknown school, families.
    no_token = await client.post("/agents/effectifs/cuisine", data=fields | {"adultes": "1"})
    assert no_token.status_code == 403
    gone = await post_form(
        client,
        "/agents/effectifs/cuisine",
        {"jour": DAY, "ecole": "999999", "adultes": "1"},
        from_page=url,
    )
    assert gone.status_code == 404
    assert (
        await client.get(f"/agents/effectifs/cuisine?jour={DAY}&ecole=999999")
    ).status_code == 404
    client.cookies.clear()
    await login_family(client)
    assert (await client.get(url)).status_code == 404
    assert (
        await client.get(f"/agents/effectifs/emargement.pdf?jour={DAY}&ecole={commune.school.id}")
    ).status_code == 404
