"""The forged notification: a genuine Paybox signature with fields of the attacker's around it.

A family cancels at the bank and keeps the URL it is sent back to. That query is signed by Paybox
(here: the simulator's key, trusted while the simulator is on). Every variant below once recorded,
or could record, a payment; each must now be refused without touching an invoice, and the
régisseur's refused-notification log must show it.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import pytest

from ecp.invoices.tables import Invoice
from ecp.mail.tables import OutboxEmail
from ecp.payments.tables import Payment, PaymentNotification
from tests.conftest import make_client
from tests.payments_factories import ipn_query
from tests.support import csrf_from, soup
from tests.web.payments.helpers import (
    attempt_status,
    family_with_invoices,
    login_family,
    payment_form,
    started_reference,
)

IPN = "/paiement/paybox/ipn"


async def cancelled_at_the_bank(sim_client) -> tuple[str, Invoice, bytes]:
    """(reference, invoice, the signed query of the browser return after « Annuler »)."""
    _, invoices = await family_with_invoices(4250)
    await login_family(sim_client)
    reference = await started_reference(sim_client, invoices)
    action, fields = payment_form((await sim_client.get(f"/famille/paiements/{reference}")).text)
    page = await sim_client.post(
        action,
        content=urlencode(fields).encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    html = soup(page.text)
    response = await sim_client.post(
        "/simulateur-paybox/paiement/valider",
        data={
            "_csrf_token": csrf_from(page.text),
            "pbx": html.select_one("input[name=pbx]")["value"],
            "carte": "",
            "expiration": "",
            "cvv": "",
            "notification": "normal",
            "action": "annuler",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path.endswith("/retour/annule")
    assert await attempt_status(reference) == "annulee"
    return reference, invoices[0], location.query.encode("ascii")


async def nothing_paid(invoice) -> bool:
    row = await Invoice.select(Invoice.paid_cents).where(Invoice.id == invoice.id).first()
    return (
        row["paid_cents"] == 0
        and await Payment.count() == 0
        and await OutboxEmail.count().where(OutboxEmail.kind == "recu") == 0
    )


async def ipn(app, raw: bytes, *, method: str = "GET", query: bytes = b""):
    async with make_client(app, "203.0.113.9") as paybox_like:
        if method == "GET":
            return await paybox_like.get(f"{IPN}?{raw.decode('ascii')}")
        target = f"{IPN}?{query.decode('ascii')}" if query else IPN
        return await paybox_like.post(
            target, content=raw, headers={"content-type": "application/x-www-form-urlencoded"}
        )


def after_marker(browser_query: bytes) -> bytes:
    assert browser_query.startswith(b"canal=navigateur&"), browser_query[:40]
    return browser_query[len(b"canal=navigateur&") :]


async def test_browser_return_query_is_not_a_notification(sim_client, simulator_app):
    reference, invoice, browser = await cancelled_at_the_bank(sim_client)
    before = await PaymentNotification.count()
    assert (await ipn(simulator_app, browser)).status_code == 403
    # Without our marker the signature no longer matches.
    assert (await ipn(simulator_app, after_marker(browser))).status_code == 403
    assert await nothing_paid(invoice) and await attempt_status(reference) == "annulee"
    assert await PaymentNotification.count() == before


@pytest.mark.parametrize(
    "prefix",
    [
        b"err=00000&auto=XXXXXX&trans=4242&",
        b"mt=4250&err=00000&auto=XXXXXX&trans=4243&",
        b"err=00000&auto=XXXXXX&trans=4244&canal=navigateur&",
    ],
)
async def test_success_fields_in_front_of_a_signed_query_pay_nothing(
    sim_client, simulator_app, prefix
):
    reference, invoice, browser = await cancelled_at_the_bank(sim_client)
    for signed in (browser, after_marker(browser)):
        response = await ipn(simulator_app, prefix + signed)
        assert response.status_code == 403, prefix
        response = await ipn(simulator_app, prefix + signed, method="POST")
        assert response.status_code == 403, prefix
    assert await nothing_paid(invoice) and await attempt_status(reference) == "annulee"


@pytest.mark.parametrize(
    "forged",
    [
        b"%72ef=ECP-someone-else&",  # 'ref' percent-encoded
        b"%6Dt=0100&",  # 'mt' percent-encoded
        b"%65rr=00000&%61uto=XXXXXX&",  # 'err' and 'auto'
    ],
)
async def test_percent_encoded_names_override_nothing(sim_client, simulator_app, forged):
    reference, invoice, browser = await cancelled_at_the_bank(sim_client)
    assert (await ipn(simulator_app, forged + browser)).status_code == 403
    assert (await ipn(simulator_app, forged + after_marker(browser))).status_code == 403
    assert await nothing_paid(invoice)


async def test_each_new_trans_adds_nothing(sim_client, simulator_app):
    reference, invoice, browser = await cancelled_at_the_bank(sim_client)
    for trans in range(5):
        forged = f"err=00000&auto=XXXXXX&trans={9000 + trans}&".encode() + after_marker(browser)
        assert (await ipn(simulator_app, forged)).status_code == 403
    assert await nothing_paid(invoice)


async def test_genuine_notification_with_anything_around_it_is_refused(client, app):
    """Production-shaped settings: a real notification plus extra bytes never counts."""
    _, invoices = await family_with_invoices(4250)
    await login_family(client)
    reference = await started_reference(client, invoices)
    genuine = ipn_query(reference, 4250, trans="5001")
    for raw in (
        b"err=00000&" + genuine,
        b"&" + genuine,
        genuine + b"&trans=5002",
        genuine.replace(b"ref=", b"%72ef=", 1),
        genuine.replace(b"&err=", b"&err=00000&err=", 1),
    ):
        assert (await ipn(app, raw)).status_code == 403, raw[:60]
    # By POST, a query string beside the body is not Paybox's either.
    assert (await ipn(app, genuine, method="POST", query=b"x=1")).status_code == 403
    assert await Payment.count() == 0
    # The genuine one, alone, pays.
    assert (await ipn(app, genuine)).status_code == 200
    assert await Payment.count() == 1


def readme_check_query() -> str:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    block = text.split("<!-- forged-notification-check -->")[1].split(
        "<!-- /forged-notification-check -->"
    )[0]
    return block.split("```sql")[1].split("```")[0].strip().rstrip(";")


async def test_the_readme_query_finds_a_forged_payment_and_nothing_else(client, app):
    """The régisseur's check: a genuine notification is not listed; one recorded the old way,
    with fields in front of the signed part, is."""
    _, invoices = await family_with_invoices(4250)
    await login_family(client)
    reference = await started_reference(client, invoices)
    assert (await ipn(app, ipn_query(reference, 4250, trans="6001"))).status_code == 200
    query = readme_check_query()
    assert await PaymentNotification.raw(query) == []
    # What the old verifier let through, as it stored it.
    attempt = (await PaymentNotification.select(PaymentNotification.attempt).first())["attempt"]
    forged = "err=00000&auto=XXXXXX&trans=6002&" + ipn_query(reference, 4250).decode()
    await PaymentNotification(
        received_at=clock_now(),
        source_ip="203.0.113.5",
        raw_query=forged,
        signature_valid=True,
        outcome="surpaiement",
        attempt=attempt,
        transaction="6002",
        amount_cents=4250,
    ).save()
    rows = await PaymentNotification.raw(query)
    assert [(r["transaction"], r["attempt_reference"]) for r in rows] == [("6002", reference)]


def clock_now():
    from ecp import clock

    return clock.now()
