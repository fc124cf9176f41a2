"""The régie's documents from the database (both engines): the journal's and the bordereaux'
totals equal the sum of the payments of each mode, the PDFs say the same, the counter's receipt
e-mail is queued with the payment (and only with it), and a month's paper invoices come in one
PDF, one invoice after the other in family order."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.auth.principal import Principal
from ecp.errors import Rejected
from ecp.invoices.billing import run_billing
from ecp.invoices.tables import Invoice
from ecp.mail.tables import OutboxEmail
from ecp.payments import queries, regie, regie_exports, services
from ecp.payments.allocation import METHODS, record_payment
from ecp.payments.tables import Payment
from tests.factories import make_family, make_staff
from tests.invoices_factories import NOV, make_billed_family, make_commune
from tests.payments_factories import make_invoice

NOW = dt.datetime(2026, 11, 20, 15, 30, tzinfo=clock.PARIS)
DAY = NOW.date()


async def _regisseur() -> Principal:
    staff = await make_staff(role="regisseur", display_name="Régisseur Test")
    return Principal(
        kind="staff", session_id=0, name="Régisseur Test", staff_id=staff.id, role="regisseur"
    )


def _pdf_text(content: bytes) -> list[str]:
    assert content.startswith(b"%PDF")
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def _flat(pages: list[str]) -> str:
    """The PDF's words in order, whatever the table cells' line breaks."""
    return " ".join(" ".join(pages).split())


async def _day_of_payments(actor, settings) -> list[tuple[str, int]]:
    """Payments of every mode on DAY, two the day before and one the day after at midnight."""
    family = await make_family(code="F00001", name="Martin")
    other = await make_family(code="F00002", name="Diallo")
    made = []
    counter = [
        (family, "especes", 1250, "", "", ""),
        (family, "cheque", 4200, "CHQ 0001", "M. Paul Martin", "Crédit Mutuel"),
        (other, "cheque", 1999, "CHQ 0002", "Mme Awa Diallo", "La Banque Postale"),
        (other, "cesu", 3000, "CESU 77", "", ""),
        (family, "ancv", 2000, "", "", ""),
        (other, "virement", 870, "VIR DIALLO", "", ""),
        (family, "especes", 1, "", "", ""),
    ]
    with clock.frozen(NOW):
        for who, method, cents, reference, drawer, bank in counter:
            invoice = await make_invoice(who, cents)
            await services.record_counter_payment(
                actor,
                family_id=who.id,
                method=method,
                amount_cents=cents,
                invoice_ids=[invoice.id],
                received_on=DAY,
                reference=reference,
                drawer=drawer,
                bank=bank,
                settings=settings,
            )
            made.append((method, cents))
        yesterday = await make_invoice(family, 999)
        await services.record_counter_payment(
            actor,
            family_id=family.id,
            method="cheque",
            amount_cents=999,
            invoice_ids=[yesterday.id],
            received_on=DAY - dt.timedelta(days=1),
            reference="CHQ 0000",
            drawer="M. Paul Martin",
            bank="Crédit Mutuel",
            settings=settings,
        )
    card = await make_invoice(other, 3310)
    await record_payment(
        family_id=other.id,
        method="carte",
        amount_cents=3310,
        invoice_ids=[card.id],
        received_at=dt.datetime(2026, 11, 20, 23, 59, tzinfo=clock.PARIS),
        provider_transaction="T1",
    )
    made.append(("carte", 3310))
    late = await make_invoice(other, 500)
    await record_payment(
        family_id=other.id,
        method="carte",
        amount_cents=500,
        invoice_ids=[late.id],
        received_at=dt.datetime(2026, 11, 21, 0, 0, tzinfo=clock.PARIS),
        provider_transaction="T2",
    )
    return made


async def test_the_journal_of_a_day_totals_each_mode_and_the_day(settings):
    actor = await _regisseur()
    made = await _day_of_payments(actor, settings)
    doc = await queries.journal(regie.Period.day(DAY))
    assert doc["count"] == len(made) == 8
    assert [p["method"] for p in doc["lines"]] == [m for m, _ in made]  # in the order received
    totals = {t["method"]: t for t in doc["totals"]}
    for method in METHODS:
        assert totals[method]["cents"] == sum(c for m, c in made if m == method), method
        assert totals[method]["count"] == sum(1 for m, _ in made if m == method), method
    assert doc["total_cents"] == sum(c for _, c in made) == 16630
    cheque = next(p for p in doc["lines"] if p["reference"] == "CHQ 0002")
    assert (cheque["drawer"], cheque["bank"]) == ("Mme Awa Diallo", "La Banque Postale")
    assert cheque["recorded_by_label"] == "Régisseur Test"
    # The month holds the day before and the day after too.
    month = await queries.journal(regie.Period.month(DAY))
    assert month["count"] == 10 and month["total_cents"] == 16630 + 999 + 500


async def test_the_bordereau_of_each_mode_totals_its_payments(settings):
    actor = await _regisseur()
    made = await _day_of_payments(actor, settings)
    for method in METHODS:
        doc = await queries.slip(method, regie.Period.day(DAY))
        assert doc["total_cents"] == sum(c for m, c in made if m == method), method
        assert doc["count"] == sum(1 for m, _ in made if m == method), method
        assert all(p["method"] == method for p in doc["lines"])
    two_days = await queries.slip("cheque", regie.Period(DAY - dt.timedelta(days=1), DAY))
    assert [p["reference"] for p in two_days["lines"]] == ["CHQ 0000", "CHQ 0001", "CHQ 0002"]
    assert two_days["total_cents"] == 999 + 4200 + 1999


async def test_the_pdfs_and_csv_say_the_same_totals_and_are_journalled(settings):
    actor = await _regisseur()
    await _day_of_payments(actor, settings)
    period = regie.Period.day(DAY)
    journal = _flat(_pdf_text(await regie_exports.journal_file(actor, period, "pdf", settings)))
    assert "Journal de régie du vendredi 20 novembre 2026" in journal
    assert "166,30" in journal and "Total général" in journal
    assert "Mme Awa Diallo" in journal and "La Banque Postale" in journal
    slip = _flat(_pdf_text(await regie_exports.slip_file(actor, "cheque", period, "pdf", settings)))
    assert "Bordereau de remise de chèques" in slip
    assert "61,99" in slip and "2 paiements" in slip and "Mme Awa Diallo" in slip
    assert "CHQ 0000" not in slip  # the day before
    text = await regie_exports.slip_file(actor, "cheque", period, "csv", settings)
    assert text.splitlines()[-1].endswith(";61,99")
    actions = [r["action"] for r in await AuditLog.select(AuditLog.action).order_by(AuditLog.id)]
    assert actions[-3:] == [
        "journal_regie_telecharge",
        "bordereau_remise_telecharge",
        "bordereau_remise_telecharge",
    ]


async def test_a_counter_payment_queues_the_familys_receipt_in_its_transaction(settings):
    actor = await _regisseur()
    family = await make_family(code="F00001", name="Martin", email="martin@example.org")
    older = await make_invoice(family, 4250, number="FAC-2026-000101")
    newer = await make_invoice(family, 990, number="FAC-2026-000102")
    untouched = await make_invoice(family, 1500, number="FAC-2026-000103")
    with clock.frozen(NOW):
        result = await services.record_counter_payment(
            actor,
            family_id=family.id,
            method="cheque",
            amount_cents=3000,
            invoice_ids=[newer.id, older.id],
            received_on=DAY,
            reference="CHQ 42",
            drawer="M. Paul Martin",
            bank="Crédit Mutuel",
            settings=settings,
        )
    mail = await OutboxEmail.select().first()
    assert await OutboxEmail.count() == 1
    assert mail["to_address"] == "martin@example.org" and mail["kind"] == "recu"
    assert mail["family"] == family.id
    assert mail["subject"] == "Reçu de votre paiement de 30,00\u00a0€ à la régie"
    text = mail["body_text"]
    assert "30,00\u00a0€ (Chèque, référence CHQ 42)" in text
    assert "facture FAC-2026-000102" in text and "9,90" in text
    assert "facture FAC-2026-000101" in text and "20,10" in text  # 30 - 9,90 paid on 42,50
    # What is left: 42,50 - 20,10 on the older one, and the untouched 15,00.
    assert "Reste à payer sur l’ensemble de vos factures : 37,40\u00a0€." in text
    assert f"paiement n° {result['payment_id']}" in text
    assert "https://testserver.local/famille/paiements" in text
    assert "FAC-2026-000103" not in text and untouched.id
    payment = await Payment.select().first()
    assert (payment["drawer"], payment["bank"]) == ("M. Paul Martin", "Crédit Mutuel")


async def test_no_receipt_without_an_address_or_when_the_payment_is_refused(settings):
    actor = await _regisseur()
    silent = await make_family(code="F00001", email="")
    ours = await make_invoice(silent, 1000)
    other = await make_family(code="F00002", name="Diallo")
    theirs = await make_invoice(other, 1000)
    with clock.frozen(NOW):
        await services.record_counter_payment(
            actor,
            family_id=silent.id,
            method="especes",
            amount_cents=1000,
            invoice_ids=[ours.id],
            received_on=DAY,
            drawer="ignored for cash",
            settings=settings,
        )
        with pytest.raises(Rejected):
            await services.record_counter_payment(
                actor,
                family_id=other.id,
                method="especes",
                amount_cents=500,
                invoice_ids=[ours.id, theirs.id],
                received_on=DAY,
                settings=settings,
            )
    assert await OutboxEmail.count() == 0
    cash = await Payment.select().first()
    assert await Payment.count() == 1 and cash["drawer"] == "" and cash["bank"] == ""


async def test_a_paid_off_family_is_told_it_owes_nothing(settings):
    actor = await _regisseur()
    family = await make_family(code="F00001")
    invoice = await make_invoice(family, 1000)
    with clock.frozen(NOW):
        await services.record_counter_payment(
            actor,
            family_id=family.id,
            method="ancv",
            amount_cents=1200,
            invoice_ids=[invoice.id],
            received_on=DAY,
            settings=settings,
        )
    text = (await OutboxEmail.select().first())["body_text"]
    assert "Chèques vacances (ANCV)" in text
    assert "Trop-perçu : 2,00" in text and "Vous n’avez plus aucune facture à régler." in text


async def test_a_months_paper_invoices_come_in_one_pdf_in_family_order(settings):
    actor = await _regisseur()
    commune = await make_commune()
    await make_billed_family(commune, code="F00003", name="Zola", days=(2,))
    await make_billed_family(commune, code="F00001", name="Bernard", days=(2, 3))
    await make_billed_family(commune, code="F00002", name="Martin", days=(3,), paperless=True)
    await make_billed_family(commune, code="F00004", name="Adam", days=(4, 5))
    await run_billing(NOV, settings=settings)
    invoices = {
        r["family_name"]: r["number"]
        for r in await Invoice.select(Invoice.family_name, Invoice.number)
    }
    assert await queries.paper_invoice_count(NOV) == 3
    content = await regie_exports.paper_invoices_pdf(actor, NOV, 1, settings)
    pages = _pdf_text(content)
    titles = [
        line.removeprefix("Facture ")
        for page in pages
        for line in page.splitlines()
        if re.fullmatch(r"Facture FAC-\d{4}-\d{6}", line.strip())  # the title, not the footer
    ]
    # One invoice document per paper family, in family order; not the paperless one.
    assert titles == [invoices["Adam"], invoices["Bernard"], invoices["Zola"]]
    assert invoices["Martin"] not in "\n".join(pages)
    assert len(pages) == 3  # each invoice starts on a page of its own
    for page, name in zip(pages, ("Adam", "Bernard", "Zola"), strict=True):
        assert f"Famille {name}" in page
    assert await regie_exports.paper_invoices_pdf(actor, NOV, 2, settings) is None
    entry = await AuditLog.select().where(AuditLog.action == "factures_papier_imprimees").first()
    assert entry is not None


def test_paper_parts_split_a_big_month():
    assert regie_exports.paper_parts(0) == []
    size = regie_exports.PAPER_PART_SIZE
    parts = regie_exports.paper_parts(size * 2 + 1)
    assert [(p["number"], p["first"], p["last"]) for p in parts] == [
        (1, 1, size),
        (2, size + 1, size * 2),
        (3, size * 2 + 1, size * 2 + 1),
    ]
