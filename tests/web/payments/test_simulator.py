"""The local Paybox simulator: it checks the form's HMAC like Paybox, signs its replies with its
own test key, notifies the portal (normally, twice, late or never) and sends the browser back."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from ecp.invoices.tables import Invoice
from ecp.payments import simulator
from ecp.payments.config import form_action_hosts, paybox_config
from ecp.payments.tables import Payment, PaymentNotification
from tests.support import csrf_from, error_summary_links, soup
from tests.web.payments.helpers import (
    attempt_status,
    family_with_invoices,
    login_family,
    payment_form,
    started_reference,
)


async def open_bank_page(client, invoices=None, totals=(4250,)):
    if invoices is None:
        _, invoices = await family_with_invoices(*totals)
    await login_family(client)
    reference = await started_reference(client, invoices)
    action, fields = payment_form((await client.get(f"/famille/paiements/{reference}")).text)
    assert action == "/simulateur-paybox/paiement"
    page = await client.post(
        action,
        content=urlencode(fields).encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    return reference, invoices, page


async def pay(client, page, **values):
    html = soup(page.text)
    data = {
        "_csrf_token": csrf_from(page.text),
        "pbx": html.select_one("input[name=pbx]")["value"],
        "carte": "",
        "expiration": "",
        "cvv": "",
        "notification": "normal",
        "action": "payer",
    }
    data.update(values)
    return await client.post(
        "/simulateur-paybox/paiement/valider", data=data, follow_redirects=False
    )


async def paid(invoice) -> int:
    return (await Invoice.select(Invoice.paid_cents).where(Invoice.id == invoice.id).first())[
        "paid_cents"
    ]


async def test_bank_page_shows_the_amount_and_documents_the_test_cards(sim_client):
    _, _, page = await open_bank_page(sim_client)
    assert page.status_code == 200
    html = soup(page.text)
    assert html.h1.text == "Paiement de 42,50\u00a0€"
    assert html.html["lang"] == "fr"
    for card in (simulator.CARD_SUCCESS, simulator.CARD_REFUSED):
        assert card in html.select_one("#cards-title").find_parent("section").text
    assert html.select_one("input#carte") and html.select_one("input#cvv")


async def test_success_card_pays_through_a_signed_notification(sim_client):
    reference, invoices, page = await open_bank_page(sim_client)
    response = await pay(
        sim_client, page, carte="1111 2222 3333 4444", expiration="12/40", cvv="123"
    )
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == f"/famille/paiements/{reference}/retour/effectue"
    assert "sign=" in location.query
    assert await paid(invoices[0]) == 4250
    note = await PaymentNotification.select().first()
    assert note["signature_valid"] and note["outcome"] == "payee"
    assert note["source_ip"] == "simulateur"
    back = await sim_client.get(response.headers["location"])
    assert "Paiement confirmé" in soup(back.text).select_one("#attempt-status").text


async def test_refused_card_leaves_the_invoice_unpaid(sim_client):
    reference, invoices, page = await open_bank_page(sim_client)
    response = await pay(
        sim_client, page, carte=simulator.CARD_REFUSED, expiration="12/40", cvv="123"
    )
    assert urlsplit(response.headers["location"]).path.endswith("/retour/refuse")
    assert await paid(invoices[0]) == 0 and await attempt_status(reference) == "refusee"
    back = await sim_client.get(response.headers["location"])
    assert "Paiement refusé par votre banque" in back.text


async def test_cancel_button(sim_client):
    reference, invoices, page = await open_bank_page(sim_client)
    response = await pay(sim_client, page, action="annuler")
    assert urlsplit(response.headers["location"]).path.endswith("/retour/annule")
    assert await attempt_status(reference) == "annulee" and await paid(invoices[0]) == 0


async def test_notification_sent_twice_records_one_payment(sim_client):
    _, invoices, page = await open_bank_page(sim_client)
    await pay(
        sim_client,
        page,
        carte=simulator.CARD_SUCCESS,
        expiration="01/39",
        cvv="999",
        notification="double",
    )
    assert await Payment.count() == 1 and await paid(invoices[0]) == 4250
    outcomes = [
        r["outcome"]
        for r in await PaymentNotification.select(PaymentNotification.outcome).order_by(
            PaymentNotification.id
        )
    ]
    assert outcomes == ["payee", "doublon"]


async def test_lost_notification_leaves_the_return_page_waiting(sim_client):
    reference, invoices, page = await open_bank_page(sim_client)
    response = await pay(
        sim_client,
        page,
        carte=simulator.CARD_SUCCESS,
        expiration="01/39",
        cvv="999",
        notification="aucune",
    )
    back = await sim_client.get(response.headers["location"])
    assert "en cours de confirmation" in back.text
    assert await paid(invoices[0]) == 0 and await PaymentNotification.count() == 0


async def test_late_notification_arrives_after_the_redirect(sim_client, monkeypatch):
    monkeypatch.setattr(simulator, "LATE_SECONDS", 0.01)
    reference, invoices, page = await open_bank_page(sim_client)
    response = await pay(
        sim_client,
        page,
        carte=simulator.CARD_SUCCESS,
        expiration="01/39",
        cvv="999",
        notification="tardive",
    )
    assert response.status_code == 303
    # The in-process transport runs the background task before returning.
    assert await paid(invoices[0]) == 4250


async def test_pending_card_then_nothing(sim_client):
    reference, invoices, page = await open_bank_page(sim_client)
    response = await pay(
        sim_client, page, carte=simulator.CARD_PENDING, expiration="01/39", cvv="999"
    )
    assert urlsplit(response.headers["location"]).path.endswith("/retour/attente")
    assert await attempt_status(reference) == "en_attente"


async def test_bad_card_details_are_a_validation_error_with_values_kept(sim_client):
    reference, invoices, page = await open_bank_page(sim_client)
    response = await pay(sim_client, page, carte="1234", expiration="13/20", cvv="12")
    assert response.status_code == 422
    html = soup(response.text)
    assert html.title.text.startswith("Erreur : ")
    assert error_summary_links(response.text) == ["#carte", "#expiration", "#cvv"]
    assert html.select_one("#carte")["value"] == "1234"
    assert html.select_one("#carte")["aria-invalid"] == "true"
    assert await PaymentNotification.count() == 0
    assert await attempt_status(reference) == "en_attente"


async def test_card_form_needs_the_csrf_token(sim_client):
    reference, invoices, page = await open_bank_page(sim_client)
    response = await pay(
        sim_client,
        page,
        _csrf_token="",
        carte=simulator.CARD_SUCCESS,
        expiration="01/39",
        cvv="999",
    )
    assert response.status_code == 403 and await paid(invoices[0]) == 0


async def test_tampered_form_is_refused_like_paybox_does(sim_client):
    _, invoices = await family_with_invoices(4250)
    await login_family(sim_client)
    reference = await started_reference(sim_client, invoices)
    _, fields = payment_form((await sim_client.get(f"/famille/paiements/{reference}")).text)
    tampered = [(n, "100" if n == "PBX_TOTAL" else v) for n, v in fields]
    page = await sim_client.post(
        "/simulateur-paybox/paiement",
        content=urlencode(tampered).encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert page.status_code == 403 and "Accès refusé" in page.text
    # Nor can the card step be fed a rewritten form.
    _, _, good = await open_bank_page(sim_client, invoices=invoices)
    response = await pay(
        sim_client,
        good,
        pbx=urlencode(tampered),
        carte=simulator.CARD_SUCCESS,
        expiration="01/39",
        cvv="999",
    )
    assert response.status_code == 403 and await paid(invoices[0]) == 0


async def test_simulator_key_is_trusted_only_while_the_simulator_is_on(
    client, sim_client, simulator_settings
):
    """A reply signed by the simulator is refused by a portal configured for production."""
    reference, invoices, page = await open_bank_page(sim_client)
    config = paybox_config(simulator_settings)
    pbx = {
        "PBX_TOTAL": "4250",
        "PBX_CMD": reference,
        "PBX_RETOUR": "mt:M;ref:R;auto:A;err:E;appel:T;trans:S;date:W;heure:Q;carte:C;sign:K",
    }
    reply, _ = simulator.signed_replies(pbx, "00000", config.test_keys_dir, "")
    response = await client.get(f"/paiement/paybox/ipn?{reply.decode()}")
    assert response.status_code == 403 and await paid(invoices[0]) == 0
    response = await client.post("/simulateur-paybox/paiement", content=b"x")
    assert response.status_code in (403, 404)


def test_form_action_hosts(simulator_settings, settings):
    assert form_action_hosts(simulator_settings) == ()
    assert form_action_hosts(settings) == ("https://preprod-tpeweb.paybox.com",)
    from ecp.settings import Settings

    env = {
        "ECP_PAYMENT_SIMULATOR": "0",
        "ECP_PAYBOX_URLS": "https://tpeweb.paybox.com/cgi/MYchoix_pagepaiement.cgi,"
        "https://tpeweb1.paybox.com/cgi/MYchoix_pagepaiement.cgi",
    }
    config = paybox_config(Settings.from_env(env))
    assert config.endpoints[1].startswith("https://tpeweb1.")
    assert "ECP_PAYBOX_SITE doit compter 7 chiffres." in config.problems()
    full = paybox_config(
        Settings.from_env(
            {
                **env,
                "ECP_PAYBOX_SITE": "1234567",
                "ECP_PAYBOX_RANG": "001",
                "ECP_PAYBOX_IDENTIFIANT": "12345",
                "ECP_PAYBOX_HMAC_KEY": "AB" * 64,
                "ECP_PAYBOX_IPN_SOURCES": "62.161.15.193, 62.161.13.193",
            }
        )
    )
    assert full.problems() == [] and full.rang == "001"
    assert full.ipn_sources == ("62.161.15.193", "62.161.13.193")
    assert len(full.public_key_files) == 2 and not full.simulator


def test_csp_allows_the_bank_hosts_in_production(settings):
    from ecp.web.security import content_security_policy

    assert "form-action 'self' https://preprod-tpeweb.paybox.com" in content_security_policy(
        form_action_hosts(settings)
    )


def resigned(fields: list[tuple[str, str]], **changes: str) -> bytes:
    """The form rewritten AND re-signed with the published test key, as anyone can."""
    from ecp.payments import paybox
    from ecp.payments.config import TEST_HMAC_KEY

    plain = [(n, changes.get(n, v)) for n, v in fields if n != "PBX_HMAC"]
    return urlencode(paybox.sign_form(plain, TEST_HMAC_KEY)).encode()


async def test_simulator_only_serves_this_sites_own_attempts(sim_client):
    """Its HMAC key is public: a valid HMAC proves nothing, so it neither redirects elsewhere nor
    signs a reply for a reference, an amount or a notification URL this site did not make."""
    _, invoices = await family_with_invoices(4250)
    await login_family(sim_client)
    reference = await started_reference(sim_client, invoices)
    _, fields = payment_form((await sim_client.get(f"/famille/paiements/{reference}")).text)
    headers = {"content-type": "application/x-www-form-urlencoded"}
    for changes in (
        {"PBX_EFFECTUE": "https://attaquant.example/vol"},
        {"PBX_ANNULE": "//attaquant.example/"},
        {"PBX_REFUSE": f"https://testserver.local/famille/paiements/{reference}/x"},
        {"PBX_CMD": "ECP-inventee"},
        {"PBX_TOTAL": "100"},
        {"PBX_REPONDRE_A": "https://attaquant.example/ipn"},
        {"PBX_RETOUR": "mt:M;ref:R;err:E;sign:K"},
        {"PBX_DEVISE": "840"},
        {"PBX_SITE": "1234567"},
        {"PBX_RANG": "99"},
        {"PBX_IDENTIFIANT": "1"},
    ):
        body = resigned(fields, **changes)
        page = await sim_client.post("/simulateur-paybox/paiement", content=body, headers=headers)
        assert page.status_code == 403 and "Accès refusé" in page.text, changes
        response = await pay(
            sim_client,
            await sim_client.post(
                "/simulateur-paybox/paiement", content=urlencode(fields).encode(), headers=headers
            ),
            pbx=body.decode(),
            carte=simulator.CARD_SUCCESS,
            expiration="01/39",
            cvv="999",
        )
        assert response.status_code == 403, changes
    assert await paid(invoices[0]) == 0 and await PaymentNotification.count() == 0
    # The untouched form still works, and sends the browser back here only.
    page = await sim_client.post(
        "/simulateur-paybox/paiement", content=resigned(fields), headers=headers
    )
    response = await pay(
        sim_client, page, carte=simulator.CARD_SUCCESS, expiration="01/39", cvv="999"
    )
    location = urlsplit(response.headers["location"])
    assert response.status_code == 303 and not location.scheme and not location.netloc
    assert location.path == f"/famille/paiements/{reference}/retour/effectue"
    assert location.query.startswith("canal=navigateur&mt=4250&ref=")


async def test_simulator_is_absent_in_production(client):
    from ecp.app import create_app
    from ecp.settings import Settings

    production_like = create_app(
        Settings(
            payment_simulator=False,
            base_url="https://x.example",
            password_profile="test",
            jobs_enabled=False,
        )
    )
    paths = {route.path for route in production_like.routes}
    assert not any(p.startswith("/simulateur-paybox") for p in paths)
    refused = Settings(
        environment="production",
        payment_simulator=True,
        base_url="https://x.example",
        secret_key="s" * 40,
    )
    assert any("simulateur" in p for p in refused.production_problems())
