"""Read models for invoice pages; each function costs a fixed number of queries, and none
writes."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.commune.tables import Activity, BillingPeriod, CommuneSettings, Tariff, TariffBracket
from ecp.db import fetch
from ecp.families.queries import debit_prenotice, direct_debit_mandate
from ecp.invoices import anomalies, pricing, regularisations
from ecp.invoices.settlement import REFUND_METHODS, credit_left
from ecp.invoices.status import LABELS, invoice_status
from ecp.invoices.tables import BillingRun, Invoice, InvoiceLine
from ecp.mail.notices import month_label


def cause_label(cause: str) -> str:
    """A line's cause in words: a reason given by hand, or a régularisation's cause."""
    if not cause:
        return ""
    label = pricing.CAUSES.get(cause) or pricing.MANUAL_REASONS.get(cause, cause)
    return label[:1].lower() + label[1:]


INVOICE_COLUMNS = (
    Invoice.id,
    Invoice.number,
    Invoice.kind,
    Invoice.family,
    Invoice.month,
    Invoice.issued_at,
    Invoice.due_on,
    Invoice.total_cents,
    Invoice.paid_cents,
    Invoice.corrects,
    Invoice.family_name,
    Invoice.address,
    Invoice.paperless,
    Invoice.note,
    Invoice.origin,
)


def decorate(row: dict, today: dt.date | None = None) -> dict:
    """Adds status code and label, the amount still owed and, for a credit note, what it still
    holds for the family (to settle a next invoice or to refund)."""
    status = invoice_status(
        row["total_cents"], row["paid_cents"], row["due_on"], today or clock.today(), row["kind"]
    )
    row["status"] = status
    row["status_label"] = LABELS[status]
    row["remaining_cents"] = (
        max(row["total_cents"] - row["paid_cents"], 0) if row["kind"] == "facture" else 0
    )
    row["credit_left_cents"] = credit_left(row) if row["kind"] == "avoir" else 0
    if row["credit_left_cents"]:
        row["status_label"] = "avoir à rembourser"
    return row


# Raw SQL for the family's list, opened on every visit: building the Piccolo select with its
# self-join cost more than running it.
FAMILY_INVOICES_SQL = (
    "SELECT i.id, i.number, i.kind, i.family, i.month, i.issued_at, i.due_on, i.total_cents, "
    "i.paid_cents, i.corrects, i.family_name, i.address, i.paperless, i.note, i.origin, "
    "c.number AS corrects_number "
    "FROM invoice i LEFT JOIN invoice c ON c.id = i.corrects "
    "WHERE i.family = {} ORDER BY i.month DESC, i.id DESC"
)
FAMILY_INVOICES_TYPES = {"month": dt.date, "due_on": dt.date, "issued_at": dt.datetime}


def short_days(days: list[dt.date]) -> str:
    """A line's days as the PDF prints them, short enough for one page: « 1er, 3 et 4
    décembre », months apart by « ; »."""
    from ecp.web.templating import french_date

    groups: list[list[dt.date]] = []
    for day in sorted(days):
        if groups and (groups[-1][0].year, groups[-1][0].month) == (day.year, day.month):
            groups[-1].append(day)
        else:
            groups.append([day])
    parts = []
    for group in groups:
        numbers = ["1er" if d.day == 1 else str(d.day) for d in group]
        listed = numbers[0] if len(numbers) == 1 else ", ".join(numbers[:-1]) + " et " + numbers[-1]
        parts.append(f"{listed} {french_date(group[0], 'MMMM')}")
    return " ; ".join(parts)


async def family_invoices(family_id: int) -> list[dict]:
    rows = await fetch(FAMILY_INVOICES_SQL, family_id, types=FAMILY_INVOICES_TYPES)
    today = clock.today()
    return [decorate(r, today) for r in rows]


def totals(invoices: list[dict]) -> dict:
    """The family's figures. `balance_cents` is what it owes once its credit notes are counted
    (negative: the commune owes it): the sum of its documents, less what it paid, plus what was
    refunded to it."""
    factures = [i for i in invoices if i["kind"] == "facture"]
    to_pay = sum(i["remaining_cents"] for i in factures)
    credit = sum(i["credit_left_cents"] for i in invoices if i["kind"] == "avoir")
    return {
        "to_pay_cents": to_pay,
        "late_cents": sum(i["remaining_cents"] for i in factures if i["status"] == "en_retard"),
        "billed_cents": sum(i["total_cents"] for i in factures),
        "paid_cents": sum(min(i["paid_cents"], i["total_cents"]) for i in factures),
        "unpaid_count": sum(1 for i in factures if i["remaining_cents"] > 0),
        "credit_cents": credit,
        "balance_cents": to_pay - credit,
    }


async def invoice_document(invoice_id: int, family_id: int | None = None) -> dict | None:
    """The invoice with its lines, credit notes and the commune's details; None if not found
    (or, with family_id, not this family's)."""
    query = Invoice.select(
        *INVOICE_COLUMNS,
        Invoice.family.code.as_alias("family_code"),
        Invoice.corrects.number.as_alias("corrects_number"),
    ).where(Invoice.id == invoice_id)
    if family_id is not None:
        query = query.where(Invoice.family == family_id)
    invoice = await query.first()
    if invoice is None:
        return None
    decorate(invoice)
    lines = (
        await InvoiceLine.select(
            InvoiceLine.id,
            InvoiceLine.kind,
            InvoiceLine.label,
            InvoiceLine.days,
            InvoiceLine.quantity,
            InvoiceLine.unit_price_cents,
            InvoiceLine.amount_cents,
            InvoiceLine.child,
            InvoiceLine.activity,
            InvoiceLine.cause,
            InvoiceLine.credits_line,
        )
        .where(InvoiceLine.invoice == invoice_id)
        .order_by(InvoiceLine.id)
    )
    for line in lines:
        line["day_list"] = [dt.date.fromisoformat(d) for d in line["days"].split(",") if d]
        line["days_short"] = short_days(line["day_list"])
        line["cause_label"] = cause_label(line["cause"])
    settled = await settlements(invoice_id)
    credits = [r for r in settled if r["role"] == "avoir"]
    commune = await CommuneSettings.select().first() or {
        "service_name": "Service Scolaire-Enfance-Jeunesse",
        "address": "",
        "phone": "",
        "email": "",
    }
    mandate = await direct_debit_mandate(invoice["family"])
    return {
        "invoice": invoice,
        "lines": lines,
        "credits": credits,
        "settlements": [r for r in settled if r["role"] != "avoir"],
        "commune": commune,
        # SEPA direct debit: amount and date pre-notified (ecp.families.queries).
        "direct_debit": debit_prenotice(invoice, mandate, clock.today()),
    }


async def settlements(invoice_id: int) -> list[dict]:
    """What settled or corrected one document (SETTLEMENTS_SQL), with the refunds' mode in words."""
    settled = await fetch(
        SETTLEMENTS_SQL, *([invoice_id] * 6), types={"at": dt.datetime, "day": dt.date}
    )
    for row in settled:
        row["method_label"] = REFUND_METHODS.get(row["method"], row["method"])
    return settled


# What settled or corrected a document, in one query whatever it is: the credit notes that
# correct an invoice (or one of its lines), the additional invoices of its month's
# régularisations, the credit notes set against it; for a credit note, the invoices it settled
# and its refunds.
SETTLEMENTS_SQL = (
    "SELECT 'avoir' AS role, c.id AS doc_id, c.number, c.issued_at AS at, "
    "c.total_cents AS amount_cents, c.note, '' AS method, '' AS reference, CAST(NULL AS DATE) AS day "
    "FROM invoice c WHERE c.kind = 'avoir' AND (c.corrects = {} OR c.id IN "
    "(SELECT l.invoice FROM invoice_line l JOIN invoice_line o ON o.id = l.credits_line "
    "WHERE o.invoice = {})) "
    "UNION ALL SELECT 'complement', f.id, f.number, f.issued_at, f.total_cents, '', '', '', CAST(NULL AS DATE) "
    "FROM invoice f WHERE f.kind = 'facture' AND f.corrects = {} "
    "UNION ALL SELECT 'deduit', c.id, c.number, a.allocated_at, a.amount_cents, '', '', '', CAST(NULL AS DATE) "
    "FROM credit_allocation a JOIN invoice c ON c.id = a.credit WHERE a.invoice = {} "
    "UNION ALL SELECT 'impute', f.id, f.number, a.allocated_at, a.amount_cents, '', '', '', CAST(NULL AS DATE) "
    "FROM credit_allocation a JOIN invoice f ON f.id = a.invoice WHERE a.credit = {} "
    "UNION ALL SELECT 'rembourse', r.id, '', r.recorded_at, r.amount_cents, '', r.method, "
    "r.reference, r.refunded_on FROM credit_refund r WHERE r.credit = {} "
    "ORDER BY at, doc_id"
)


# ==== Family side =================================================================================


async def paperless_choice(family_id: int) -> dict | None:
    """The family's e-mail address and how it receives its invoices (one query)."""
    rows = await fetch(
        "SELECT id, email, paperless FROM family WHERE id = {}",
        family_id,
        types={"paperless": bool},
    )
    return rows[0] if rows else None


async def family_invoices_page(family_id: int) -> dict:
    """The family's invoice list, its totals and its paperless choice (two queries)."""
    invoices = await family_invoices(family_id)
    return {
        "invoices": invoices,
        "totals": totals(invoices),
        "family": await paperless_choice(family_id),
    }


# ==== Staff: invoices and credit notes ===========================================================


def month_choices(today: dt.date) -> list[dict]:
    """This month and the twelve before it, most recent first (the billing and filter lists)."""
    first = today.replace(day=1)
    months = []
    for back in range(13):
        year, month = divmod(first.year * 12 + first.month - 1 - back, 12)
        value = dt.date(year, month + 1, 1)
        months.append({"value": value.strftime("%Y-%m"), "label": month_label(value)})
    return months


def billing_month_choices(today: dt.date) -> list[dict]:
    """The billing form's months: next month (billed in advance only, once confirmed), then
    this month and the twelve before it."""
    first = today.replace(day=1)
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return [
        {"value": following.strftime("%Y-%m"), "label": month_label(following)},
        *month_choices(today),
    ]


STAFF_LIST_LIMIT = 200


async def staff_invoices(
    *, month: dt.date | None = None, family_code: str = "", delivery: str = ""
) -> list[dict]:
    """The régie's list, newest first and at most STAFF_LIST_LIMIT; `delivery` ("papier" or
    "courriel") keeps the invoices (not credit notes) sent that way: paper families' invoices
    are printed and posted by the régie, so this list is its worklist."""
    query = (
        Invoice.select(*INVOICE_COLUMNS, Invoice.family.code.as_alias("family_code"))
        .order_by(Invoice.id, ascending=False)
        .limit(STAFF_LIST_LIMIT)
    )
    if month is not None:
        query = query.where(Invoice.month == month)
    if family_code:
        query = query.where(Invoice.family.code == family_code)
    if delivery:
        query = query.where((Invoice.paperless == delivery) & (Invoice.kind == "facture"))
    today = clock.today()
    return [decorate(r, today) for r in await query]


async def credited_lines(invoice_id: int) -> list[dict]:
    """Lines of the credit notes already issued on an invoice's lines (one query): those that
    name the line they cancel, and those of credit notes correcting the invoice from before
    lines were named (a whole line each, found by its label and days)."""
    return await InvoiceLine.select(
        InvoiceLine.label, InvoiceLine.days, InvoiceLine.credits_line
    ).where(
        InvoiceLine.credits_line.is_in(
            InvoiceLine.select(InvoiceLine.id).where(InvoiceLine.invoice == invoice_id)
        )
        | (
            InvoiceLine.credits_line.is_null()
            & InvoiceLine.invoice.is_in(
                Invoice.select(Invoice.id).where(
                    (Invoice.corrects == invoice_id) & (Invoice.kind == "avoir")
                )
            )
        )
    )


CREDIT_PREFIX = pricing.CREDIT_PREFIX


def credited_days(lines: list[dict], credits: list[dict]) -> dict[int, set[dt.date]]:
    """Line id -> the days a credit note already cancelled (credits: credited_lines' rows)."""
    by_copy = {(CREDIT_PREFIX + ln["label"])[:200] + "|" + ln["days"]: ln["id"] for ln in lines}
    out: dict[int, set[dt.date]] = {}
    for credit in credits:
        line_id = credit["credits_line"] or by_copy.get(f"{credit['label']}|{credit['days']}")
        if line_id is not None:
            out.setdefault(line_id, set()).update(
                dt.date.fromisoformat(d) for d in credit["days"].split(",") if d
            )
    return out


async def staff_invoice_document(invoice_id: int) -> dict | None:
    """invoice_document, each line with the days a credit note already cancelled
    (`credited_days`), those left to credit (`open_days`) and `credited` when none is left;
    None if not found."""
    doc = await invoice_document(invoice_id)
    if doc is None:
        return None
    done = credited_days(doc["lines"], await credited_lines(invoice_id))
    for line in doc["lines"]:
        line["credited_days"] = done.get(line["id"], set())
        line["open_days"] = [d for d in line["day_list"] if d not in line["credited_days"]]
        line["credited"] = not line["open_days"]
    return doc


# ==== Staff: billing run ==========================================================================


async def _run_summary(run: dict) -> dict:
    totals = await Invoice.select(Invoice.total_cents).where(Invoice.billing_run == run["id"])
    run["total_cents"] = sum(r["total_cents"] for r in totals)
    run["percent"] = (
        100 * run["families_done"] // run["families_total"]
        if run["families_total"]
        else (100 if run["status"] == "terminee" else 0)
    )
    run["month_label"] = month_label(run["month"])
    # The month's anomalies still to handle, whichever run found them: a re-run that finds
    # nothing new (its families are invoiced) must not say there are none.
    kept = await anomalies.billing_summary(run["month"])
    run["anomalies"], run["anomaly_counts"] = kept["open"], kept["counts"]
    return run


async def billing_overview(run_id: int | None = None) -> dict | None:
    """The last twelve runs and one run in detail (`run_id`, or the latest): its progress, the
    amount it billed and its month's anomalies. None when `run_id` names no run (five queries)."""
    runs = (
        await BillingRun.select(
            BillingRun.id,
            BillingRun.month,
            BillingRun.status,
            BillingRun.started_at,
            BillingRun.finished_at,
            BillingRun.families_total,
            BillingRun.families_done,
            BillingRun.invoices_created,
            BillingRun.started_by.display_name.as_alias("started_by_name"),
        )
        .order_by(BillingRun.id, ascending=False)
        .limit(12)
    )
    current = None
    chosen = run_id or (runs[0]["id"] if runs else None)
    if chosen is not None:
        current = (
            await BillingRun.select().where(BillingRun.id == chosen).output(load_json=True).first()
        )
        if current is None and run_id is not None:
            return None
        if current is not None:
            current = await _run_summary(current)
    return {"runs": runs, "run": current}


async def last_billed_day() -> dt.date | None:
    """The last day of the latest month invoiced: days up to it are billed for good."""
    row = (
        await Invoice.select(Invoice.month)
        .where(Invoice.kind == "facture")
        .order_by(Invoice.month, ascending=False)
        .first()
    )
    return pricing.month_bounds(row["month"])[1] if row else None


# ==== Staff: billing periods and régularisations ================================================

PERIOD_LABELS = {"en_cours": "facturation en cours", "facturee": "facturé"}


async def regularisations_page(month: dt.date | None) -> dict | None:
    """The billing periods, and for one of them (`month`, or the latest billed) what its
    documents no longer match, per family and day, with the documents régularisations already
    issued. None when `month` names no period."""
    periods = await BillingPeriod.select().order_by(BillingPeriod.month, ascending=False).limit(24)
    for period in periods:
        period["label"] = month_label(period["month"])
        period["state_label"] = PERIOD_LABELS.get(period["state"], period["state"])
    period = None
    if month is not None:
        period = next((p for p in periods if p["month"] == month), None)
        if period is None:
            row = await BillingPeriod.select().where(BillingPeriod.month == month).first()
            if row is None:
                return None
            period = dict(row, label=month_label(month))
            period["state_label"] = PERIOD_LABELS.get(period["state"], period["state"])
    else:
        period = next((p for p in periods if p["state"] == "facturee"), None)
    families, documents = [], []
    if period is not None:
        found = await regularisations.compute(
            period["month"], await regularisations.month_families(period["month"])
        )
        families = sorted(
            (reg for reg in found.values() if reg.adjustments), key=lambda r: (r.name, r.code)
        )
        documents = [
            decorate(r)
            for r in await Invoice.select(
                *INVOICE_COLUMNS, Invoice.family.code.as_alias("family_code")
            )
            .where((Invoice.month == period["month"]) & (Invoice.origin == "regularisation"))
            .order_by(Invoice.id)
        ]
    return {
        "periods": periods,
        "period": period,
        "families": families,
        "credit_cents": sum(f.credit_cents for f in families),
        "bill_cents": sum(f.bill_cents for f in families),
        "documents": documents,
    }


# ==== Staff: tariffs ==============================================================================

OUT_OF_TOWN_LABEL = "Hors commune"


async def tariff_page(today: dt.date) -> dict:
    """The grid of the prices in force on `today` (one column per QF bracket, then out of town),
    the changes programmed after it, and the choices of the form (three queries)."""
    activities = (
        await Activity.select(Activity.id, Activity.label, Activity.billable)
        .where(Activity.active == True)  # noqa: E712
        .order_by(Activity.sort_order)
    )
    brackets = await TariffBracket.select().order_by(TariffBracket.sort_order)
    rows = await Tariff.select().order_by(Tariff.valid_from)
    book = pricing.TariffBook(
        [
            pricing.TariffRow(
                r["activity"],
                r["bracket"],
                r["price_cents"],
                r["majoration_cents"],
                r["valid_from"],
            )
            for r in rows
        ]
    )
    columns = [(b["id"], b["label"]) for b in brackets] + [(None, OUT_OF_TOWN_LABEL)]
    grid = []
    for activity in activities:
        cells = [book.on(activity["id"], bracket_id, today) for bracket_id, _ in columns]
        majorations = {c.majoration_cents for c in cells if c is not None}
        grid.append(
            {
                "activity": activity,
                "cells": cells,
                "majoration": max(majorations) if majorations else None,
            }
        )
    labels = {b["id"]: b["label"] for b in brackets}
    names = {a["id"]: a["label"] for a in activities}
    upcoming = [
        dict(
            r,
            activity_label=names.get(r["activity"], "?"),
            bracket_label=labels.get(r["bracket"], OUT_OF_TOWN_LABEL),
        )
        for r in rows
        if r["valid_from"] > today
    ]
    return {
        "activities": activities,
        "brackets": brackets,
        "columns": columns,
        "grid": grid,
        "upcoming": upcoming,
        "today": today,
    }
