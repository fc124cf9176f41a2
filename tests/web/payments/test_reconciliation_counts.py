"""The reconciliation figures agree with their counts: « 0 paiement », never « 0 paiements »."""

from __future__ import annotations

from tests.factories import make_staff
from tests.support import login_staff, soup

URL = "/agents/paiements/rapprochement"


async def test_a_quiet_day_reads_in_the_singular(client):
    await make_staff(username="regie", role="regisseur")
    await login_staff(client, "regie")
    response = await client.get(URL)
    assert response.status_code == 200
    figures = soup(response.text).select_one(".figures").get_text(" ", strip=True)
    assert "0 paiement par carte" in figures and "0 paiements" not in figures
    assert "0 tentative, 0 confirmée" in figures
