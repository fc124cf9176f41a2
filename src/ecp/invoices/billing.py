"""The monthly billing run: one invoice per family and month, numbered without gaps.

Guarantees, on SQLite and PostgreSQL:
- one invoice per family and month (unique partial index `invoice_family_month_facture_uniq`,
  and a re-check inside the transaction);
- gapless numbers: the InvoiceCounter row is locked (IMMEDIATE on SQLite, FOR UPDATE on
  PostgreSQL) and bumped in the same transaction as the invoices it numbers, so a crash rolls
  both back and two concurrent runs take turns;
- idempotent and resumable: families already invoiced for the month are skipped, and an
  unfinished run of the month (status en_cours, e.g. after a kill -9) is continued.

Families are processed in batches (bulk reads per batch, bulk inserts per transaction), so the
run costs a few queries per batch rather than per booking.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from dataclasses import dataclass

from ecp import clock
from ecp.booking.tables import Attendance, Booking
from ecp.commune.tables import (
    Activity,
    BillingPeriod,
    Closure,
    CommuneSettings,
    Tariff,
    TariffBracket,
)
from ecp.db import lock_for_update, write_transaction
from ecp.families import queries as family_queries
from ecp.families.tables import Child, Family, Guardian
from ecp.invoices import anomalies as kept_anomalies
from ecp.invoices import pricing, settlement
from ecp.invoices.tables import BillingRun, Invoice, InvoiceCounter, InvoiceLine

log = logging.getLogger(__name__)

ANOMALY_LABELS = kept_anomalies.LABELS
# BillingRun.anomalies is the run's own report, capped; the régisseur's list is the
# BillingAnomaly table (ecp.invoices.anomalies), which has every one.
MAX_ANOMALIES = 1000
# Running billing tasks started from the web page, kept so they are not garbage-collected.
RUNNING: set[asyncio.Task] = set()


@dataclass
class Reference:
    """Everything a batch needs that does not depend on the family."""

    activities: dict[int, dict]
    brackets: list[pricing.Bracket]
    tariffs: pricing.TariffBook
    closures: list[pricing.ClosureRow]
    due_days: int


def format_number(kind: str, year: int, number: int) -> str:
    return f"{kind}-{year}-{number:06d}"


async def load_reference(month: dt.date) -> Reference:
    first, last = pricing.month_bounds(month)
    activities = {
        row["id"]: row
        for row in await Activity.select(
            Activity.id, Activity.code, Activity.label, Activity.short_label, Activity.billable
        )
    }
    brackets = [
        pricing.Bracket(r["id"], r["qf_min"], r["qf_max"], r["sort_order"])
        for r in await TariffBracket.select()
    ]
    tariffs = pricing.TariffBook(
        [
            pricing.TariffRow(
                r["activity"],
                r["bracket"],
                r["price_cents"],
                r["majoration_cents"],
                r["valid_from"],
            )
            for r in await Tariff.select().where(Tariff.valid_from <= last)
        ]
    )
    closures = [
        pricing.ClosureRow(r["starts_on"], r["ends_on"], r["school"], r["activity"])
        for r in await Closure.select().where(
            (Closure.starts_on <= last) & (Closure.ends_on >= first)
        )
    ]
    settings_row = await CommuneSettings.select(CommuneSettings.invoice_due_days).first()
    due_days = settings_row["invoice_due_days"] if settings_row else 30
    return Reference(activities, brackets, tariffs, closures, due_days)


async def families_to_bill(month: dt.date) -> list[int]:
    """Families with a booked (or ill) day or a presence in the month, in id order."""
    first, last = pricing.month_bounds(month)
    booked = (
        await Booking.select(Booking.child.family.as_alias("family"))
        .where(
            (Booking.day >= first)
            & (Booking.day <= last)
            & Booking.state.is_in(["reservee", "malade"])
        )
        .distinct()
    )
    present = (
        await Attendance.select(Attendance.child.family.as_alias("family"))
        .where(
            (Attendance.day >= first) & (Attendance.day <= last) & (Attendance.status == "present")
        )
        .distinct()
    )
    return sorted({r["family"] for r in booked} | {r["family"] for r in present})


async def invoiced_families(month: dt.date, family_ids: list[int] | None = None) -> set[int]:
    query = Invoice.select(Invoice.family).where(
        (Invoice.month == month) & (Invoice.kind == "facture")
    )
    if family_ids is not None:
        query = query.where(Invoice.family.is_in(family_ids or [-1]))
    return {r["family"] for r in await query}


async def _open_run(month: dt.date, started_by: int | None) -> int:
    """The unfinished run of the month if any (resume), else a new one. The month's period
    opens with it: from now on families cannot change its days (ecp.booking.services)."""
    await open_period(month)
    async with write_transaction():
        current = await lock_for_update(
            BillingRun.select(BillingRun.id)
            .where((BillingRun.month == month) & (BillingRun.status == "en_cours"))
            .order_by(BillingRun.id, ascending=False)
            .limit(1)
        )
        if current:
            return current[0]["id"]
        run = BillingRun(
            month=month, status="en_cours", started_at=clock.now(), started_by=started_by
        )
        await run.save()
        return run.id


async def open_period(month: dt.date) -> None:
    """The month's BillingPeriod, « en cours » until its run ends; billed in advance when the
    month has not ended yet (the rule that asks the régisseur first is services.start_billing's).
    A period already there (a run resumed, a billed month run again) is left as it is."""
    now = clock.now()
    in_advance = pricing.month_bounds(month)[1] >= now.astimezone(clock.PARIS).date()
    await BillingPeriod.insert(
        BillingPeriod(month=month, state="en_cours", in_advance=in_advance, opened_at=now)
    ).on_conflict(action="DO NOTHING")


async def close_period(month: dt.date) -> None:
    await BillingPeriod.update(
        {BillingPeriod.state: "facturee", BillingPeriod.billed_at: clock.now()}
    ).where((BillingPeriod.month == month) & (BillingPeriod.state == "en_cours"))


async def start_run(month: dt.date, started_by: int | None = None) -> int:
    """Creates (or finds) the month's run row without billing yet: the page shows it at once."""
    return await _open_run(pricing.parse_month(month.strftime("%Y-%m")), started_by)


async def batch_data(family_ids: list[int], month: dt.date) -> tuple[dict, dict, dict, dict, dict]:
    """Families (each with its `recipients` and its `quotient` timeline), payers, children,
    bookings and pointage of a batch, read in bulk (the régularisations read the month the
    same way)."""
    first, last = pricing.month_bounds(month)
    families = {
        r["id"]: r
        for r in await Family.select(
            Family.id,
            Family.code,
            Family.name,
            Family.email,
            Family.quotient_familial,
            Family.out_of_town,
            Family.paperless,
        ).where(Family.id.is_in(family_ids))
    }
    by_family: dict[int, list[dict]] = {}
    for r in (
        await Guardian.select().where(Guardian.family.is_in(family_ids)).order_by(Guardian.rank)
    ):
        by_family.setdefault(r["family"], []).append(r)
    # Each family's payer (whose address the invoice bears), its mail recipients, and its
    # quotient familial day by day (the one in force on each billed day).
    guardians = {fid: family_queries.payer_of(rows) for fid, rows in by_family.items()}
    timelines = await family_queries.quotient_timelines(families)
    for fid, family in families.items():
        family["recipients"] = family_queries.recipients_of(by_family.get(fid, []), family["email"])
        family["quotient"] = timelines[fid]
    children = {
        r["id"]: r
        for r in await Child.select(
            Child.id, Child.family, Child.first_name, Child.last_name
        ).where(Child.family.is_in(family_ids))
    }
    child_ids = list(children) or [-1]
    bookings: dict[int, list[pricing.Day]] = {}
    for r in await Booking.select(
        Booking.child, Booking.activity, Booking.school, Booking.day, Booking.state
    ).where(Booking.child.is_in(child_ids) & (Booking.day >= first) & (Booking.day <= last)):
        family = children[r["child"]]["family"]
        bookings.setdefault(family, []).append(
            pricing.Day(r["child"], r["activity"], r["school"], r["day"], r["state"])
        )
    marks: dict[int, list[pricing.Day]] = {}
    for r in await Attendance.select(
        Attendance.child, Attendance.activity, Attendance.school, Attendance.day, Attendance.status
    ).where(
        Attendance.child.is_in(child_ids) & (Attendance.day >= first) & (Attendance.day <= last)
    ):
        family = children[r["child"]]["family"]
        marks.setdefault(family, []).append(
            pricing.Day(r["child"], r["activity"], r["school"], r["day"], r["status"])
        )
    return families, guardians, children, bookings, marks


def postal_address(guardian: dict | None) -> str:
    """The payer's postal address, frozen on each invoice."""
    if not guardian:
        return ""
    name = " ".join(
        p for p in (guardian["civility"], guardian["first_name"], guardian["last_name"]) if p
    )
    lines = [
        name,
        guardian["address_line1"],
        guardian["address_line2"],
        f"{guardian['postcode']} {guardian['city']}".strip(),
    ]
    return "\n".join(line for line in lines if line)


def bracket_on(family: dict, brackets: list[pricing.Bracket]):
    """The family's bracket on a day, from its quotient familial in force that day (a family
    of batch_data)."""
    timeline, out_of_town = family["quotient"], family["out_of_town"]
    return lambda day: pricing.bracket_for(timeline.on(day), out_of_town, brackets)


def line_label(child: dict, activity: dict, kind: str) -> str:
    label = f"{child['first_name']} – {activity['label']}"
    if kind == "majoration":
        label += " – présence sans réservation (tarif + majoration)"
    return label


async def _bill_batch(
    run_id: int,
    month: dt.date,
    family_ids: list[int],
    ref: Reference,
    *,
    issued_at: dt.datetime,
    pause: float,
    settings,
) -> int:
    families, guardians, children, bookings, marks = await batch_data(family_ids, month)
    billable = {aid for aid, a in ref.activities.items() if a["billable"]}
    bills, anomalies, found = {}, [], []
    for family_id in family_ids:
        family = families[family_id]
        bill = pricing.bill_family(
            month=month,
            bracket_id=None,
            bracket_on=bracket_on(family, ref.brackets),
            bookings=bookings.get(family_id, []),
            attendances=marks.get(family_id, []),
            closures=ref.closures,
            tariffs=ref.tariffs,
            billable_activities=billable,
        )
        if bill.lines:
            bills[family_id] = bill
        for a in bill.anomalies:
            found.append((family_id, a))
            child = children[a.child_id]
            anomalies.append(
                {
                    "kind": a.kind,
                    "family_id": family_id,
                    "family_code": family["code"],
                    "family_name": family["name"],
                    "child": f"{child['first_name']} {child['last_name']}",
                    "activity": ref.activities[a.activity_id]["label"],
                    "day": a.day.isoformat(),
                }
            )

    local_issue = issued_at.astimezone(clock.PARIS).date()
    year = local_issue.year
    due_on = local_issue + dt.timedelta(days=ref.due_days)
    await InvoiceCounter.insert(InvoiceCounter(year=year, kind="FAC", last_number=0)).on_conflict(
        action="DO NOTHING"
    )
    async with write_transaction():
        counter = await lock_for_update(
            InvoiceCounter.select().where(
                (InvoiceCounter.year == year) & (InvoiceCounter.kind == "FAC")
            )
        )
        # Re-checked under the counter lock: a concurrent run may have billed some of them.
        done = await invoiced_families(month, list(bills))
        todo = [fid for fid in family_ids if fid in bills and fid not in done]
        last_number = counter[0]["last_number"]
        invoices, numbers = [], {}
        for family_id in todo:
            if pause:
                await asyncio.sleep(pause)  # test hook: widens the window for a kill -9
            last_number += 1
            family = families[family_id]
            number = format_number("FAC", year, last_number)
            numbers[number] = family_id
            paperless = family["paperless"] and bool(family["recipients"])
            invoices.append(
                Invoice(
                    number=number,
                    kind="facture",
                    family=family_id,
                    month=month,
                    issued_at=issued_at,
                    due_on=due_on,
                    total_cents=bills[family_id].total_cents,
                    paid_cents=0,
                    billing_run=run_id,
                    family_name=family["name"],
                    address=postal_address(guardians.get(family_id)),
                    paperless="courriel" if paperless else "papier",
                    notified_at=issued_at if paperless else None,
                )
            )
        created = 0
        if invoices:
            rows = await Invoice.insert(*invoices).returning(Invoice.id, Invoice.number)
            ids = {numbers[r["number"]]: r["id"] for r in rows}
            lines = []
            for family_id, invoice_id in ids.items():
                for line in bills[family_id].lines:
                    lines.append(
                        InvoiceLine(
                            invoice=invoice_id,
                            child=line.child_id,
                            activity=line.activity_id,
                            kind=line.kind,
                            label=line_label(
                                children[line.child_id], ref.activities[line.activity_id], line.kind
                            ),
                            days=",".join(d.isoformat() for d in line.days),
                            quantity=line.quantity,
                            unit_price_cents=line.unit_price_cents,
                            amount_cents=line.amount_cents,
                        )
                    )
            await InvoiceLine.insert(*lines)
            await InvoiceCounter.update({InvoiceCounter.last_number: last_number}).where(
                InvoiceCounter.id == counter[0]["id"]
            )
            from ecp.mail.notices import queue_invoice_notices

            await queue_invoice_notices(
                [
                    {
                        "invoice_id": ids[fid],
                        "number": inv.number,
                        "family_id": fid,
                        "emails": families[fid]["recipients"],
                        "family_name": families[fid]["name"],
                        "total_cents": inv.total_cents,
                        "due_on": due_on,
                        "month": month,
                    }
                    for fid, inv in zip(todo, invoices)
                    if inv.paperless == "courriel"
                ],
                settings,
            )
            created = len(invoices)
        run = (
            await BillingRun.select(BillingRun.anomalies)
            .where(BillingRun.id == run_id)
            .output(load_json=True)
            .first()
        )
        stored = list(run["anomalies"] or []) if run else []
        stored.extend(anomalies[: max(0, MAX_ANOMALIES - len(stored))])
        # Kept per month for the régisseur: upserted, never erased by a later run.
        await kept_anomalies.record_run(run_id, month, family_ids, found)
        await BillingRun.update(
            {
                BillingRun.families_done: BillingRun.families_done + len(family_ids),
                BillingRun.invoices_created: BillingRun.invoices_created + created,
                BillingRun.anomalies: json.dumps(stored),
            }
        ).where(BillingRun.id == run_id)
    return created


async def run_billing(
    month: dt.date,
    *,
    started_by: int | None = None,
    run_id: int | None = None,
    settings=None,
    batch_size: int | None = None,
    pause: float | None = None,
    issued_at: dt.datetime | None = None,
) -> dict:
    """Bills `month` (its first day); returns {"run_id", "invoices_created", "families"}."""
    month = month.replace(day=1)
    if settings is None:
        from ecp.settings import Settings

        settings = Settings.from_env()
    batch_size = batch_size or settings.billing_batch
    pause = settings.billing_pause if pause is None else pause
    run_id = run_id or await _open_run(month, started_by)
    ref = await load_reference(month)
    family_ids = await families_to_bill(month)
    already = await invoiced_families(month)
    todo = [fid for fid in family_ids if fid not in already]
    await BillingRun.update(
        {
            BillingRun.families_total: len(family_ids),
            BillingRun.families_done: len(family_ids) - len(todo),
        }
    ).where(BillingRun.id == run_id)
    created = 0
    for start in range(0, len(todo), batch_size):
        created += await _bill_batch(
            run_id,
            month,
            todo[start : start + batch_size],
            ref,
            issued_at=issued_at or clock.now(),
            pause=pause,
            settings=settings,
        )
    await BillingRun.update(
        {
            BillingRun.status: "terminee",
            BillingRun.finished_at: clock.now(),
            BillingRun.families_done: len(family_ids),
        }
    ).where(BillingRun.id == run_id)
    await close_period(month)
    if created:
        # A credit note still holding something settles the new invoices (oldest first).
        await settlement.settle_pending(todo)
    return {"run_id": run_id, "invoices_created": created, "families": len(family_ids)}


def start_in_background(month: dt.date, run_id: int, settings, started_by: int | None) -> None:
    """Runs the billing in this process's loop; the page follows it through the BillingRun row.
    If the process dies, the run stays en_cours and starting it again resumes it."""

    async def go():
        try:
            await run_billing(month, run_id=run_id, settings=settings, started_by=started_by)
        except Exception:  # noqa: BLE001 - logged, and the row shows the run unfinished
            log.exception("billing run %s failed", run_id)

    task = asyncio.get_running_loop().create_task(go())
    RUNNING.add(task)
    task.add_done_callback(RUNNING.discard)
