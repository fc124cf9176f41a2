"""SECURITY I1–I4, I6: the Paybox notification, signed with a key pair made for the check."""

from __future__ import annotations

import asyncio

from cryptography.hazmat.primitives.asymmetric import rsa

from ecp.invoices.tables import Invoice
from ecp.mail.tables import OutboxEmail
from ecp.payments.tables import (
    Payment,
    PaymentAllocation,
    PaymentAttempt,
    PaymentNotification,
    RefusedNotification,
)
from tests.payments_factories import ipn_query
from tests.web.payments.helpers import (
    attempt_status,
    family_with_invoices,
    login_family,
    started_reference,
)

IPN = "/paiement/paybox/ipn"


async def paid_cents(invoice) -> int:
    row = await Invoice.select(Invoice.paid_cents).where(Invoice.id == invoice.id).first()
    return row["paid_cents"]


async def refused() -> list[tuple[str, int]]:
    """(reason, count) of the requests refused at the notification URL."""
    rows = await RefusedNotification.select(
        RefusedNotification.reason, RefusedNotification.hits
    ).order_by(RefusedNotification.id)
    return [(r["reason"], r["hits"]) for r in rows]


async def outcomes() -> list[str]:
    rows = await PaymentNotification.select(PaymentNotification.outcome).order_by(
        PaymentNotification.id
    )
    return [r["outcome"] for r in rows]


async def prepared(client, *totals):
    family, invoices = await family_with_invoices(*totals)
    await login_family(client)
    reference = await started_reference(client, invoices)
    return family, invoices, reference


async def deliver(client, raw: bytes, method: str = "GET"):
    # A fresh client: Paybox has no cookie, no CSRF token.
    if method == "GET":
        return await client.get(f"{IPN}?{raw.decode()}", headers={"cookie": ""})
    return await client.post(
        IPN,
        content=raw,
        headers={"content-type": "application/x-www-form-urlencoded", "cookie": ""},
    )


async def test_valid_notification_pays_the_invoices_and_queues_a_receipt(client):
    family, invoices, reference = await prepared(client, 4250, 1000)
    response = await deliver(client, ipn_query(reference, 5250, trans="7001"))
    assert response.status_code == 200 and response.text == "OK"
    assert [await paid_cents(i) for i in invoices] == [4250, 1000]
    assert await attempt_status(reference) == "payee"
    payment = await Payment.select().first()
    assert (
        payment["method"],
        payment["amount_cents"],
        payment["provider_transaction"],
        payment["unallocated_cents"],
    ) == ("carte", 5250, "7001", 0)
    assert await PaymentAllocation.count() == 2
    assert await outcomes() == ["payee"]
    mail = await OutboxEmail.select().where(OutboxEmail.kind == "recu").first()
    assert mail["to_address"] == family.email and "52,50" in mail["subject"]
    assert invoices[0].number in mail["body_text"] and "7001" in mail["body_text"]


async def test_notification_by_post_is_accepted_too(client):
    _, invoices, reference = await prepared(client, 4250)
    response = await deliver(client, ipn_query(reference, 4250), method="POST")
    assert response.status_code == 200
    assert await paid_cents(invoices[0]) == 4250


async def test_tampered_amount_is_rejected_by_the_signature(client):
    _, invoices, reference = await prepared(client, 4250)
    raw = ipn_query(reference, 4250).replace(b"mt=4250", b"mt=0100")
    response = await deliver(client, raw)
    assert response.status_code == 403
    assert await paid_cents(invoices[0]) == 0 and await Payment.count() == 0
    # Refused requests are counted apart, not stored one row each as notifications.
    assert await outcomes() == [] and await refused() == [("signature", 1)]
    row = await RefusedNotification.select().first()
    assert "mt=0100" in row["sample"] and row["source_ip"] == "127.0.0.1"


async def test_signed_notification_with_a_different_amount_pays_nothing(client):
    _, invoices, reference = await prepared(client, 4250)
    response = await deliver(client, ipn_query(reference, 100))
    assert response.status_code == 200  # Paybox is answered; the régisseur is told
    assert await paid_cents(invoices[0]) == 0 and await Payment.count() == 0
    assert await attempt_status(reference) == "en_attente"
    assert await outcomes() == ["montant"]


async def test_tampered_or_unknown_reference_pays_nothing(client):
    _, invoices, reference = await prepared(client, 4250)
    raw = ipn_query(reference, 4250)
    # Change the last character, whatever it is, so the signed bytes always differ.
    swapped = "Z" if reference[-1] != "Z" else "Y"
    tampered = raw.replace(reference.encode(), (reference[:-1] + swapped).encode())
    assert tampered != raw
    assert (await deliver(client, tampered)).status_code == 403
    assert (await deliver(client, ipn_query("ECP-inconnue", 4250))).status_code == 200
    assert await paid_cents(invoices[0]) == 0 and await Payment.count() == 0
    assert await outcomes() == ["reference"] and await refused() == [("signature", 1)]


async def test_missing_or_foreign_signature_pays_nothing(client):
    _, invoices, reference = await prepared(client, 4250)
    raw = ipn_query(reference, 4250)
    unsigned = raw[: raw.rfind(b"&sign=")]
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for bad in (
        unsigned,
        unsigned + b"&sign=",
        ipn_query(reference, 4250, key=other_key),
        raw + b"&mt=4250",
    ):
        assert (await deliver(client, bad)).status_code == 403
    assert await paid_cents(invoices[0]) == 0 and await Payment.count() == 0
    assert await outcomes() == [] and await refused() == [("signature", 4)]


async def test_refusal_codes_and_missing_authorisation_leave_the_invoice_unpaid(client):
    _, invoices, reference = await prepared(client, 4250)
    assert (await deliver(client, ipn_query(reference, 4250, code="00105"))).status_code == 200
    assert await attempt_status(reference) == "refusee"
    assert (await deliver(client, ipn_query(reference, 4250, auto=""))).status_code == 200
    assert await attempt_status(reference) == "refusee"
    assert (await deliver(client, ipn_query(reference, 4250, code="00001"))).status_code == 200
    assert await attempt_status(reference) == "annulee"
    assert await paid_cents(invoices[0]) == 0 and await Payment.count() == 0
    assert await outcomes() == ["refusee", "autorisation", "annulee"]
    # The parent retries on the bank's page: a later success still counts.
    assert (await deliver(client, ipn_query(reference, 4250))).status_code == 200
    assert await paid_cents(invoices[0]) == 4250


async def test_a_late_refusal_never_undoes_a_success(client):
    _, invoices, reference = await prepared(client, 4250)
    await deliver(client, ipn_query(reference, 4250))
    await deliver(client, ipn_query(reference, 4250, code="00151"))
    assert await attempt_status(reference) == "payee"
    assert await paid_cents(invoices[0]) == 4250


async def test_pending_code_waits_for_a_later_notification(client):
    _, invoices, reference = await prepared(client, 4250)
    await deliver(client, ipn_query(reference, 4250, code="99999", auto=""))
    assert await attempt_status(reference) == "en_attente"
    assert await outcomes() == ["attente"]


async def test_the_same_notification_fifty_times_records_one_payment(client):
    _, invoices, reference = await prepared(client, 4250)
    raw = ipn_query(reference, 4250, trans="424242")
    for _ in range(50):
        assert (await deliver(client, raw)).status_code == 200
    assert await Payment.count() == 1 and await PaymentAllocation.count() == 1
    assert await paid_cents(invoices[0]) == 4250
    assert await outcomes() == ["payee"] + ["doublon"] * 49
    assert await OutboxEmail.count() == 1


async def test_five_identical_notifications_at_once_record_one_payment(client):
    _, invoices, reference = await prepared(client, 4250)
    raw = ipn_query(reference, 4250, trans="515151")
    responses = await asyncio.gather(*(deliver(client, raw) for _ in range(5)))
    assert [r.status_code for r in responses] == [200] * 5
    assert await Payment.count() == 1
    assert await paid_cents(invoices[0]) == 4250
    assert sorted(await outcomes()) == ["doublon"] * 4 + ["payee"]


async def test_second_success_for_a_paid_attempt_is_kept_as_overpayment(client):
    _, invoices, reference = await prepared(client, 4250)
    await deliver(client, ipn_query(reference, 4250, trans="1"))
    await deliver(client, ipn_query(reference, 4250, trans="2"))
    assert await paid_cents(invoices[0]) == 4250
    second = await Payment.select().where(Payment.provider_transaction == "2").first()
    assert second["unallocated_cents"] == 4250
    assert await outcomes() == ["payee", "surpaiement"]


async def test_two_attempts_paid_for_one_invoice_flag_an_overpayment(client):
    import datetime as dt

    from ecp import clock

    _, invoices, first = await prepared(client, 4250)
    # The first attempt lapses (the parent left the bank's page open), then a second starts.
    await PaymentAttempt.update(
        {PaymentAttempt.expires_at: clock.now() - dt.timedelta(minutes=1)}
    ).where(PaymentAttempt.reference == first)
    second = await started_reference(client, invoices)
    assert second != first
    await deliver(client, ipn_query(second, 4250, trans="11"))
    await deliver(client, ipn_query(first, 4250, trans="12"))
    assert await paid_cents(invoices[0]) == 4250
    late = await Payment.select().where(Payment.provider_transaction == "12").first()
    assert late["unallocated_cents"] == 4250
    assert await outcomes() == ["payee", "surpaiement"]


async def test_the_route_skips_only_csrf_and_the_session(app):
    handler = next(
        h for r in app.routes for h in getattr(r, "route_handlers", []) if h.name == "paybox_ipn"
    )
    assert not handler.guards and set(handler.http_methods) == {"GET", "POST"}
    assert app.csrf_config.exclude == ["^/paiement/paybox/ipn$"]
    others = [
        h.name
        for r in app.routes
        for h in getattr(r, "route_handlers", [])
        if h.opt.get("exclude_from_csrf")
    ]
    assert others == []  # the simulator's entry exists only with the simulator on


async def test_unexpected_source_address_is_logged_not_blocked(
    client, settings, paybox_dir, monkeypatch
):
    from ecp.payments import services

    warnings = []
    monkeypatch.setattr(services.log, "warning", lambda *args: warnings.append(args[0] % args[1:]))
    _, invoices, reference = await prepared(client, 4250)
    from ecp.app import create_app
    from tests.conftest import make_client
    from tests.payments_factories import test_config

    app = create_app(settings.with_(paybox=test_config(paybox_dir, ipn_sources=("194.2.122.158",))))
    async with make_client(app) as paybox_client:
        response = await deliver(paybox_client, ipn_query(reference, 4250))
    assert response.status_code == 200 and await paid_cents(invoices[0]) == 4250
    assert any("unexpected address 127.0.0.1" in w for w in warnings)


async def test_a_failure_while_recording_changes_nothing_and_is_kept(client, monkeypatch):
    from ecp.payments import services

    async def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "record_payment", broken)
    _, invoices, reference = await prepared(client, 4250)
    response = await deliver(client, ipn_query(reference, 4250))
    assert response.status_code == 500  # Paybox e-mails a warning: a useful alarm
    assert await paid_cents(invoices[0]) == 0 and await attempt_status(reference) == "en_attente"
    assert await outcomes() == ["exception"]
