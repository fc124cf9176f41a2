"""/agents/paiements/rapprochement: the régisseur's view of attempts, notifications, anomalies."""

from __future__ import annotations

from tests.factories import make_staff
from tests.payments_factories import ipn_query
from tests.support import login_staff, soup
from tests.web.payments.helpers import family_with_invoices, login_family, started_reference

URL = "/agents/paiements/rapprochement"


async def busy_day(family_client):
    _, invoices = await family_with_invoices(4250, 1500)
    await login_family(family_client)
    ref = await started_reference(family_client, invoices[:1])
    other = await started_reference(family_client, invoices[1:])
    for raw in (
        ipn_query(ref, 4250, trans="1"),
        ipn_query(ref, 4250, trans="1"),
        ipn_query(ref, 4250, trans="2"),
        ipn_query(other, 999),
        ipn_query(other, 1500)[:-10],
    ):
        await family_client.get(f"/paiement/paybox/ipn?{raw.decode()}")
    return ref, other


async def test_regisseur_sees_attempts_notifications_and_anomalies(client, other_client):
    ref, other = await busy_day(other_client)
    await make_staff(username="regie", role="regisseur")
    await login_staff(client, "regie")
    response = await client.get(URL)
    assert response.status_code == 200 and "<html" in response.text
    page = soup(response.text)
    assert page.h1.text == "Rapprochement des paiements par carte"
    body = page.select_one("#reconciliation-tables").text
    assert ref in body and other in body
    anomalies = page.find("h2", string="Anomalies à vérifier").find_next("ul").text
    assert "trop-perçu à traiter" in anomalies  # the second success (transaction 2)
    assert "montant différent" in anomalies and "signature invalide" in anomalies
    assert "doublon" in body
    figures = page.select_one(".figures").text
    assert "2 paiements par carte : 85,00" in figures and "42,50" in figures


async def test_fragment_and_bad_period(client):
    await make_staff(username="regie", role="regisseur")
    await login_staff(client, "regie")
    fragment = await client.get(f"{URL}?jours=30", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert soup(fragment.text).select_one("#reconciliation-tables") is not None
    assert "HX-Request" in fragment.headers["vary"]
    bad = await client.get(f"{URL}?jours=abc")
    assert bad.status_code == 422
    page = soup(bad.text)
    assert page.title.text.startswith("Erreur : ")
    assert [a["href"] for a in page.select(".error-summary a")] == ["#jours"]


async def test_plain_agent_is_refused_and_family_does_not_see_it(client, other_client):
    await make_staff(username="agent1", role="agent")
    await login_staff(client, "agent1")
    assert (await client.get(URL)).status_code == 403
    await family_with_invoices(4250)
    await login_family(other_client)
    assert (await other_client.get(URL)).status_code == 404
