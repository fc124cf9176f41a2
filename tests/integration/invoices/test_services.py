"""The invoices' rules, called without HTTP: a tariff is never retroactive nor doubled, paperless
needs an address, a month is billed once it has begun; and the staff pages' read models."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.auth.principal import Principal
from ecp.commune.tables import BillingPeriod, Tariff
from ecp.errors import Rejected
from ecp.families.tables import Family
from ecp.invoices import billing, credit_notes, queries, services
from ecp.invoices.billing import run_billing
from ecp.invoices.tables import BillingRun, Invoice, InvoiceLine
from tests import factories
from tests.invoices_cleanup import delete_credit_notes_first  # noqa: F401
from tests.invoices_factories import NOV, make_billed_family, make_commune

D = dt.date


def _admin(staff) -> Principal:
    return Principal(
        kind="staff", session_id=1, name="Agent Test", staff_id=staff.id, role="administrateur"
    )


async def _tariff(actor, commune, valid_from, bracket=..., price=135):
    low, _ = commune["brackets"]
    return await services.create_tariff(
        actor,
        activity_id=commune["canteen"].id,
        bracket_id=low.id if bracket is ... else bracket,
        price_cents=price,
        majoration_cents=300,
        valid_from=valid_from,
    )


# ==== Tariffs =====================================================================================


async def test_a_tariff_from_today_is_written_and_journalled():
    clock.set_now(dt.datetime(2026, 12, 10, 12, 0))
    actor = _admin(await factories.make_staff())
    commune = await make_commune()
    before = await Tariff.count()
    created = await _tariff(actor, commune, D(2026, 12, 10))
    assert created == {"activity_label": "Restauration scolaire", "bracket_label": "Tranche A"}
    row = await Tariff.select().where(Tariff.price_cents == 135).first()
    assert row["valid_from"] == D(2026, 12, 10) and row["majoration_cents"] == 300
    assert await Tariff.count() == before + 1
    entry = (
        await AuditLog.select()
        .where(AuditLog.action == "tarif_cree")
        .output(load_json=True)
        .first()
    )
    assert (
        entry["staff"] == actor.staff_id and entry["target"] == f"Activity:{commune['canteen'].id}"
    )
    assert entry["details"]["tranche"] == "Tranche A" and entry["details"]["prix_cents"] == 135
    out_of_town = await _tariff(actor, commune, D(2026, 12, 10), bracket=None, price=700)
    assert out_of_town["bracket_label"] == "hors commune"
    assert (await Tariff.select().where(Tariff.price_cents == 700).first())["bracket"] is None


async def test_a_tariff_never_applies_before_today():
    clock.set_now(dt.datetime(2026, 12, 10, 12, 0))
    actor = _admin(await factories.make_staff())
    commune = await make_commune()
    before = await Tariff.count()
    with pytest.raises(Rejected) as refused:
        await _tariff(actor, commune, D(2026, 12, 9))
    assert refused.value.field == "date" and "jamais avant" in refused.value.message
    assert await Tariff.count() == before
    assert await AuditLog.count().where(AuditLog.action == "tarif_cree") == 0


async def test_a_tariff_never_applies_to_days_already_billed(settings):
    clock.set_now(dt.datetime(2026, 11, 20, 12, 0))
    actor = _admin(await factories.make_staff())
    commune = await make_commune()
    await make_billed_family(commune, code="F00001")
    await run_billing(NOV, settings=settings)  # November is invoiced, to its last day
    before = await Tariff.count()
    for day in (D(2026, 11, 25), D(2026, 11, 30)):  # from today, but billed already
        with pytest.raises(Rejected) as refused:
            await _tariff(actor, commune, day)
        assert refused.value.field == "date"
        assert "jusqu’au 30/11/2026 sont déjà facturés" in refused.value.message
    assert await Tariff.count() == before
    await _tariff(actor, commune, D(2026, 12, 1))
    assert await Tariff.count() == before + 1


async def test_a_tariff_is_never_programmed_twice_for_the_same_activity_bracket_and_date():
    clock.set_now(dt.datetime(2026, 12, 10, 12, 0))
    actor = _admin(await factories.make_staff())
    commune = await make_commune()
    low, high = commune["brackets"]
    day = D(2027, 1, 4)
    await _tariff(actor, commune, day)
    with pytest.raises(Rejected) as refused:
        await _tariff(actor, commune, day, price=150)
    assert refused.value.field == "date" and "existe déjà" in refused.value.message
    # Another bracket, another date or the out-of-town rate are other tariffs...
    await _tariff(actor, commune, day, bracket=high.id)
    await _tariff(actor, commune, day + dt.timedelta(days=1))
    await _tariff(actor, commune, day, bracket=None)
    # ...and the out-of-town rate (no bracket) is not doubled either.
    with pytest.raises(Rejected):
        await _tariff(actor, commune, day, bracket=None, price=800)
    assert await Tariff.count().where(Tariff.valid_from == day) == 3


async def test_a_tariff_names_an_activity_and_a_bracket_that_exist():
    clock.set_now(dt.datetime(2026, 12, 10, 12, 0))
    actor = _admin(await factories.make_staff())
    commune = await make_commune()
    before = await Tariff.count()
    with pytest.raises(Rejected) as refused:
        await services.create_tariff(
            actor,
            activity_id=99999,
            bracket_id=None,
            price_cents=100,
            majoration_cents=0,
            valid_from=D(2026, 12, 20),
        )
    assert refused.value.field == "activite"
    with pytest.raises(Rejected) as refused:
        await _tariff(actor, commune, D(2026, 12, 20), bracket=99999)
    assert refused.value.field == "tranche"
    assert await Tariff.count() == before


# ==== Paperless ==================================================================================


async def test_paperless_needs_an_email_address_and_paper_does_not():
    family = await factories.make_family("F00001", email="")
    with pytest.raises(Rejected) as refused:
        await services.choose_paperless(family.id, True)
    assert refused.value.field == "mode-courriel" and "Mes coordonnées" in refused.value.message
    assert (await queries.paperless_choice(family.id))["paperless"] is False
    await services.choose_paperless(family.id, False)  # paper needs nothing
    await Family.update({Family.email: "claire@example.org"}).where(Family.id == family.id)
    await services.choose_paperless(family.id, True)
    choice = await queries.paperless_choice(family.id)
    assert choice == {"id": family.id, "email": "claire@example.org", "paperless": True}
    await services.choose_paperless(family.id, False)
    assert (await queries.paperless_choice(family.id))["paperless"] is False


# ==== Billing run =================================================================================


async def _wait_runs():
    while billing.RUNNING:
        await asyncio.gather(*list(billing.RUNNING))


def _regisseur(staff) -> Principal:
    return Principal(kind="staff", session_id=1, name="R", staff_id=staff.id, role="regisseur")


async def test_an_ended_month_is_billed_and_journalled(settings):
    clock.set_now(dt.datetime(2026, 12, 1, 8, 0))
    staff = await factories.make_staff(role="regisseur")
    commune = await make_commune()
    await make_billed_family(commune, code="F00001")
    run_id = await services.start_billing(_regisseur(staff), NOV, settings)
    await _wait_runs()
    run = await BillingRun.select().where(BillingRun.id == run_id).first()
    assert run["status"] == "terminee" and run["started_by"] == staff.id
    assert await Invoice.count() == 1
    entry = (
        await AuditLog.select()
        .where(AuditLog.action == "facturation_lancee")
        .output(load_json=True)
        .first()
    )
    assert entry["target"] == f"BillingRun:{run_id}" and entry["details"] == {"mois": "2026-11"}
    period = await BillingPeriod.select().where(BillingPeriod.month == NOV).first()
    assert period["state"] == "facturee" and period["in_advance"] is False
    assert period["billed_at"] is not None


async def test_a_month_not_ended_is_billed_only_in_advance_once_confirmed(settings):
    clock.set_now(dt.datetime(2026, 11, 20, 12, 0))
    staff = await factories.make_staff(role="regisseur")
    actor = _regisseur(staff)
    commune = await make_commune()
    await make_billed_family(commune, code="F00001")
    with pytest.raises(Rejected) as refused:
        await services.start_billing(actor, D(2027, 1, 1), settings)  # two months ahead
    assert (
        refused.value.field == "mois" and "le mois en cours ou le suivant" in refused.value.message
    )
    # The month under way and the next one: the warning names the consequence, and without
    # the confirmation nothing is billed, no period opens (families may still book).
    for month, name in ((NOV, "novembre 2026"), (D(2026, 12, 1), "décembre 2026")):
        with pytest.raises(services.ConfirmationNeeded) as refused:
            await services.start_billing(actor, month, settings)
        assert refused.value.field == "confirmation"
        assert refused.value.warning.startswith(f"Les réservations de {name} pourront encore")
        assert "sera régularisé le mois suivant" in refused.value.warning
    assert await BillingRun.count() == 0 and await BillingPeriod.count() == 0
    assert await AuditLog.count() == 0
    run_id = await services.start_billing(actor, NOV, settings, confirmed=True)
    await _wait_runs()
    assert await Invoice.count() == 1
    entry = (
        await AuditLog.select()
        .where(AuditLog.action == "facturation_en_avance")
        .output(load_json=True)
        .first()
    )
    assert entry["target"] == f"BillingRun:{run_id}" and entry["details"]["mois"] == "2026-11"
    assert "pourront encore changer" in entry["details"]["avertissement"]
    period = await BillingPeriod.select().where(BillingPeriod.month == NOV).first()
    assert period["state"] == "facturee" and period["in_advance"] is True


# ==== Read models =================================================================================


async def test_billing_overview_shows_the_latest_run_and_refuses_an_unknown_one(settings):
    assert await queries.billing_overview() == {"runs": [], "run": None}
    commune = await make_commune()
    await make_billed_family(commune, code="F00001", days=(2, 3))
    await run_billing(NOV, settings=settings)
    overview = await queries.billing_overview()
    run = overview["run"]
    assert [r["id"] for r in overview["runs"]] == [run["id"]]
    assert run["percent"] == 100 and run["total_cents"] == 420
    assert run["month_label"] == "novembre 2026"
    assert await queries.billing_overview(run["id"] + 1) is None


async def test_staff_invoice_marks_the_lines_a_credit_note_already_cancelled(settings):
    commune = await make_commune()
    await make_billed_family(commune, code="F00001", days=(2, 3))
    await make_billed_family(commune, code="F00002", name="Diallo", days=(2,), paperless=True)
    await run_billing(NOV, settings=settings)
    invoice = await Invoice.select().order_by(Invoice.id).first()
    line = await InvoiceLine.select().where(InvoiceLine.invoice == invoice["id"]).first()
    doc = await queries.staff_invoice_document(invoice["id"])
    assert [ln["credited"] for ln in doc["lines"]] == [False]
    await credit_notes.issue_credit_note(
        invoice_id=invoice["id"], line_ids=[line["id"]], reason="Sortie"
    )
    doc = await queries.staff_invoice_document(invoice["id"])
    assert [ln["credited"] for ln in doc["lines"]] == [True]
    assert [c["number"] for c in doc["credits"]] == ["AV-" + str(clock.today().year) + "-000001"]
    assert await queries.staff_invoice_document(99999) is None
    # The régie's list: filters by month, family code and delivery (invoices only).
    listed = await queries.staff_invoices(month=NOV, family_code="F00002")
    assert [r["family_code"] for r in listed] == ["F00002"]
    paper = await queries.staff_invoices(delivery="papier")
    assert [r["number"] for r in paper] == [invoice["number"]]  # not its credit note
    assert len(await queries.staff_invoices()) == 3
    assert await queries.staff_invoices(month=D(2026, 10, 1)) == []


async def test_a_credit_note_refusal_is_a_rejection_naming_its_field(settings):
    commune = await make_commune()
    await make_billed_family(commune, code="F00001", days=(2,))
    await run_billing(NOV, settings=settings)
    invoice = await Invoice.select().first()
    with pytest.raises(Rejected) as refused:
        await credit_notes.issue_credit_note(invoice_id=invoice["id"], line_ids=[1], reason=" ")
    assert refused.value.field == "motif"
    with pytest.raises(credit_notes.CreditNoteError) as refused:
        await credit_notes.issue_credit_note(
            invoice_id=invoice["id"], line_ids=[99999], reason="Erreur"
        )
    assert refused.value.field is None  # the handler files it under the lines
