"""/famille/paiements: choose invoices, start an attempt, the signed form, the return pages
(SECURITY I5, I6, I7) and the usual page / fragment / no-JS / validation / CSRF / IDOR checks."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode

from ecp import clock
from ecp.payments import paybox
from ecp.payments.config import TEST_HMAC_KEY
from ecp.payments.tables import PaymentAttempt, PaymentAttemptInvoice
from tests.payments_factories import ipn_query, make_invoice
from tests.support import csrf_token, error_summary_links, post_form, soup
from tests.web.payments.helpers import (
    attempt_status,
    family_with_invoices,
    login_family,
    payment_form,
    start,
    started_reference,
)


async def test_page_lists_unpaid_invoices_with_their_total(client):
    family, invoices = await family_with_invoices(4250, 1000)
    await make_invoice(family, 900, paid_cents=900)  # paid: not offered
    await login_family(client)
    response = await client.get("/famille/paiements")
    assert response.status_code == 200 and "<html" in response.text
    page = soup(response.text)
    assert page.title.text.startswith("Paiements")
    boxes = page.select("input[name=factures]")
    assert sorted(b["value"] for b in boxes) == sorted(str(i.id) for i in invoices)
    assert all(b.has_attr("checked") for b in boxes)
    assert "52,50" in page.select_one("#invoice-choice").text
    assert page.select_one("#payment-history") is not None


async def test_page_fragment_for_htmx(client):
    await family_with_invoices(4250)
    await login_family(client)
    response = await client.get("/famille/paiements", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<html" not in response.text
    assert soup(response.text).select_one("#invoice-choice") is not None
    assert "HX-Request" in response.headers["vary"]


async def test_start_without_javascript_redirects_to_the_signed_form(client):
    family, invoices = await family_with_invoices(4250, 1000)
    await login_family(client)
    response = await start(client, invoices)
    assert response.status_code == 303
    reference = re.search(r"(ECP-[A-Za-z0-9_-]+)$", response.headers["location"]).group(1)
    attempt = await PaymentAttempt.select().first()
    assert attempt["reference"] == reference and attempt["amount_cents"] == 5250
    assert attempt["status"] == "en_attente" and len(reference) >= 24
    page = await client.get(response.headers["location"])
    assert page.status_code == 200
    action, fields = payment_form(page.text)
    assert action.startswith("https://preprod-tpeweb.paybox.com/")
    names = [n for n, _ in fields]
    assert names[-1] == "PBX_HMAC" and "_csrf_token" not in names
    values = dict(fields)
    assert values["PBX_TOTAL"] == "5250" and values["PBX_CMD"] == reference
    assert values["PBX_PORTEUR"] == family.email and values["PBX_DEVISE"] == "978"
    assert values["PBX_REPONDRE_A"] == "https://testserver.local/paiement/paybox/ipn"
    for kind in ("effectue", "refuse", "annule", "attente"):
        assert values[f"PBX_{kind.upper()}"] == (
            f"https://testserver.local/famille/paiements/{reference}/retour/{kind}?canal=navigateur"
        )
    assert values["PBX_RETOUR"].endswith(";sign:K")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", values["PBX_TIME"])


async def test_signed_form_hmac_recomputes_and_amount_comes_from_the_database(client):
    """SECURITY I7."""
    _, invoices = await family_with_invoices(4250)
    await login_family(client)
    response = await post_form(
        client,
        "/famille/paiements",
        {"factures": [str(invoices[0].id)], "montant": "1", "PBX_TOTAL": "100"},
        from_page="/famille/paiements",
    )
    page = await client.get(response.headers["location"])
    _, fields = payment_form(page.text)
    hmac_value = fields[-1][1]
    assert hmac_value == paybox.compute_hmac(fields[:-1], TEST_HMAC_KEY)
    assert dict(fields)["PBX_TOTAL"] == "4250"
    # The bank's own check (the simulator's) accepts it as posted.
    assert paybox.check_form(urlencode(fields).encode(), TEST_HMAC_KEY) == fields[:-1]


async def test_start_with_htmx_asks_the_browser_to_navigate(client):
    _, invoices = await family_with_invoices(4250)
    await login_family(client)
    response = await start(client, invoices, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert re.search(r"/famille/paiements/ECP-", response.headers["hx-redirect"])


async def test_start_without_any_invoice_is_a_validation_error(client):
    await family_with_invoices(4250)
    await login_family(client)
    response = await post_form(client, "/famille/paiements", {}, from_page="/famille/paiements")
    assert response.status_code == 422
    page = soup(response.text)
    assert page.title.text.startswith("Erreur : ")
    assert error_summary_links(response.text) == ["#factures"]
    assert "Choisissez au moins une facture" in page.select_one("#factures-error").text
    assert await PaymentAttempt.count() == 0
    # The choice is kept: nothing was ticked, nothing is ticked again.
    assert not any(b.has_attr("checked") for b in page.select("input[name=factures]"))


async def test_validation_error_as_fragment(client):
    await family_with_invoices(4250)
    await login_family(client)
    response = await post_form(
        client,
        "/famille/paiements",
        {},
        from_page="/famille/paiements",
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422 and "<html" not in response.text
    assert soup(response.text).select_one("#invoice-choice .error-summary") is not None


async def test_start_without_csrf_token_is_forbidden(client):
    _, invoices = await family_with_invoices(4250)
    await login_family(client)
    response = await post_form(
        client, "/famille/paiements", {"factures": str(invoices[0].id)}, csrf=False
    )
    assert response.status_code == 403
    assert await PaymentAttempt.count() == 0


async def test_another_familys_invoice_or_attempt_is_not_found(client, other_client):
    _, mine = await family_with_invoices(4250)
    _, theirs = await family_with_invoices(3000, code="F00002", name="Diallo")
    await login_family(other_client, "F00002")
    their_ref = await started_reference(other_client, theirs)
    await login_family(client)
    assert (await start(client, theirs)).status_code == 404
    assert (await start(client, [*mine, *theirs])).status_code == 404
    assert (await client.get(f"/famille/paiements/{their_ref}")).status_code == 404
    assert (await client.get(f"/famille/paiements/{their_ref}/retour/effectue")).status_code == 404
    response = await post_form(
        client, f"/famille/paiements/{their_ref}/abandon", {}, from_page="/famille/paiements"
    )
    assert response.status_code == 404
    assert await attempt_status(their_ref) == "en_attente"
    assert await PaymentAttempt.count() == 1


async def test_second_start_reuses_the_open_attempt_or_refuses_an_overlap(client):
    """SECURITY I6 (first half): two tabs cannot open two payments for one invoice."""
    _, invoices = await family_with_invoices(4250, 1000)
    await login_family(client)
    first = await started_reference(client, invoices)
    assert await started_reference(client, invoices) == first
    page = await client.get("/famille/paiements")
    assert "Un paiement était déjà en cours" in page.text
    response = await start(client, invoices[:1])
    assert response.status_code == 422
    assert "déjà en cours pour la facture" in response.text
    assert f"/famille/paiements/{first}" in response.text
    assert await PaymentAttempt.count() == 1 and await PaymentAttemptInvoice.count() == 2


async def test_paid_invoice_cannot_be_started_again(client):
    _, invoices = await family_with_invoices(4250)
    await login_family(client)
    reference = await started_reference(client, invoices)
    await client.get(f"/paiement/paybox/ipn?{ipn_query(reference, 4250).decode()}")
    response = await start(client, invoices)
    assert response.status_code == 422 and "n’a plus rien à payer" in response.text


async def test_amount_under_one_euro_is_refused(client):
    _, invoices = await family_with_invoices(80)
    await login_family(client)
    response = await start(client, invoices)
    assert response.status_code == 422 and "à partir de" in response.text
    assert await PaymentAttempt.count() == 0


async def test_abandon_without_javascript_then_flash(client):
    _, invoices = await family_with_invoices(4250)
    await login_family(client)
    reference = await started_reference(client, invoices)
    response = await post_form(
        client,
        f"/famille/paiements/{reference}/abandon",
        {},
        from_page=f"/famille/paiements/{reference}",
    )
    assert response.status_code == 303 and response.headers["location"] == "/famille/paiements"
    assert await attempt_status(reference) == "annulee"
    page = await client.get("/famille/paiements")
    assert "Paiement abandonné" in soup(page.text).select_one("#flash").text
    # Abandoning frees the invoice for a new attempt.
    assert await started_reference(client, invoices) != reference


async def test_abandon_without_csrf_token_is_forbidden(client):
    _, invoices = await family_with_invoices(4250)
    await login_family(client)
    reference = await started_reference(client, invoices)
    response = await post_form(client, f"/famille/paiements/{reference}/abandon", {}, csrf=False)
    assert response.status_code == 403 and await attempt_status(reference) == "en_attente"


async def test_forged_browser_return_pays_nothing_and_waits(client):
    """SECURITY I5: the return URL is not proof; the page polls for the database's answer."""
    _, invoices = await family_with_invoices(4250)
    await login_family(client)
    reference = await started_reference(client, invoices)
    forged = urlencode(
        {
            "mt": "4250",
            "ref": reference,
            "auto": "XXXXXX",
            "err": "00000",
            "trans": "1",
            "sign": "AAAA",
        }
    )
    response = await client.get(f"/famille/paiements/{reference}/retour/effectue?{forged}")
    assert response.status_code == 200
    assert await attempt_status(reference) == "en_attente"
    inv = await PaymentAttempt.select().first()
    assert inv["status"] == "en_attente"
    page = soup(response.text)
    assert "en cours de confirmation" in page.select_one("#attempt-status").text
    status = page.select_one("#attempt-status")
    assert status["hx-trigger"].startswith("every") and status["hx-get"] == (
        f"/famille/paiements/{reference}/retour/effectue"
    )
    assert 'http-equiv="refresh"' in response.text and "<noscript>" in response.text
    # htmx poll while nothing changed: no swap.
    poll = await client.get(
        f"/famille/paiements/{reference}/retour/effectue", headers={"HX-Request": "true"}
    )
    assert poll.status_code == 204


async def test_return_page_shows_what_the_notification_settled(client):
    _, invoices = await family_with_invoices(4250)
    await login_family(client)
    reference = await started_reference(client, invoices)
    await client.get(f"/paiement/paybox/ipn?{ipn_query(reference, 4250).decode()}")
    response = await client.get(f"/famille/paiements/{reference}/retour/attente")
    page = soup(response.text)
    assert page.title.text.startswith("Paiement confirmé")
    assert "Paiement confirmé" in page.select_one("#attempt-status").text
    assert "payée" in page.select_one("#attempt-status").text
    assert "hx-trigger" not in str(page.select_one("#attempt-status"))
    assert "refresh" not in response.text
    fragment = await client.get(
        f"/famille/paiements/{reference}/retour/attente", headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert (
        soup(fragment.text).select_one("#attempt-status[data-focus], #attempt-status [data-focus]")
        is not None
    )
    # The history now lists the payment.
    history = soup((await client.get("/famille/paiements")).text).select_one("#payment-history")
    assert invoices[0].number in history.text and "Carte bancaire" in history.text


async def test_refused_notification_shows_a_clear_message(client):
    _, invoices = await family_with_invoices(4250)
    await login_family(client)
    reference = await started_reference(client, invoices)
    await client.get(f"/paiement/paybox/ipn?{ipn_query(reference, 4250, code='00105').decode()}")
    response = await client.get(f"/famille/paiements/{reference}/retour/refuse")
    text = soup(response.text).select_one("#attempt-status").text
    assert "Paiement refusé par votre banque" in text and "restent à payer" in text
    assert "00105" not in text  # the bank's detail is for the régisseur


async def test_return_page_stops_waiting_long_after_the_bank_page_closed(client):
    _, invoices = await family_with_invoices(4250)
    await login_family(client)
    reference = await started_reference(client, invoices)
    await PaymentAttempt.update(
        {PaymentAttempt.expires_at: clock.now() - dt.timedelta(hours=1)}
    ).where(PaymentAttempt.reference == reference)
    response = await client.get(f"/famille/paiements/{reference}/retour/effectue")
    status = soup(response.text).select_one("#attempt-status")
    assert "pas encore reçu la confirmation" in status.text and not status.has_attr("hx-get")


async def test_unknown_return_kind_or_reference_is_not_found(client):
    _, invoices = await family_with_invoices(4250)
    await login_family(client)
    reference = await started_reference(client, invoices)
    assert (await client.get(f"/famille/paiements/{reference}/retour/x")).status_code == 404
    assert (await client.get("/famille/paiements/ECP-nope/retour/effectue")).status_code == 404


async def test_attempt_page_fragment_and_settled_attempt_has_no_form(client):
    _, invoices = await family_with_invoices(4250)
    await login_family(client)
    reference = await started_reference(client, invoices)
    await client.get(f"/paiement/paybox/ipn?{ipn_query(reference, 4250).decode()}")
    page = await client.get(f"/famille/paiements/{reference}")
    assert "Continuer vers le paiement sécurisé" not in page.text
    assert "Paiement confirmé" in page.text
    fragment = await client.get(f"/famille/paiements/{reference}", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="attempt-status"' in fragment.text


async def test_pages_need_a_family_login(client):
    response = await client.get("/famille/paiements", follow_redirects=False)
    assert response.status_code in (302, 303, 401)
    token = await csrf_token(client, "/")
    response = await client.post(
        "/famille/paiements", data={"_csrf_token": token}, follow_redirects=False
    )
    assert response.status_code in (302, 303, 401)


async def test_family_without_email_is_told_to_add_one(client):
    from ecp.families.tables import Family, Guardian

    family, invoices = await family_with_invoices(4250)
    await Family.update({Family.email: ""}).where(Family.id == family.id)
    await Guardian.update({Guardian.email: ""}).where(Guardian.family == family.id)
    await login_family(client)
    response = await start(client, invoices)
    assert response.status_code == 422 and "adresse électronique" in response.text
    assert await PaymentAttempt.count() == 0
