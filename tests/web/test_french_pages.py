"""French on the pages, through ecp.web.french: agreement of the inscriptions' heading,
elision before a first name, no agreement with an activity's unknown gender."""

from __future__ import annotations

from tests import factories
from tests.booking_factories import inscribe_child, make_commune
from tests.staff_factories import staff_client
from tests.support import soup


async def test_inscription_headings_agree_and_names_elide(client):
    commune = await make_commune()
    family = await factories.make_family("F00001")
    ines = await factories.make_child(family, "Inès", school=commune.school)
    await inscribe_child(commune, ines, "garderie_soir", status="refusee")
    await inscribe_child(commune, ines, "restauration", status="en_attente")
    await staff_client(client, "agent")
    refused = soup((await client.get("/agents/inscriptions?statut=refusee")).text)
    assert (
        refused.select_one("#inscription-results-title").get_text() == "Inscriptions refusées (1)"
    )
    assert refused.title.get_text().startswith("Inscriptions refusées")
    waiting = soup((await client.get("/agents/inscriptions")).text)
    assert waiting.select_one("#inscription-results-title").get_text() == (
        "Inscriptions en attente (1)"
    )
    hidden = [s.get_text() for s in waiting.select("#inscription-results .visually-hidden")]
    assert any("l’inscription d’Inès " in h for h in hidden), hidden
    health = await client.get(f"/agents/familles/{family.id}")
    assert "informations de santé d’Inès" in health.text
    assert "santé de Inès" not in health.text
