"""/agents/paiements/rapprochement/tentatives/<id>: the régisseur settles a card attempt Paybox
said nothing about, from its back office, with and without JavaScript; the notification that
arrives afterwards, signed as Paybox signs it, records nothing twice."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.invoices.tables import Invoice
from ecp.payments.tables import Payment, PaymentAttempt, PaymentNotification
from tests.factories import make_staff
from tests.payments_factories import ipn_query
from tests.support import error_summary_links, login_staff, post_form, soup
from tests.web.payments.helpers import (
    attempt_status,
    family_with_invoices,
    login_family,
    started_reference,
)

IPN = "/paiement/paybox/ipn"
RECONCILIATION = "/agents/paiements/rapprochement"
T0 = dt.datetime(2026, 11, 30, 18, 0, tzinfo=clock.PARIS)
LATER = T0 + dt.timedelta(hours=1, minutes=5)  # past the window, before the expiry job


async def _without_news(family_client, staff_client, *totals):
    clock.set_now(T0)
    _, invoices = await family_with_invoices(*(totals or (4250,)))
    await login_family(family_client)
    reference = await started_reference(family_client, invoices)
    clock.set_now(LATER)
    await make_staff(username="regie", role="regisseur", display_name="Régie")
    await login_staff(staff_client, "regie")
    attempt = await PaymentAttempt.select().where(PaymentAttempt.reference == reference).first()
    return invoices, reference, attempt["id"]


def _url(attempt_id: int) -> str:
    return f"{RECONCILIATION}/tentatives/{attempt_id}"


async def _paid_cents(invoice) -> int:
    row = await Invoice.select(Invoice.paid_cents).where(Invoice.id == invoice.id).first()
    return row["paid_cents"]


async def test_the_attempt_without_news_is_listed_with_its_age_and_a_way_to_settle_it(
    client, other_client
):
    _, reference, attempt_id = await _without_news(other_client, client)
    page = soup((await client.get(RECONCILIATION)).text)
    item = next(
        li
        for li in page.find("h2", string="Anomalies à vérifier").find_next("ul").find_all("li")
        if reference in li.text
    )
    assert "il y a 1 h 05" in item.text
    assert item.a["href"] == _url(attempt_id)
    assert page.select_one("a[href='/agents/facturation/anomalies']") is not None

    response = await client.get(_url(attempt_id))
    assert response.status_code == 200 and "<html" in response.text
    detail = soup(response.text)
    assert detail.h1.get_text() == "Tentative de paiement par carte"
    assert reference in detail.select_one(".figures").get_text()
    assert "42,50" in detail.select_one(".figures").get_text()
    assert [i["value"] for i in detail.select("input[name=resultat]")] == ["payee", "echouee"]
    # A native date input: its value is ISO, whatever the family's locale shows.
    assert detail.select_one("#date")["value"] == "2026-11-30"
    fragment = await client.get(_url(attempt_id), headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert soup(fragment.text).select_one("#attempt-resolution") is not None
    assert fragment.headers["vary"] == "HX-Request"


async def test_paid_without_javascript_then_the_signed_notification_records_nothing_twice(
    client, other_client
):
    invoices, reference, attempt_id = await _without_news(other_client, client)
    response = await post_form(
        client,
        _url(attempt_id),
        {"resultat": "payee", "transaction": "612345", "date": "30/11/2026", "note": ""},
        from_page=_url(attempt_id),
    )
    assert response.status_code == 303 and response.headers["location"] == RECONCILIATION
    page = await client.get(RECONCILIATION)
    assert f"Paiement de 42,50\u00a0€ enregistré pour la tentative {reference}" in page.text
    assert await Payment.count() == 1 and await _paid_cents(invoices[0]) == 4250
    assert await attempt_status(reference) == "payee"
    row = next(tr for tr in soup(page.text).select("table tr") if reference in tr.text)
    assert "confirmé (constaté par la régie)" in row.text and "constater" not in row.text
    assert await AuditLog.count().where(AuditLog.action == "paiement_carte_constate") == 1

    # Paybox's notification arrives after all, signed with its key, three times.
    raw = ipn_query(reference, 4250, trans="612345")
    for _ in range(3):
        answer = await other_client.get(f"{IPN}?{raw.decode()}", headers={"cookie": ""})
        assert answer.status_code == 200 and answer.text == "OK"
    assert await Payment.count() == 1 and await _paid_cents(invoices[0]) == 4250
    outcomes = {r["outcome"] for r in await PaymentNotification.select()}
    assert outcomes == {"confirmee"}
    table = soup((await client.get(RECONCILIATION)).text).select_one("#reconciliation-tables")
    assert "confirme le paiement constaté par la régie" in table.text

    # One that disagrees (another transaction) is flagged and records nothing.
    other = ipn_query(reference, 4250, trans="999999")
    await other_client.get(f"{IPN}?{other.decode()}", headers={"cookie": ""})
    assert await Payment.count() == 1
    anomalies = (
        soup((await client.get(RECONCILIATION)).text)
        .find("h2", string="Anomalies à vérifier")
        .find_next("ul")
        .text
    )
    assert "diffère du résultat constaté par la régie" in anomalies and "999999" in anomalies


async def test_failed_with_htmx_is_told_to_go_back_to_the_reconciliation(client, other_client):
    invoices, reference, attempt_id = await _without_news(other_client, client)
    response = await post_form(
        client,
        _url(attempt_id),
        {"resultat": "echouee", "note": "Aucune transaction au back-office"},
        from_page=_url(attempt_id),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and response.headers["hx-redirect"] == RECONCILIATION
    assert await attempt_status(reference) == "erreur" and await Payment.count() == 0
    page = soup((await client.get(RECONCILIATION)).text)
    assert "close en échec" in page.select_one("#flash").text
    assert reference not in page.find("h2", string="Anomalies à vérifier").find_next().text
    # The family reads it in its history, and may pay again.
    await login_family(other_client)
    history = soup((await other_client.get("/famille/paiements")).text)
    assert "échoué (constaté par la régie)" in history.select_one("#payment-history").text
    assert await started_reference(other_client, invoices) != reference


async def test_bad_input_is_422_with_the_values_kept(client, other_client):
    _, reference, attempt_id = await _without_news(other_client, client)
    response = await post_form(
        client,
        _url(attempt_id),
        {"resultat": "payee", "transaction": "", "date": "31/11/2026", "note": "appel"},
        from_page=_url(attempt_id),
    )
    assert response.status_code == 422
    page = soup(response.text)
    assert page.title.get_text().startswith("Erreur : ")
    assert error_summary_links(response.text) == ["#date"]
    assert page.select_one("#resultat").has_attr("checked")
    assert page.select_one("#date")["value"] == "31/11/2026"
    assert page.select_one("#note").text == "appel"
    missing = await post_form(
        client,
        _url(attempt_id),
        {"resultat": "payee", "date": "30/11/2026"},
        from_page=_url(attempt_id),
        headers={"HX-Request": "true"},
    )
    assert missing.status_code == 422 and "<html" not in missing.text
    assert error_summary_links(missing.text) == ["#transaction"]
    before = await post_form(
        client,
        _url(attempt_id),
        {"resultat": "payee", "transaction": "1", "date": "29/11/2026"},
        from_page=_url(attempt_id),
    )
    assert before.status_code == 422  # before the attempt began: the service says so
    assert "ne peut pas être antérieur" in soup(before.text).select_one("#date-error").text
    nothing = await post_form(client, _url(attempt_id), {}, from_page=_url(attempt_id))
    assert nothing.status_code == 422 and error_summary_links(nothing.text) == ["#resultat"]
    assert await Payment.count() == 0 and await attempt_status(reference) == "en_attente"


async def test_a_settled_attempt_is_409_and_shows_how_it_stands(client, other_client):
    _, reference, attempt_id = await _without_news(other_client, client)
    await other_client.get(
        f"{IPN}?{ipn_query(reference, 4250, trans='5').decode()}", headers={"cookie": ""}
    )
    response = await post_form(
        client, _url(attempt_id), {"resultat": "echouee"}, from_page=RECONCILIATION
    )
    assert response.status_code == 409
    page = soup(response.text)
    assert "Cette tentative a déjà été réglée" in page.select_one("#attempt-problem").text
    assert page.select("input[name=resultat]") == []
    assert "Rien à constater" in page.text
    assert await attempt_status(reference) == "payee" and await Payment.count() == 1


async def test_unknown_attempt_404_csrf_403_and_roles(client, other_client):
    _, reference, attempt_id = await _without_news(other_client, client)
    assert (await client.get(_url(999))).status_code == 404
    unknown = await post_form(client, _url(999), {"resultat": "echouee"}, from_page=RECONCILIATION)
    assert unknown.status_code == 404
    forged = await post_form(client, _url(attempt_id), {"resultat": "echouee"}, csrf=False)
    assert forged.status_code == 403
    # The family that started it sees no staff page.
    await login_family(other_client)
    assert (await other_client.get(_url(attempt_id))).status_code == 404
    await make_staff(username="agent1", role="agent")
    client.cookies.clear()
    await login_staff(client, "agent1")
    assert (await client.get(_url(attempt_id))).status_code == 403
    refused = await post_form(
        client, _url(attempt_id), {"resultat": "echouee"}, from_page="/agents/"
    )
    assert refused.status_code == 403
    assert await attempt_status(reference) == "en_attente"
