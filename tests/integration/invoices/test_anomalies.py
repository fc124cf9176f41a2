"""Billing anomalies kept per month (ecp.invoices.anomalies), against the database: a re-run
upserts and never erases, an examined family's vanished anomaly is closed by the run, a
corrected one found again is reopened, and the régisseur's handling is journalled."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.auth.principal import Principal
from ecp.commune.tables import Tariff
from ecp.errors import Rejected
from ecp.invoices import anomalies
from ecp.invoices.billing import run_billing
from ecp.invoices.pricing import Anomaly
from ecp.invoices.queries import billing_overview
from ecp.invoices.tables import BillingAnomaly, BillingRun, Invoice
from tests import factories
from tests.invoices_factories import NOV, book_days, make_billed_family, make_commune, mark

D = dt.date
ISSUED = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


async def _regisseur() -> Principal:
    staff = await factories.make_staff(role="regisseur", display_name="Régisseur Test")
    return Principal(
        kind="staff", session_id=0, name="Régisseur Test", staff_id=staff.id, role="regisseur"
    )


async def _rows() -> list[dict]:
    return await BillingAnomaly.select().order_by(BillingAnomaly.day, BillingAnomaly.id)


async def _two_anomalies(settings):
    commune = await make_commune()
    family, lea = await make_billed_family(commune, code="F00001", days=(2, 3))
    await mark(lea, commune, D(2026, 11, 9), "present")  # no booking: majoration
    await mark(lea, commune, D(2026, 11, 3), "absent")  # booked, absent: billed
    result = await run_billing(NOV, settings=settings, issued_at=ISSUED)
    return commune, family, lea, result


async def test_a_run_keeps_each_anomaly_once_with_the_run_that_found_it(settings):
    _, family, lea, result = await _two_anomalies(settings)
    rows = await _rows()
    assert [(r["kind"], r["day"], r["state"]) for r in rows] == [
        ("reserve_absent", D(2026, 11, 3), "a_traiter"),
        ("present_sans_reservation", D(2026, 11, 9), "a_traiter"),
    ]
    assert {(r["family"], r["child"], r["month"]) for r in rows} == {(family.id, lea.id, NOV)}
    assert {(r["first_seen_run"], r["last_seen_run"]) for r in rows} == {
        (result["run_id"], result["run_id"])
    }
    assert rows[1]["detail"] == "présent sans réservation (majoration appliquée)"


async def test_re_running_a_billed_month_erases_nothing_and_the_page_still_lists_them(settings):
    """The régisseur's report: re-running November replaced 49 anomalies with « Aucune
    anomalie ». The re-run skips the invoiced families, so it finds nothing; the month's
    anomalies stay, and the billing page shows them for the new run too."""
    _, _, _, first = await _two_anomalies(settings)
    before = await _rows()
    again = await run_billing(NOV, settings=settings, issued_at=ISSUED)
    assert again["run_id"] != first["run_id"] and again["invoices_created"] == 0
    assert await _rows() == before  # not deleted, not closed, not even touched
    overview = await billing_overview(again["run_id"])
    run = overview["run"]
    assert [a["kind"] for a in run["anomalies"]] == ["reserve_absent", "present_sans_reservation"]
    assert run["anomaly_counts"] == {"a_traiter": 2, "justifiee": 0, "corrigee": 0, "total": 2}
    # The run's own report (BillingRun.anomalies) still says what each run found.
    reports = await BillingRun.select(BillingRun.id, BillingRun.anomalies).output(load_json=True)
    assert {r["id"]: len(r["anomalies"]) for r in reports} == {
        first["run_id"]: 2,
        again["run_id"]: 0,
    }


async def test_an_anomaly_a_run_no_longer_finds_for_an_examined_family_is_closed(settings):
    """A family whose every day lacks a tariff gets no invoice, so each run examines it again:
    once the tariff exists, the run bills it and closes its « aucun tarif » anomalies."""
    commune = await make_commune()
    evening = await factories.make_activity(
        "garderie_soir", "Garderie du soir", school=commune["school"]
    )
    family = await factories.make_family("F00007", name="Diallo", quotient_familial=720)
    child = await factories.make_child(family, "Awa", school=commune["school"])
    await book_days(child, commune, [D(2026, 11, 2), D(2026, 11, 3)], activity=evening)
    first = await run_billing(NOV, settings=settings, issued_at=ISSUED)
    assert first["invoices_created"] == 0
    assert [(r["kind"], r["state"]) for r in await _rows()] == [("tarif_manquant", "a_traiter")] * 2

    second = await run_billing(NOV, settings=settings, issued_at=ISSUED)  # still no tariff
    rows = await _rows()
    assert [(r["state"], r["last_seen_run"]) for r in rows] == [("a_traiter", second["run_id"])] * 2
    assert {r["first_seen_run"] for r in rows} == {first["run_id"]}

    await Tariff(
        activity=evening.id,
        bracket=commune["brackets"][1].id,
        price_cents=150,
        majoration_cents=0,
        valid_from=D(2026, 9, 1),
    ).save()
    third = await run_billing(NOV, settings=settings, issued_at=ISSUED)
    assert third["invoices_created"] == 1
    rows = await _rows()
    assert [(r["state"], r["note"], r["handled_by"]) for r in rows] == [
        ("corrigee", anomalies.NO_LONGER_SEEN, None)
    ] * 2
    assert all(r["handled_at"] is not None for r in rows)
    assert {r["last_seen_run"] for r in rows} == {second["run_id"]}
    journal = (
        await AuditLog.select()
        .where(AuditLog.action == "anomalies_recalculees")
        .output(load_json=True)
    )
    assert len(journal) == 1 and journal[0]["actor"] == "système"
    assert journal[0]["details"] == {
        "mois": "2026-11",
        "corrigees": sorted(r["id"] for r in rows),
        "rouvertes": [],
    }


async def test_recording_again_updates_reopens_a_corrected_one_and_keeps_a_justified_one():
    commune = await make_commune()
    family, lea = await make_billed_family(commune, code="F00001", days=(2,))
    canteen = commune["canteen"].id
    run = BillingRun(month=NOV, status="terminee", started_at=clock.now())
    await run.save()
    later = BillingRun(month=NOV, status="terminee", started_at=clock.now())
    await later.save()
    found = [
        (family.id, Anomaly("present_sans_reservation", lea.id, canteen, D(2026, 11, 9))),
        (family.id, Anomaly("present_sans_reservation", lea.id, canteen, D(2026, 11, 10))),
        (family.id, Anomaly("reserve_absent", lea.id, canteen, D(2026, 11, 2))),
    ]
    counts = await anomalies.record_run(run.id, NOV, [family.id], found)
    assert counts == {"added": 3, "seen": 0, "reopened": 0, "closed": 0}
    rows = {r["day"]: r for r in await _rows()}
    actor = await _regisseur()
    await anomalies.handle(actor, [rows[D(2026, 11, 9)]["id"]], "corrigee", "Pointage repris")
    await anomalies.handle(actor, [rows[D(2026, 11, 10)]["id"]], "justifiee", "Accord écrit")

    counts = await anomalies.record_run(later.id, NOV, [family.id], found + found[:1])
    assert counts == {"added": 0, "seen": 3, "reopened": 1, "closed": 0}
    assert await BillingAnomaly.count() == 3
    rows = {r["day"]: r for r in await _rows()}
    reopened = rows[D(2026, 11, 9)]
    assert reopened["state"] == "a_traiter" and reopened["handled_by"] is None
    assert reopened["note"].startswith("Réapparue au calcul du ")
    assert rows[D(2026, 11, 10)]["state"] == "justifiee"
    assert rows[D(2026, 11, 10)]["note"] == "Accord écrit"
    assert {r["last_seen_run"] for r in rows.values()} == {later.id}
    assert {r["first_seen_run"] for r in rows.values()} == {run.id}


async def test_concurrent_runs_keep_one_row_per_anomaly(settings):
    commune = await make_commune()
    for i in range(6):
        _, child = await make_billed_family(commune, code=f"F{i + 1:05d}", name=f"Famille{i}")
        await mark(child, commune, D(2026, 11, 9), "present")
    await asyncio.gather(
        *(run_billing(NOV, settings=settings, batch_size=2, issued_at=ISSUED) for _ in range(3))
    )
    assert await Invoice.count() == 6
    assert await BillingAnomaly.count() == 6


async def test_the_regisseur_justifies_with_a_note_and_each_change_is_journalled(settings):
    _, family, _, _ = await _two_anomalies(settings)
    actor = await _regisseur()
    ids = [r["id"] for r in await _rows()]
    with pytest.raises(Rejected) as refused:
        await anomalies.handle(actor, ids, "justifiee", "  ")
    assert refused.value.field == "note"
    with pytest.raises(anomalies.AnomalyNotFound):
        await anomalies.handle(actor, [*ids, 999], "corrigee")
    assert {r["state"] for r in await _rows()} == {"a_traiter"}  # nothing written
    assert await AuditLog.count().where(AuditLog.action == "anomalie_traitee") == 0

    moment = dt.datetime(2026, 12, 2, 10, 15, tzinfo=clock.PARIS)
    with clock.frozen(moment):
        result = await anomalies.handle(actor, ids, "justifiee", "Présence autorisée")
    assert result == {"count": 2, "state": "justifiee"}
    rows = await _rows()
    assert {(r["state"], r["handled_by"], r["handled_at"], r["note"]) for r in rows} == {
        ("justifiee", actor.staff_id, moment, "Présence autorisée")
    }
    journal = (
        await AuditLog.select()
        .where(AuditLog.action == "anomalie_traitee")
        .order_by(AuditLog.id)
        .output(load_json=True)
    )
    assert [(j["staff"], j["actor"], j["family"], j["at"]) for j in journal] == [
        (actor.staff_id, "Régisseur Test", family.id, moment)
    ] * 2
    assert journal[1]["details"] == {
        "mois": "2026-11",
        "anomalie": "present_sans_reservation",
        "jour": "2026-11-09",
        "avant": "a_traiter",
        "etat": "justifiee",
        "note": "Présence autorisée",
    }

    await anomalies.handle(actor, ids[:1], "a_traiter")  # undone: nobody handled it any more
    first = (await _rows())[0]
    assert (first["state"], first["handled_by"], first["handled_at"]) == ("a_traiter", None, None)


async def test_the_page_lists_a_month_by_state_and_counts_it(settings):
    await _two_anomalies(settings)
    actor = await _regisseur()
    rows = await _rows()
    await anomalies.handle(actor, [rows[0]["id"]], "corrigee")
    page = await anomalies.anomalies_page(None)
    assert page["month"] == NOV
    assert page["counts"] == {"a_traiter": 1, "justifiee": 0, "corrigee": 1, "total": 2}
    assert page["months"] == [{"month": NOV, "open": 1, "total": 2}]
    listed = page["anomalies"]
    assert [(a["kind"], a["state_label"], a["child"]) for a in listed] == [
        ("reserve_absent", "corrigée", "Léa Martin"),
        ("present_sans_reservation", "à traiter", "Léa Martin"),
    ]
    assert listed[0]["handled_by_name"] == "Régisseur Test" and listed[0]["family_code"] == "F00001"
    only_open = await anomalies.anomalies_page(NOV, state="a_traiter")
    assert [a["kind"] for a in only_open["anomalies"]] == ["present_sans_reservation"]
    by_kind = await anomalies.anomalies_page(NOV, kind="reserve_absent", family_code="F00001")
    assert [a["kind"] for a in by_kind["anomalies"]] == ["reserve_absent"]
    assert (await anomalies.anomalies_page(NOV, family_code="F99999"))["anomalies"] == []
    assert (await anomalies.anomalies_page(D(2026, 10, 1)))["counts"]["total"] == 0
