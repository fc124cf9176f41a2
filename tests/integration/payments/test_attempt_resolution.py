"""A card attempt Paybox said nothing about, settled by the régisseur from the back office
(ecp.payments.services.resolve_attempt), then the real notification arriving after all: the
payment is recorded once, allocated as a notified one, and a notification that disagrees is
flagged, never recorded on top."""

from __future__ import annotations

import datetime as dt

import pytest

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.auth.principal import Principal
from ecp.errors import Rejected
from ecp.invoices.tables import Invoice
from ecp.mail.tables import OutboxEmail
from ecp.payments import services
from ecp.payments.provider import provider_for
from ecp.payments.tables import Payment, PaymentAllocation, PaymentAttempt, PaymentNotification
from tests.factories import make_family, make_guardian, make_staff
from tests.payments_factories import ipn_query, make_invoice
from tests.payments_factories import test_config as paybox_config

T0 = dt.datetime(2026, 11, 30, 18, 0, tzinfo=clock.PARIS)
LATER = T0 + dt.timedelta(minutes=45)  # the 20-minute window is over, the job not yet run


@pytest.fixture
def verify(tmp_path):
    provider = provider_for(paybox_config(tmp_path))
    return lambda raw: provider.verify(method="GET", raw_query=raw, raw_body=b"")


async def _regisseur() -> Principal:
    staff = await make_staff(role="regisseur", display_name="Régisseur Test")
    return Principal(
        kind="staff", session_id=0, name="Régisseur Test", staff_id=staff.id, role="regisseur"
    )


async def _started(*totals: int, code: str = "F00001"):
    family = await make_family(code=code, email="martin@example.org")
    await make_guardian(family)
    invoices = [await make_invoice(family, total) for total in totals]
    with clock.frozen(T0):
        reference, _ = await services.start_attempt(family.id, [i.id for i in invoices])
    attempt = await PaymentAttempt.select().where(PaymentAttempt.reference == reference).first()
    return family, invoices, attempt


async def _paid(invoices) -> list[int]:
    rows = {r["id"]: r["paid_cents"] for r in await Invoice.select(Invoice.id, Invoice.paid_cents)}
    return [rows[i.id] for i in invoices]


async def _attempt(attempt_id: int) -> dict:
    return await PaymentAttempt.select().where(PaymentAttempt.id == attempt_id).first()


async def test_a_payment_seen_in_the_back_office_is_recorded_once_and_allocated(verify):
    actor = await _regisseur()
    family, invoices, attempt = await _started(4250, 1000)
    with clock.frozen(LATER):
        assert [a["id"] for a in await services.attempts_without_news()] == [attempt["id"]]
        result = await services.resolve_attempt(
            actor,
            attempt["id"],
            outcome="payee",
            transaction="612345",
            paid_on=T0.date(),
            note="Vu sur le back-office",
        )
    assert result["outcome"] == "payee" and result["unallocated_cents"] == 0
    payment = await Payment.select().first()
    assert (payment["family"], payment["method"], payment["amount_cents"]) == (
        family.id,
        "carte",
        5250,
    )
    assert payment["provider_transaction"] == "612345" and payment["attempt"] == attempt["id"]
    assert payment["recorded_by"] == actor.staff_id and payment["received_at"] == T0
    assert payment["note"] == "Constaté sur le back-office Paybox par Régisseur Test"
    assert await _paid(invoices) == [4250, 1000]
    assert await PaymentAllocation.count() == 2
    row = await _attempt(attempt["id"])
    assert (row["status"], row["resolution"], row["resolved_by"]) == (
        "payee",
        "payee",
        actor.staff_id,
    )
    assert row["resolved_at"] == LATER and row["resolution_note"] == "Vu sur le back-office"
    journal = (
        await AuditLog.select()
        .where(AuditLog.action == "paiement_carte_constate")
        .output(load_json=True)
    )
    assert len(journal) == 1 and journal[0]["family"] == family.id
    assert journal[0]["staff"] == actor.staff_id
    assert journal[0]["target"] == f"tentative {attempt['reference']}"
    assert journal[0]["details"]["transaction"] == "612345"
    assert journal[0]["details"]["montant_cents"] == 5250
    receipt = await OutboxEmail.select().where(OutboxEmail.kind == "recu").first()
    assert receipt["to_address"] == "martin@example.org"
    with clock.frozen(LATER):
        assert await services.attempts_without_news() == []

    # The real notification arrives after all, twice: it confirms, nothing more is recorded.
    raw = ipn_query(attempt["reference"], 5250, trans="612345")
    for _ in range(2):
        settled = await services.handle_notification(verify(raw))
        assert settled.outcome == "confirmee" and settled.http_status == 200
    assert await Payment.count() == 1 and await _paid(invoices) == [4250, 1000]
    assert await OutboxEmail.count().where(OutboxEmail.kind == "recu") == 1
    assert (await _attempt(attempt["id"]))["status"] == "payee"


async def test_a_notification_that_disagrees_is_flagged_and_records_nothing(verify):
    actor = await _regisseur()
    _, invoices, attempt = await _started(4250)
    with clock.frozen(LATER):
        await services.resolve_attempt(
            actor, attempt["id"], outcome="payee", transaction="612345", paid_on=T0.date()
        )
    reference = attempt["reference"]
    other = await services.handle_notification(verify(ipn_query(reference, 4250, trans="999")))
    refusal = await services.handle_notification(
        verify(ipn_query(reference, 4250, code="00105", auto=""))
    )
    amount = await services.handle_notification(verify(ipn_query(reference, 4300, trans="1")))
    assert (other.outcome, refusal.outcome, amount.outcome) == ("ecart", "ecart", "montant")
    assert await Payment.count() == 1 and await _paid(invoices) == [4250]
    assert (await _attempt(attempt["id"]))["status"] == "payee"  # a refusal undoes nothing
    outcomes = [
        r["outcome"] for r in await PaymentNotification.select().order_by(PaymentNotification.id)
    ]
    assert outcomes == ["ecart", "ecart", "montant"]
    with clock.frozen(LATER):
        page = await services.reconciliation(7)
    flagged = [n["outcome"] for n in page["anomalies"]]
    assert flagged == ["montant", "ecart", "ecart"]


async def test_a_failure_seen_in_the_back_office_closes_the_attempt_but_a_late_success_counts(
    verify,
):
    actor = await _regisseur()
    _, invoices, attempt = await _started(4250)
    with clock.frozen(LATER):
        result = await services.resolve_attempt(actor, attempt["id"], outcome="echouee")
    assert result["payment_id"] is None and await Payment.count() == 0
    row = await _attempt(attempt["id"])
    assert (row["status"], row["resolution"]) == ("erreur", "echouee")
    assert await AuditLog.count().where(AuditLog.action == "paiement_carte_echec_constate") == 1
    # The family may pay again at once: the attempt is no longer open.
    with clock.frozen(LATER):
        again, reused = await services.start_attempt(row["family"], [invoices[0].id])
    assert not reused and again != attempt["reference"]

    # Paybox took the money after all: recorded (once), and shown to the régisseur.
    raw = ipn_query(attempt["reference"], 4250, trans="77")
    assert (await services.handle_notification(verify(raw))).outcome == "echec_contredit"
    assert (await services.handle_notification(verify(raw))).outcome == "doublon"
    assert await Payment.count() == 1 and await _paid(invoices) == [4250]
    assert (await _attempt(attempt["id"]))["status"] == "payee"
    assert "echec_contredit" in services.ANOMALIES


async def test_what_cannot_be_settled_by_hand_is_refused_and_writes_nothing():
    actor = await _regisseur()
    _, _, attempt = await _started(4250)
    _, _, other = await _started(990, code="F00002")
    with clock.frozen(T0 + dt.timedelta(minutes=5)):  # the family may be at the bank now
        with pytest.raises(services.AlreadySettled):
            await services.resolve_attempt(actor, attempt["id"], outcome="echouee")
    with clock.frozen(LATER):
        with pytest.raises(services.AttemptNotFound):
            await services.resolve_attempt(actor, 999, outcome="echouee")
        with pytest.raises(Rejected) as missing:
            await services.resolve_attempt(actor, attempt["id"], outcome="payee")
        assert missing.value.field == "transaction"
        with pytest.raises(Rejected) as early:
            await services.resolve_attempt(
                actor,
                attempt["id"],
                outcome="payee",
                transaction="1",
                paid_on=T0.date() - dt.timedelta(days=1),
            )
        assert early.value.field == "date"
        with pytest.raises(Rejected) as future:
            await services.resolve_attempt(
                actor,
                attempt["id"],
                outcome="payee",
                transaction="1",
                paid_on=T0.date() + dt.timedelta(days=1),
            )
        assert future.value.field == "date"
        await services.resolve_attempt(
            actor, other["id"], outcome="payee", transaction="555", paid_on=T0.date()
        )
        with pytest.raises(Rejected) as twice:  # the same transaction for another attempt
            await services.resolve_attempt(
                actor, attempt["id"], outcome="payee", transaction="555", paid_on=T0.date()
            )
        assert twice.value.field == "transaction" and "déjà enregistré" in twice.value.message
        with pytest.raises(services.AlreadySettled) as settled:  # settled a moment ago
            await services.resolve_attempt(actor, other["id"], outcome="echouee")
        assert "confirmé (constaté par la régie)" in settled.value.message
    assert await Payment.count() == 1
    assert (await _attempt(attempt["id"]))["status"] == "en_attente"
    assert await AuditLog.count() == 1  # the one settlement


async def test_an_attempt_closed_by_the_job_without_an_answer_can_still_be_settled():
    actor = await _regisseur()
    _, invoices, attempt = await _started(4250)
    with clock.frozen(T0 + dt.timedelta(hours=3)):
        assert await services.expire_abandoned_attempts() == 1
        assert await services.attempts_without_news() == []  # no longer pending
        shown = await services.attempt_for_resolution(attempt["id"])
        assert shown["resolvable"] and shown["status_label"] == services.NO_ANSWER_LABEL
        await services.resolve_attempt(
            actor, attempt["id"], outcome="payee", transaction="42", paid_on=T0.date()
        )
    assert await _paid(invoices) == [4250]


async def test_an_attempt_paybox_said_was_pending_stays_listed_whatever_its_age(verify):
    _, _, attempt = await _started(4250)
    raw = ipn_query(attempt["reference"], 4250, code="99999", auto="")
    with clock.frozen(T0 + dt.timedelta(minutes=1)):
        assert (await services.handle_notification(verify(raw))).outcome == "attente"
    with clock.frozen(T0 + dt.timedelta(days=40)):
        listed = await services.attempts_without_news()
        page = await services.reconciliation(7)  # the attempt is older than the period
    assert [(a["id"], a["age"], a["paybox_pending"]) for a in listed] == [
        (attempt["id"], "40 jours", True)
    ]
    assert [a["id"] for a in page["stale"]] == [attempt["id"]]
    assert page["attempts"] == []
