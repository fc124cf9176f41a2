"""Relances, called without HTTP (both engines): a first one for every overdue invoice, by
e-mail or letter; never twice, never for a paid invoice, a second only after a first and
SECOND_AFTER_DAYS; the overdue list's ageing; the letters of a batch in one PDF."""

from __future__ import annotations

import asyncio
import datetime as dt
import io

import pytest
from pypdf import PdfReader

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.auth.principal import Principal
from ecp.mail.tables import OutboxEmail
from ecp.payments import queries, regie, relances, services
from ecp.payments.tables import InvoiceReminder, ReminderBatch
from tests.factories import make_family, make_guardian, make_staff
from tests.payments_factories import make_invoice

NOW = dt.datetime(2026, 11, 20, 10, tzinfo=clock.PARIS)
TODAY = NOW.date()


async def _regisseur() -> Principal:
    staff = await make_staff(role="regisseur", display_name="Régisseur Test")
    return Principal(
        kind="staff", session_id=0, name="Régisseur Test", staff_id=staff.id, role="regisseur"
    )


def _late(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


async def _families():
    """Martin (paperless, e-mail): two late invoices and one not due yet; Diallo (paper): one
    late invoice; Petit (paperless without an address): one late, one paid."""
    martin = await make_family(code="F00001", name="Martin", paperless=True)
    diallo = await make_family(code="F00002", name="Diallo", paperless=False)
    petit = await make_family(code="F00003", name="Petit", paperless=True, email="")
    for family in (martin, diallo, petit):
        await make_guardian(family, address_line1=f"{family.id} rue des Écoles")
    invoices = {
        "martin_old": await make_invoice(martin, 4250, due_on=_late(95)),
        "martin_new": await make_invoice(martin, 1200, paid_cents=200, due_on=_late(10)),
        "martin_future": await make_invoice(martin, 990, due_on=TODAY + dt.timedelta(days=5)),
        "martin_today": await make_invoice(martin, 500, due_on=TODAY),
        "diallo": await make_invoice(diallo, 3000, due_on=_late(45)),
        "petit": await make_invoice(petit, 800, due_on=_late(70)),
        "petit_paid": await make_invoice(petit, 800, paid_cents=800, due_on=_late(70)),
    }
    return (martin, diallo, petit), invoices


async def _reminded(level: int) -> set[int]:
    rows = await InvoiceReminder.select(InvoiceReminder.invoice).where(
        InvoiceReminder.level == level
    )
    return {r["invoice"] for r in rows}


async def test_a_first_relance_for_every_overdue_invoice_by_e_mail_or_letter(settings):
    actor = await _regisseur()
    (martin, diallo, petit), inv = await _families()
    with clock.frozen(NOW):
        result = await relances.send_reminders(actor, 1, settings)
    late = {inv[k].id for k in ("martin_old", "martin_new", "diallo", "petit")}
    assert await _reminded(1) == late
    assert result["invoices"] == 4 and result["emails"] == 1 and result["letters"] == 2
    rows = {r["invoice"]: r for r in await InvoiceReminder.select()}
    assert rows[inv["martin_old"].id]["channel"] == "courriel"
    assert rows[inv["diallo"].id]["channel"] == "courrier"
    assert rows[inv["petit"].id]["channel"] == "courrier"  # paperless, but no address
    assert rows[inv["martin_new"].id]["owed_cents"] == 1000
    assert all(r["sent_by"] == actor.staff_id and r["sent_at"] == NOW for r in rows.values())
    assert all(r["batch"] == result["batch_id"] for r in rows.values())
    # One e-mail per family, listing its invoices.
    mails = await OutboxEmail.select()
    assert len(mails) == 1 and mails[0]["family"] == martin.id and mails[0]["kind"] == "relance"
    assert mails[0]["subject"] == "Rappel\u00a0: factures impayées"
    text = mails[0]["body_text"]
    assert inv["martin_old"].number in text and inv["martin_new"].number in text
    assert "Total à régler : 52,50" in text
    assert inv["martin_future"].number not in text and inv["martin_today"].number not in text
    batch = await ReminderBatch.select().first()
    assert (batch["level"], batch["emails"], batch["letters"]) == (1, 1, 2)
    entry = await AuditLog.select().where(AuditLog.action == "relances_envoyees").first()
    assert entry["target"] == f"ReminderBatch:{batch['id']}"


async def test_running_the_first_relances_twice_sends_nothing_the_second_time(settings):
    actor = await _regisseur()
    await _families()
    with clock.frozen(NOW):
        await relances.send_reminders(actor, 1, settings)
        with pytest.raises(relances.NothingToRemind) as refused:
            await relances.send_reminders(actor, 1, settings)
    assert refused.value.field == "niveau"
    assert await InvoiceReminder.count() == 4 and await ReminderBatch.count() == 1
    assert await OutboxEmail.count() == 1
    assert await AuditLog.count().where(AuditLog.action == "relances_envoyees") == 1


async def test_an_invoice_late_later_gets_its_own_first_relance_and_no_other_again(settings):
    actor = await _regisseur()
    (martin, *_), inv = await _families()
    with clock.frozen(NOW):
        await relances.send_reminders(actor, 1, settings)
    with clock.frozen(NOW + dt.timedelta(days=6)):  # martin_future and martin_today are late
        result = await relances.send_reminders(actor, 1, settings)
    assert result["invoices"] == 2
    later = await InvoiceReminder.select().where(InvoiceReminder.batch == result["batch_id"])
    assert {r["invoice"] for r in later} == {inv["martin_future"].id, inv["martin_today"].id}


async def test_a_second_relance_only_after_a_first_and_the_delay_and_never_when_paid(settings):
    actor = await _regisseur()
    (martin, diallo, petit), inv = await _families()
    with clock.frozen(NOW), pytest.raises(relances.NothingToRemind):
        await relances.send_reminders(actor, 2, settings)  # no first one yet
    with clock.frozen(NOW):
        await relances.send_reminders(actor, 1, settings)
    too_soon = NOW + dt.timedelta(days=regie.SECOND_AFTER_DAYS - 1)
    with clock.frozen(too_soon), pytest.raises(relances.NothingToRemind):
        await relances.send_reminders(actor, 2, settings)
    # Diallo pays in full at the counter, Martin pays his newer invoice.
    with clock.frozen(too_soon):
        for family, invoice, cents in ((diallo, "diallo", 3000), (martin, "martin_new", 1000)):
            await services.record_counter_payment(
                actor,
                family_id=family.id,
                method="especes",
                amount_cents=cents,
                invoice_ids=[inv[invoice].id],
                received_on=too_soon.date(),
                settings=settings,
            )
    later = NOW + dt.timedelta(days=regie.SECOND_AFTER_DAYS)
    with clock.frozen(later):
        result = await relances.send_reminders(actor, 2, settings)
        with pytest.raises(relances.NothingToRemind):
            await relances.send_reminders(actor, 2, settings)
    assert await _reminded(2) == {inv["martin_old"].id, inv["petit"].id}
    assert result["emails"] == 1 and result["letters"] == 1
    second = (
        await OutboxEmail.select()
        .where(OutboxEmail.kind == "relance")
        .order_by(OutboxEmail.id, ascending=False)
        .first()
    )
    assert second["subject"] == "Deuxième relance\u00a0: facture impayée"
    assert inv["martin_old"].number in second["body_text"]
    assert inv["martin_new"].number not in second["body_text"]  # paid
    assert "comptable public" in second["body_text"]
    # No third level exists.
    with clock.frozen(later), pytest.raises(relances.Rejected):
        await relances.send_reminders(actor, 3, settings)


async def test_letters_leave_out_what_was_paid_since_and_come_in_one_pdf(settings):
    actor = await _regisseur()
    (martin, diallo, petit), inv = await _families()
    with clock.frozen(NOW):
        result = await relances.send_reminders(actor, 1, settings)
    letters = await queries.reminder_letters(result["batch_id"])
    assert [letter["family_name"] for letter in letters] == ["Diallo", "Petit"]
    assert letters[0]["address"][1] == f"{diallo.id} rue des Écoles"
    assert letters[0]["total_cents"] == 3000
    content = await relances.letters_pdf(actor, result["batch_id"], settings)
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(content)).pages]
    assert len(pages) == 2  # one letter a page, every family of the batch in one PDF
    assert "Famille Diallo" in pages[0] and inv["diallo"].number in pages[0]
    assert "Famille Petit" in pages[1] and inv["petit"].number in pages[1]
    assert all("Rappel" in p for p in pages)
    with clock.frozen(NOW):
        await services.record_counter_payment(
            actor,
            family_id=diallo.id,
            method="especes",
            amount_cents=3000,
            invoice_ids=[inv["diallo"].id],
            received_on=TODAY,
            settings=settings,
        )
    letters = await queries.reminder_letters(result["batch_id"])
    assert [letter["family_name"] for letter in letters] == ["Petit"]
    batch = await queries.reminder_batch(result["batch_id"])
    assert batch["letters_due"] == 1
    with clock.frozen(NOW):
        await services.record_counter_payment(
            actor,
            family_id=petit.id,
            method="especes",
            amount_cents=800,
            invoice_ids=[inv["petit"].id],
            received_on=TODAY,
            settings=settings,
        )
    assert await relances.letters_pdf(actor, result["batch_id"], settings) is None
    with pytest.raises(relances.BatchNotFound):
        await relances.letters_pdf(actor, 999, settings)
    assert await AuditLog.count().where(AuditLog.action == "relances_imprimees") == 1


async def test_the_overdue_list_ages_filters_and_counts_what_is_due(settings):
    actor = await _regisseur()
    (martin, diallo, petit), inv = await _families()
    with clock.frozen(NOW):
        data = await queries.overdue()
    numbers = [i["number"] for i in data["invoices"]]
    # Oldest due date first; the paid, the not-yet-due and the due-today are not late.
    assert numbers == [
        inv["martin_old"].number,
        inv["petit"].number,
        inv["diallo"].number,
        inv["martin_new"].number,
    ]
    by_number = {i["number"]: i for i in data["invoices"]}
    assert by_number[inv["martin_old"].number]["bucket"] == "90+"
    assert by_number[inv["petit"].number]["bucket"] == "61-90"
    assert by_number[inv["diallo"].number]["bucket"] == "31-60"
    assert by_number[inv["martin_new"].number]["days_late"] == 10
    buckets = {b["key"]: b for b in data["ageing"]["buckets"]}
    assert buckets["0-30"]["cents"] == 1000 and buckets["31-60"]["cents"] == 3000
    assert buckets["61-90"]["cents"] == 800 and buckets["90+"]["cents"] == 4250
    assert data["ageing"]["cents"] == 9050 == sum(b["cents"] for b in buckets.values())
    assert data["due"] == {1: 4, 2: 0}
    with clock.frozen(NOW):
        assert [i["number"] for i in (await queries.overdue(bucket="31-60"))["invoices"]] == [
            inv["diallo"].number
        ]
        assert len((await queries.overdue(family_code="F00001"))["invoices"]) == 2
        await relances.send_reminders(actor, 1, settings)
        reminded = await queries.overdue(reminder="1")
        assert len(reminded["invoices"]) == 4 and reminded["due"] == {1: 0, 2: 0}
        assert (await queries.overdue(reminder="aucune"))["invoices"] == []
        first = reminded["invoices"][0]
        assert first["level"] == 1 and first["reminders"][0]["channel"] == "courriel"
    with clock.frozen(NOW + dt.timedelta(days=regie.SECOND_AFTER_DAYS)):
        # Two more are late by then (due today and in five days): a first relance for them.
        assert (await queries.overdue())["due"] == {1: 2, 2: 4}


async def test_two_batches_at_once_send_each_relance_once(settings):
    actor = await _regisseur()
    await _families()
    with clock.frozen(NOW):
        outcomes = await asyncio.gather(
            relances.send_reminders(actor, 1, settings),
            relances.send_reminders(actor, 1, settings),
            return_exceptions=True,
        )
    sent = [o for o in outcomes if isinstance(o, dict)]
    refused = [o for o in outcomes if isinstance(o, relances.NothingToRemind)]
    assert len(sent) == 1 and len(refused) == 1, outcomes
    assert await InvoiceReminder.count() == 4 and await ReminderBatch.count() == 1
    assert await OutboxEmail.count() == 1
