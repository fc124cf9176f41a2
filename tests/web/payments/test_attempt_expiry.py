"""Card attempts Paybox never answered: closed (« expirée ») 2 h after their payment window by
the payment_expiry job, so the régisseur no longer sees them pending and the family pays again;
a notification that still comes is honoured (the money taken is recorded)."""

from __future__ import annotations

import asyncio
import datetime as dt

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.invoices.tables import Invoice
from ecp.mail.tables import OutboxEmail
from ecp.payments import services
from ecp.payments.tables import Payment, PaymentAttempt, PaymentNotification
from tests.factories import make_staff
from tests.payments_factories import ipn_query
from tests.support import login_staff, soup
from tests.web.payments.helpers import (
    attempt_status,
    family_with_invoices,
    login_family,
    start,
    started_reference,
)

IPN = "/paiement/paybox/ipn"
T0 = dt.datetime(2026, 11, 30, 18, 0, tzinfo=clock.PARIS)
# The attempt's window ends 20 minutes after the start; it expires 2 h after that.
JUST_BEFORE = T0 + dt.timedelta(hours=2, minutes=19)
AFTER = T0 + dt.timedelta(hours=2, minutes=21)


async def started_at_t0(client, *totals):
    clock.set_now(T0)
    family, invoices = await family_with_invoices(*totals)
    await login_family(client)
    return family, invoices, await started_reference(client, invoices)


async def deliver(client, raw: bytes):
    return await client.get(f"{IPN}?{raw.decode()}", headers={"cookie": ""})


async def paid_cents(invoice) -> int:
    return (await Invoice.select(Invoice.paid_cents).where(Invoice.id == invoice.id).first())[
        "paid_cents"
    ]


async def regisseur_page(client) -> str:
    await make_staff(username="regie", role="regisseur")
    await login_staff(client, "regie")
    response = await client.get("/agents/paiements/rapprochement?jours=1")
    assert response.status_code == 200
    return response.text


async def test_an_unanswered_attempt_expires_once_and_the_family_pays_again(client, other_client):
    family, invoices, reference = await started_at_t0(client, 4250)
    clock.set_now(JUST_BEFORE)
    assert await services.expire_abandoned_attempts() == 0
    assert await attempt_status(reference) == "en_attente"
    stale = soup(await regisseur_page(other_client))
    assert reference in stale.find("h2", string="Anomalies à vérifier").find_next("ul").text

    clock.set_now(AFTER)
    assert await services.expire_abandoned_attempts() == 1
    assert await services.expire_abandoned_attempts() == 0  # idempotent
    row = await PaymentAttempt.select().where(PaymentAttempt.reference == reference).first()
    assert row["status"] == "expiree" and row["error_code"] == ""
    assert row["settled_at"] == AFTER
    logs = (
        await AuditLog.select()
        .where(AuditLog.action == "payment_attempt_expired")
        .output(load_json=True)
    )
    assert len(logs) == 1 and logs[0]["family"] == family.id
    assert logs[0]["actor"] == "système" and logs[0]["target"] == f"tentative {reference}"
    assert logs[0]["details"] == {"amount_cents": 4250}

    # The régisseur: no longer pending, shown as closed without an answer.
    page = soup((await other_client.get("/agents/paiements/rapprochement?jours=1")).text)
    anomalies = page.find("h2", string="Anomalies à vérifier").find_next()
    assert reference not in anomalies.text and "Aucune anomalie" in anomalies.text
    line = next(tr for tr in page.select("table tr") if reference in tr.text)
    assert "expiré sans réponse de la banque" in line.text and "sans nouvelles" not in line.text
    assert "1 close sans réponse de la banque" in page.select_one(".figures").text

    # The family: told honestly, and free to pay again (its session expired meanwhile).
    await login_family(client)
    attempt = await client.get(f"/famille/paiements/{reference}")
    notice = soup(attempt.text).select_one("#attempt-status").text
    assert "aucune réponse" in notice and "Si votre compte a été débité" in notice
    assert "Aucune somme n’a été débitée" not in notice
    index = await client.get("/famille/paiements")
    assert "Un paiement est en cours" not in index.text
    assert (
        "expiré sans réponse de la banque" in soup(index.text).select_one("#payment-history").text
    )
    again = await started_reference(client, invoices)
    assert again != reference and await attempt_status(again) == "en_attente"


async def test_a_late_success_for_an_expired_attempt_is_recorded(client):
    family, invoices, reference = await started_at_t0(client, 4250, 1000)
    clock.set_now(AFTER)
    assert await services.expire_abandoned_attempts() == 1
    late = ipn_query(reference, 5250, trans="77001")
    response = await deliver(client, late)
    assert response.status_code == 200 and response.text == "OK"
    assert await attempt_status(reference) == "payee"
    payment = await Payment.select().where(Payment.provider_transaction == "77001").first()
    assert payment["amount_cents"] == 5250 and payment["unallocated_cents"] == 0
    assert [await paid_cents(i) for i in invoices] == [4250, 1000]
    assert await OutboxEmail.count().where(OutboxEmail.kind == "recu") == 1
    again = await deliver(client, late)  # the same notification twice: recorded once
    assert again.status_code == 200
    assert await Payment.count() == 1
    outcomes = [
        r["outcome"]
        for r in await PaymentNotification.select(PaymentNotification.outcome).order_by(
            PaymentNotification.id
        )
    ]
    assert outcomes == ["payee", "doublon"]
    assert await services.expire_abandoned_attempts() == 0  # paid stays paid


async def test_a_late_success_after_paying_again_is_kept_as_overpayment(client, other_client):
    family, invoices, first = await started_at_t0(client, 4250)
    clock.set_now(AFTER)
    await services.expire_abandoned_attempts()
    await login_family(client)
    second = await started_reference(client, invoices)
    assert (await deliver(client, ipn_query(second, 4250, trans="1"))).status_code == 200
    assert (await deliver(client, ipn_query(first, 4250, trans="2"))).status_code == 200
    assert await attempt_status(first) == "payee" and await attempt_status(second) == "payee"
    assert await paid_cents(invoices[0]) == 4250
    late = await Payment.select().where(Payment.provider_transaction == "2").first()
    assert late["amount_cents"] == 4250 and late["unallocated_cents"] == 4250
    anomalies = (
        soup(await regisseur_page(other_client))
        .find("h2", string="Anomalies à vérifier")
        .find_next("ul")
        .text
    )
    assert "trop-perçu à traiter" in anomalies and first in anomalies


async def test_an_attempt_paybox_said_was_pending_is_not_expired(client):
    _, _, reference = await started_at_t0(client, 4250)
    response = await deliver(client, ipn_query(reference, 4250, code="99999", auto=""))
    assert response.status_code == 200
    clock.set_now(AFTER + dt.timedelta(days=1))
    assert await services.expire_abandoned_attempts() == 0
    assert await attempt_status(reference) == "en_attente"


async def test_news_of_a_pending_payment_reopens_an_expired_attempt(client):
    _, _, reference = await started_at_t0(client, 4250)
    clock.set_now(AFTER)
    await services.expire_abandoned_attempts()
    response = await deliver(client, ipn_query(reference, 4250, code="99999", auto=""))
    assert response.status_code == 200
    row = await PaymentAttempt.select().where(PaymentAttempt.reference == reference).first()
    assert (row["status"], row["error_code"], row["settled_at"]) == ("en_attente", "99999", None)
    # Then the bank decides: the success settles it as usual.
    assert (await deliver(client, ipn_query(reference, 4250, trans="9"))).status_code == 200
    assert await attempt_status(reference) == "payee"


async def test_a_refusal_after_expiry_is_recorded_as_refused(client):
    _, invoices, reference = await started_at_t0(client, 4250)
    clock.set_now(AFTER)
    await services.expire_abandoned_attempts()
    response = await deliver(client, ipn_query(reference, 4250, code="00105", auto=""))
    assert response.status_code == 200
    assert await attempt_status(reference) == "refusee"
    assert await Payment.count() == 0 and await paid_cents(invoices[0]) == 0


async def test_expiry_racing_a_success_never_loses_the_payment(client):
    """The job and Paybox's notification at the same instant, on either engine: attempt n is
    started at T0 + n minutes and raced when it has just become expirable."""
    clock.set_now(T0)
    _, invoices = await family_with_invoices(4250, 4251, 4252)
    await login_family(client)
    references = []
    for n, invoice in enumerate(invoices):
        clock.set_now(T0 + dt.timedelta(minutes=n))
        references.append(await started_reference(client, [invoice]))
    for n, (invoice, reference) in enumerate(zip(invoices, references)):
        clock.set_now(AFTER + dt.timedelta(minutes=n))
        assert await attempt_status(reference) == "en_attente"
        results = await asyncio.gather(
            services.expire_abandoned_attempts(),
            deliver(client, ipn_query(reference, 4250 + n, trans=f"race-{n}")),
            services.expire_abandoned_attempts(),
        )
        assert results[1].status_code == 200
        assert await attempt_status(reference) == "payee"
        assert await Payment.count().where(Payment.provider_transaction == f"race-{n}") == 1
        assert await paid_cents(invoice) == 4250 + n


async def test_expiry_does_not_touch_open_or_settled_attempts(client):
    _, invoices, reference = await started_at_t0(client, 4250, 1000)
    response = await start(client, invoices[:1])  # covers part of an open attempt: refused
    assert response.status_code == 422
    clock.set_now(T0 + dt.timedelta(minutes=10))
    assert await services.expire_abandoned_attempts() == 0
    assert (
        await deliver(client, ipn_query(reference, 5250, code="00001", auto=""))
    ).status_code == 200
    clock.set_now(AFTER + dt.timedelta(days=3))
    assert await services.expire_abandoned_attempts() == 0
    assert await attempt_status(reference) == "annulee"
