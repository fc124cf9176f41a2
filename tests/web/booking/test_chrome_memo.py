"""The page chrome (header, menu, session warning, footer) is memoised per exact inputs: a change
of the viewer (the family renamed by the service) or of the address shows at once."""

from __future__ import annotations

from ecp import clock
from ecp.families.tables import Family
from tests import booking_factories as bf
from tests.support import login_family, soup


async def test_the_header_follows_the_viewer_and_the_menu_the_address(client):
    clock.set_now(bf.NOW)
    commune = await bf.make_commune()
    family, _kids = await bf.make_family_with_children(commune)
    await login_family(client)
    with clock.frozen(bf.NOW):
        first = soup((await client.get("/famille/reservations")).text)
        await Family.update({Family.name: "Martin-Durand"}).where(Family.id == family.id)
        renamed = soup((await client.get("/famille/reservations")).text)
        invoices = soup((await client.get("/famille/factures")).text)
    before = first.select_one(".account-name").get_text(strip=True)
    assert before != "Famille Martin-Durand"
    assert renamed.select_one(".account-name").get_text(strip=True) == "Famille Martin-Durand"
    current = [a.get_text(strip=True) for a in invoices.select(".main-nav a[aria-current=page]")]
    assert current == ["Factures"]
    assert [a.get_text(strip=True) for a in renamed.select(".main-nav a[aria-current]")] == [
        "Réservations"
    ]
