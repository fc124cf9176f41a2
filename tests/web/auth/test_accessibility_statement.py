"""The accessibility statement (/accessibilite) in the official model, and the status it shares
with the home page and the footer (Settings.accessibility_status, « non conforme » without an
audit)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ecp.commune.tables import CommuneSettings
from ecp.pages.routes import SELF_AUDIT
from tests.support import soup


async def statement(client) -> tuple[str, list[str]]:
    response = await client.get("/accessibilite")
    assert response.status_code == 200
    page = soup(response.text)
    headings = [h.get_text(" ", strip=True) for h in page.select("main h2, main h3")]
    return page.select_one("main").get_text(" ", strip=True), headings


async def test_the_statement_follows_the_official_model(client):
    text, headings = await statement(client)
    assert headings == [
        "État de conformité",
        "Résultats des tests",
        "Contenus non accessibles",
        "Non-conformités",
        "Dérogations pour charge disproportionnée",
        "Contenus non soumis à l’obligation d’accessibilité",
        "Établissement de cette déclaration d’accessibilité",
        "Technologies utilisées pour la réalisation du Portail Famille",
        "Environnement de test",
        "Outils pour évaluer l’accessibilité",
        "Pages du site ayant fait l’objet de la vérification de conformité",
        "Retour d’information et contact",
        "Voies de recours",
    ]
    assert "article 47 de la loi n° 2005-102 du 11 février 2005" in text
    assert "est non conforme avec le référentiel général d’amélioration" in text
    assert "n’a encore fait l’objet d’aucun audit de conformité" in text
    assert "Cette déclaration a été établie le 1er décembre 2026." in text


RGAA = Path(__file__).resolve().parents[3] / "docs" / "rgaa.md"


async def test_the_statement_claims_no_absence_of_defects_and_lists_them(client):
    text, _ = await statement(client)
    assert "Aucun défaut" not in text and "partiellement conforme" not in text
    # The criteria docs/rgaa.md finds non conformes are each named, and only they.
    rows = re.findall(
        r"^\| (\d+\.\d+) \| [^|]+ \| (C|NC|NA) \|", RGAA.read_text(encoding="utf-8"), re.M
    )
    assert len(rows) == 106
    named = set(re.findall(r"critères? (\d+\.\d+)|et (\d+\.\d+)\)", text))
    named = {a or b for a, b in named}
    assert named == {n for n, status in rows if status == "NC"}
    applicable = SELF_AUDIT["conformes"] + SELF_AUDIT["non_conformes"]
    assert (
        f"{SELF_AUDIT['conformes']} critères respectés sur {applicable} applicables, soit 92 %"
    ) in text
    assert "ce chiffre n’est pas un taux de conformité" in text
    assert "Aucune dérogation n’est invoquée." in text
    assert "page de paiement par carte bancaire, hébergée par la banque" in text
    assert "n’ont pas encore été faites" in text  # screen readers: said, not hidden
    assert "au plus tard 12 heures après son ouverture" in text


async def test_the_recourse_names_the_defenseur_des_droits(client):
    response = await client.get("/accessibilite")
    page = soup(response.text)
    text = page.select_one("main").get_text(" ", strip=True)
    links = {a["href"] for a in page.select("main a")}
    assert "https://formulaire.defenseurdesdroits.fr/" in links
    assert "https://www.defenseurdesdroits.fr/saisir/delegues" in links
    assert "Défenseur des droits, Libre réponse 71120, 75342 Paris CEDEX 07" in text
    assert "gratuit, ne pas mettre de timbre" in text


@pytest.mark.parametrize("path", ["/", "/accessibilite", "/mentions-legales"])
async def test_one_status_on_the_home_page_the_footer_and_the_statement(client, path):
    page = soup((await client.get(path)).text)
    footer = page.select_one("footer a[href='/accessibilite']").get_text(" ", strip=True)
    assert footer == "Accessibilité : non conforme"


async def test_the_contact_uses_the_communes_details(client):
    await CommuneSettings(
        service_name="Service Enfance",
        email="enfance@villebelle.fr",
        phone="01 23 45 67 89",
        address="1 place de la Mairie, 78999 Villebelle",
    ).save()
    text, _ = await statement(client)
    assert "par courriel : enfance@villebelle.fr" in text
    assert "par téléphone : 01 23 45 67 89" in text
    assert "par courrier : Service Enfance, 1 place de la Mairie, 78999 Villebelle" in text


async def test_the_statement_fragment_for_htmx(client):
    response = await client.get("/accessibilite", headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.headers["vary"] == "HX-Request"
