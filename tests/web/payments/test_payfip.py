"""PayFiP beside Paybox: the family chooses, one invoice per payment, the SOAP exchange with the
local simulator (creerPaiementSecurise, recupererDetailPaiementSecurise), and only the detail
answer marks anything paid; duplicate, late and forged notifications record nothing more."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from ecp import clock
from ecp.invoices.tables import Invoice
from ecp.payments import payfip, payfip_services, payfip_simulator
from ecp.payments.tables import (
    PayfipOperation,
    PayfipSimulatorOperation,
    Payment,
    PaymentAttempt,
    PaymentNotification,
    RefusedNotification,
)
from tests.support import csrf_from, error_summary_links, post_form, soup
from tests.web.payments.helpers import family_with_invoices, login_family

REF_RE = re.compile(r"/famille/paiements/(ECP-[A-Za-z0-9_-]+)$")


@pytest.fixture
def payfip_settings(simulator_settings):
    return simulator_settings.with_(payment_providers=("paybox", "payfip"))


@pytest.fixture
async def pf_client(payfip_settings, app_for):
    from tests.conftest import make_client

    app = app_for(payfip_settings)
    async with make_client(app) as c:
        c.app = app
        yield c


async def start_payfip(client, invoices, headers=None):
    return await post_form(
        client,
        "/famille/paiements",
        {"factures": [str(i.id) for i in invoices], "moyen": "payfip"},
        from_page="/famille/paiements",
        headers=headers,
    )


async def payfip_reference(client, invoices) -> str:
    response = await start_payfip(client, invoices)
    assert response.status_code == 303, response.text[:800]
    return REF_RE.search(response.headers["location"]).group(1)


async def to_payfip_page(client, reference):
    """The attempt page's button: our route asks the simulator for an idOp (SOAP), then the
    browser is sent to the simulator's payment page."""
    page = await client.get(f"/famille/paiements/{reference}")
    form = soup(page.text).find("button", string="Continuer vers le paiement sécurisé")
    action = form.find_parent("form")["action"]
    assert action == f"/famille/paiements/{reference}/payfip"
    response = await client.post(
        action, data={"_csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303, response.text[:500]
    location = response.headers["location"]
    assert urlsplit(location).path == payfip.SIMULATOR_PAGE_PATH
    return parse_qs(urlsplit(location).query)["idop"][0], location


async def choose(client, location, choice, notification="normal"):
    page = await client.get(location)
    assert page.status_code == 200
    id_op = parse_qs(urlsplit(location).query)["idop"][0]
    return await client.post(
        payfip.SIMULATOR_PAGE_PATH,
        data={
            "_csrf_token": csrf_from(page.text),
            "idop": id_op,
            "choix": choice,
            "notification": notification,
        },
        follow_redirects=False,
    )


async def paid(invoice) -> int:
    row = await Invoice.select(Invoice.paid_cents).where(Invoice.id == invoice.id).first()
    return row["paid_cents"]


async def status(reference) -> str:
    row = (
        await PaymentAttempt.select(PaymentAttempt.status)
        .where(PaymentAttempt.reference == reference)
        .first()
    )
    return row["status"]


async def test_the_family_chooses_between_paybox_and_payfip(pf_client):
    await family_with_invoices(4250)
    await login_family(pf_client)
    page = soup((await pf_client.get("/famille/paiements")).text)
    radios = page.select("input[name=moyen]")
    assert [r["value"] for r in radios] == ["paybox", "payfip"]
    assert "PayFiP" in page.select_one("#invoice-choice").text


async def test_payfip_offers_one_invoice_at_a_time_and_says_so(pf_client):
    _, invoices = await family_with_invoices(4250, 1000)
    await login_family(pf_client)
    response = await start_payfip(pf_client, invoices)
    assert response.status_code == 422
    assert "une facture par paiement" in response.text
    assert error_summary_links(response.text) == ["#factures"]
    page = soup(response.text)
    assert page.select_one("input[name=moyen][value=payfip]").has_attr("checked")
    assert await PaymentAttempt.count() == 0
    # One at a time works.
    assert (await start_payfip(pf_client, invoices[:1])).status_code == 303


async def test_an_unknown_provider_is_a_422_when_both_are_offered(pf_client):
    _, invoices = await family_with_invoices(4250)
    await login_family(pf_client)
    response = await post_form(
        pf_client,
        "/famille/paiements",
        {"factures": [str(invoices[0].id)], "moyen": "bitcoin"},
        from_page="/famille/paiements",
    )
    assert response.status_code == 422
    assert "Choisissez comment payer." in response.text
    assert error_summary_links(response.text) == ["#moyen"]


async def test_success_is_recorded_only_from_the_detail_answer(pf_client):
    _, invoices = await family_with_invoices(4250)
    await login_family(pf_client)
    reference = await payfip_reference(pf_client, invoices)
    attempt = await PaymentAttempt.select().where(PaymentAttempt.reference == reference).first()
    assert attempt["provider"] == "payfip"
    id_op, location = await to_payfip_page(pf_client, reference)
    operation = await PayfipOperation.select().first()
    assert operation["id_op"] == id_op and operation["refdet"].endswith(f"T{attempt['id']}")
    simulated = await payfip_simulator.operation(id_op)
    assert simulated["montant"] == 4250 and simulated["saisie"] == "T"
    assert simulated["urlnotif"].endswith("/paiement/payfip/notification")
    response = await choose(pf_client, location, "payer", notification="aucune")
    # No notification: the browser's return makes the portal ask PayFiP itself.
    assert response.headers["location"] == f"/famille/paiements/{reference}/payfip/retour"
    assert await paid(invoices[0]) == 0
    back = await pf_client.get(response.headers["location"], follow_redirects=False)
    assert back.headers["location"] == f"/famille/paiements/{reference}/retour/effectue"
    assert await paid(invoices[0]) == 4250
    page = await pf_client.get(back.headers["location"])
    assert "Paiement confirmé" in page.text
    payment = await Payment.select().first()
    assert payment["provider_transaction"] == id_op and payment["method"] == "carte"
    assert "PayFiP" in payment["note"]
    note = await PaymentNotification.select().first()
    assert note["outcome"] == "payee" and note["raw_query"].startswith("payfip idop=")


async def test_fifty_notifications_record_one_payment(pf_client):
    _, invoices = await family_with_invoices(4250)
    await login_family(pf_client)
    reference = await payfip_reference(pf_client, invoices)
    id_op, location = await to_payfip_page(pf_client, reference)
    await choose(pf_client, location, "payer", notification="aucune")
    for _ in range(50):
        response = await pf_client.post(
            payfip.NOTIFY_PATH,
            content=f"idop={id_op}".encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200 and response.text == "OK"
    assert await Payment.count() == 1
    assert await paid(invoices[0]) == 4250
    outcomes = [n["outcome"] for n in await PaymentNotification.select()]
    assert outcomes.count("payee") == 1 and outcomes.count("doublon") == 49


async def test_a_notification_before_the_payer_finished_pays_nothing(pf_client):
    _, invoices = await family_with_invoices(4250)
    await login_family(pf_client)
    reference = await payfip_reference(pf_client, invoices)
    id_op, _ = await to_payfip_page(pf_client, reference)
    response = await pf_client.get(f"{payfip.NOTIFY_PATH}?idop={id_op}")
    assert response.status_code == 200
    assert await Payment.count() == 0 and await status(reference) == "en_attente"
    assert (await PaymentNotification.select().first())["error_code"] == "P5"


async def test_refusal_and_abandon_leave_the_invoice_to_pay(pf_client):
    _, invoices = await family_with_invoices(4250, 1000)
    await login_family(pf_client)
    for invoice, choice, kind, state in (
        (invoices[0], "refuser", "refuse", "refusee"),
        (invoices[1], "abandonner", "annule", "annulee"),
    ):
        reference = await payfip_reference(pf_client, [invoice])
        _, location = await to_payfip_page(pf_client, reference)
        response = await choose(pf_client, location, choice)
        back = await pf_client.get(response.headers["location"], follow_redirects=False)
        assert back.headers["location"] == f"/famille/paiements/{reference}/retour/{kind}"
        assert await status(reference) == state and await paid(invoice) == 0
        page = soup((await pf_client.get(back.headers["location"])).text)
        assert "restent à payer" in page.text
    assert await Payment.count() == 0


async def test_a_late_success_after_an_abandon_is_still_recorded(pf_client):
    _, invoices = await family_with_invoices(4250)
    await login_family(pf_client)
    reference = await payfip_reference(pf_client, invoices)
    id_op, location = await to_payfip_page(pf_client, reference)
    await pf_client.post(
        f"/famille/paiements/{reference}/abandon",
        data={"_csrf_token": csrf_from((await pf_client.get("/famille/paiements")).text)},
    )
    assert await status(reference) == "annulee"
    await choose(pf_client, location, "payer")  # the money was taken all the same
    assert await status(reference) == "payee" and await paid(invoices[0]) == 4250


async def test_an_unknown_idop_is_refused_and_payfip_is_not_asked(pf_client):
    response = await pf_client.post(
        payfip.NOTIFY_PATH,
        content=b"idop=00000000-0000-0000-0000-000000000000",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 403
    assert await PaymentNotification.count() == 0
    assert (await RefusedNotification.select().first())["reason"] == "operation"


async def test_a_detail_for_another_debt_pays_nothing(pf_client):
    _, invoices = await family_with_invoices(4250)
    await login_family(pf_client)
    reference = await payfip_reference(pf_client, invoices)
    id_op, location = await to_payfip_page(pf_client, reference)
    # The simulator's record says another debt (as a mixed-up answer would).
    await PayfipSimulatorOperation.update({PayfipSimulatorOperation.refdet: "AUTRE1"}).where(
        PayfipSimulatorOperation.id_op == id_op
    )
    await choose(pf_client, location, "payer")
    assert await Payment.count() == 0 and await paid(invoices[0]) == 0
    assert (await PaymentNotification.select().first())["outcome"] == "reference"


async def test_the_go_route_needs_csrf_and_the_familys_own_attempt(pf_client, payfip_settings):
    from tests.conftest import make_client

    _, invoices = await family_with_invoices(4250)
    await login_family(pf_client)
    reference = await payfip_reference(pf_client, invoices)
    refused = await pf_client.post(f"/famille/paiements/{reference}/payfip", data={})
    assert refused.status_code == 403
    await family_with_invoices(1000, code="F00002", name="Diallo")
    async with make_client(pf_client.app, "127.0.0.3") as other:
        await login_family(other, "F00002")
        page = await other.get("/famille/paiements")
        response = await other.post(
            f"/famille/paiements/{reference}/payfip",
            data={"_csrf_token": csrf_from(page.text)},
        )
        assert response.status_code == 404
        assert (await other.get(f"/famille/paiements/{reference}/payfip/retour")).status_code == 404
    assert await PayfipOperation.count() == 0


async def test_the_go_route_with_htmx_navigates_to_payfip(pf_client):
    _, invoices = await family_with_invoices(4250)
    await login_family(pf_client)
    reference = await payfip_reference(pf_client, invoices)
    page = await pf_client.get(f"/famille/paiements/{reference}")
    response = await pf_client.post(
        f"/famille/paiements/{reference}/payfip",
        data={"_csrf_token": csrf_from(page.text)},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].startswith(payfip.SIMULATOR_PAGE_PATH + "?idop=")


async def test_a_closed_attempt_opens_no_operation(pf_client):
    _, invoices = await family_with_invoices(4250)
    await login_family(pf_client)
    reference = await payfip_reference(pf_client, invoices)
    page = await pf_client.get(f"/famille/paiements/{reference}")
    token = csrf_from(page.text)
    await PaymentAttempt.update({PaymentAttempt.status: "annulee"}).where(
        PaymentAttempt.reference == reference
    )
    response = await pf_client.post(
        f"/famille/paiements/{reference}/payfip",
        data={"_csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/famille/paiements/{reference}"
    assert await PayfipOperation.count() == 0


async def test_the_same_operation_is_reused_within_its_lifetime(pf_client):
    _, invoices = await family_with_invoices(4250)
    await login_family(pf_client)
    reference = await payfip_reference(pf_client, invoices)
    first, _ = await to_payfip_page(pf_client, reference)
    second, _ = await to_payfip_page(pf_client, reference)
    assert first == second and await PayfipOperation.count() == 1
    clock.set_now(clock.now() + payfip_services.dt.timedelta(minutes=16))
    third, _ = await to_payfip_page(pf_client, reference)
    assert third != first and await PayfipOperation.count() == 2


async def test_simulator_page_validation_and_unknown_operation(pf_client):
    _, invoices = await family_with_invoices(4250)
    await login_family(pf_client)
    reference = await payfip_reference(pf_client, invoices)
    id_op, location = await to_payfip_page(pf_client, reference)
    page = await pf_client.get(location)
    html = soup(page.text)
    assert html.h1.text == "Paiement de 42,50\u00a0€" and html.html["lang"] == "fr"
    bad = await pf_client.post(
        payfip.SIMULATOR_PAGE_PATH,
        data={"_csrf_token": csrf_from(page.text), "idop": id_op, "notification": "normal"},
    )
    assert bad.status_code == 422 and "Choisissez le résultat du paiement." in bad.text
    assert (await pf_client.get(f"{payfip.SIMULATOR_PAGE_PATH}?idop=inconnu")).status_code == 404
    no_csrf = await pf_client.post(
        payfip.SIMULATOR_PAGE_PATH, data={"idop": id_op, "choix": "payer"}
    )
    assert no_csrf.status_code == 403 and await Payment.count() == 0


async def test_the_simulator_is_absent_without_the_simulator(settings, app_for):
    from tests.conftest import make_client

    app = app_for(settings.with_(payment_simulator=False, payment_providers=("payfip",)))
    async with make_client(app) as c:
        assert (await c.get(f"{payfip.SIMULATOR_SERVICE_PATH}?wsdl")).status_code == 404
        assert (await c.get(f"{payfip.SIMULATOR_PAGE_PATH}?idop=x")).status_code == 404
        # The notification URL itself is there, and answers an unknown idOp with 403.
        assert (await c.get(f"{payfip.NOTIFY_PATH}?idop=x")).status_code == 403
    paybox_only = app_for(settings)
    async with make_client(paybox_only) as c:
        assert (await c.get(f"{payfip.NOTIFY_PATH}?idop=x")).status_code == 404


def test_production_refuses_the_simulator_and_checks_payfip(settings):
    prod = settings.with_(
        environment="production",
        payment_providers=("payfip",),
        payfip_numcli="12",
    )
    problems = prod.production_problems()
    assert any("ECP_PAYMENT_SIMULATOR=0" in p for p in problems)
    real = prod.with_(payment_simulator=False)
    assert "ECP_PAYFIP_NUMCLI doit compter 6 chiffres." in real.production_problems()
    assert not any("PAYBOX" in p for p in real.production_problems())


async def test_the_soap_exchange_with_the_simulator(pf_client, payfip_settings):
    """zeep against the simulator's endpoint, in process: the WSDL it serves, an operation
    created, its detail once decided, and the faults P5 (under way) and P1 (unknown)."""
    from lxml import etree

    wsdl = await pf_client.get(f"{payfip.SIMULATOR_SERVICE_PATH}?wsdl")
    assert wsdl.status_code == 200 and wsdl.headers["content-type"].startswith("text/xml")
    address = etree.fromstring(wsdl.content).find(
        ".//{http://schemas.xmlsoap.org/wsdl/soap/}address"
    )
    assert address.get("location") == "https://testserver.local/simulateur-payfip/services/securite"
    config = payfip.payfip_config(payfip_settings)
    async with payfip.http_client(payfip_settings, pf_client.app) as http:
        client = payfip.Client(config, http)
        base = payfip_settings.base_url
        id_op = await client.create_operation(
            exer=2026,
            refdet="FAC2026000001T1",
            montant=4250,
            mel="famille@example.org",
            objet="Facture FAC 2026 000001",
            urlnotif=base + payfip.NOTIFY_PATH,
            urlredirect=base + payfip_services.return_path("ECP-abc"),
        )
        with pytest.raises(payfip.PayfipFault) as pending:
            await client.fetch_detail(id_op)
        assert pending.value.code == "P5"
        await payfip_simulator.decide(id_op, "payer")
        detail = await client.fetch_detail(id_op)
        assert (detail.resultrans, detail.montant, detail.refdet) == ("P", 4250, "FAC2026000001T1")
        assert detail.numcli == payfip.TEST_NUMCLI and detail.exer == "2026"
        assert detail.status == "payee" and len(detail.numauto) == 6
        assert detail.paid_at is not None
        with pytest.raises(payfip.PayfipFault) as unknown:
            await client.fetch_detail("inconnu")
        assert unknown.value.code == "P1"
        with pytest.raises(payfip.PayfipFault) as elsewhere:
            await client.create_operation(
                exer=2026,
                refdet="FAC1",
                montant=4250,
                mel="famille@example.org",
                objet="Facture",
                urlnotif="https://ailleurs.example/notif",
                urlredirect=base + payfip_services.return_path("ECP-abc"),
            )
        assert elsewhere.value.code == "R8"
        client.close()


def test_refdet_and_objet_are_what_payfip_accepts():
    assert payfip.refdet_for("FAC-2026-000123", 42) == "FAC2026000123T42"
    assert len(payfip.refdet_for("F" * 60, 12345678)) == 30
    assert payfip.objet_for("FAC-2026-000123", "Villebelle-sur-Seine") == (
        "Facture FAC 2026 000123 Villebelle sur Seine"
    )
    assert payfip.objet_for("X", "Évry-Courcouronnes") == "Facture X Evry Courcouronnes"
