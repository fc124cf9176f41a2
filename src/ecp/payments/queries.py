"""Reads behind the régie (/agents/paiements): a family by its code, what it still owes, the
latest payments, one payment's receipt (page and e-mail), the payments of a period (trésorerie
export, journal de régie, bordereaux de remise), what is overdue and its relances, and a month's
paper invoices."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.commune.tables import CommuneSettings
from ecp.families.tables import Family, Guardian
from ecp.invoices import queries as invoice_queries
from ecp.invoices.tables import Invoice, InvoiceLine
from ecp.payments import regie
from ecp.payments.tables import InvoiceReminder, Payment, PaymentAllocation, ReminderBatch

CODE_LENGTH = 12
LATEST = 50
# The letterhead of the régie's documents before the commune's settings are saved (as invoices).
COMMUNE_DEFAULTS = {
    "service_name": "Service Scolaire-Enfance-Jeunesse",
    "address": "",
    "phone": "",
    "email": "",
}


def normalise_code(code: str | None) -> str:
    """A family code as staff type it: « f00001 » is F00001."""
    return (code or "").strip().upper()[:CODE_LENGTH]


async def family_by_code(code: str | None) -> dict | None:
    """{"id", "code", "name"} of the family with this code, or None (also for an empty code)."""
    code = normalise_code(code)
    if not code:
        return None
    return (
        await Family.select(Family.id, Family.code, Family.name).where(Family.code == code).first()
    )


async def open_invoices(family_id: int) -> list[dict]:
    """The family's invoices still owing something, oldest month first, with their status."""
    rows = (
        await Invoice.select(*invoice_queries.INVOICE_COLUMNS)
        .where(
            (Invoice.family == family_id)
            & (Invoice.kind == "facture")
            & (Invoice.paid_cents < Invoice.total_cents)
        )
        .order_by(Invoice.month)
    )
    today = clock.today()
    return [invoice_queries.decorate(r, today) for r in rows]


async def latest_payments(limit: int = LATEST) -> list[dict]:
    """The last payments of every means, newest first, with their family and who recorded them."""
    return (
        await Payment.select(
            Payment.id,
            Payment.method,
            Payment.amount_cents,
            Payment.received_at,
            Payment.reference,
            Payment.unallocated_cents,
            Payment.family.code.as_alias("family_code"),
            Payment.family.name.as_alias("family_name"),
            Payment.recorded_by.display_name.as_alias("recorded_by_name"),
        )
        .order_by(Payment.id, ascending=False)
        .limit(limit)
    )


async def counter_page(code: str | None) -> dict:
    """The counter page: the family typed (or None), its open invoices and the latest payments,
    in three queries (two when no family is found)."""
    family = await family_by_code(code)
    return {
        "family": family,
        "invoices": await open_invoices(family["id"]) if family else [],
        "payments": await latest_payments(),
    }


async def receipt(payment_id: int) -> dict | None:
    """A payment, the invoices it paid and the régie's letterhead; None when there is none."""
    payment = (
        await Payment.select(
            Payment.all_columns(),
            Payment.family.code.as_alias("family_code"),
            Payment.family.name.as_alias("family_name"),
            Payment.recorded_by.display_name.as_alias("recorded_by_name"),
        )
        .where(Payment.id == payment_id)
        .first()
    )
    if payment is None:
        return None
    allocations = (
        await PaymentAllocation.select(
            PaymentAllocation.amount_cents,
            PaymentAllocation.invoice.number.as_alias("number"),
            PaymentAllocation.invoice.month.as_alias("month"),
            PaymentAllocation.invoice.total_cents.as_alias("total_cents"),
            PaymentAllocation.invoice.paid_cents.as_alias("paid_cents"),
        )
        .where(PaymentAllocation.payment == payment_id)
        .order_by(PaymentAllocation.id)
    )
    # Blank, not the column defaults, before the commune's settings are saved: a receipt shows
    # only what the commune wrote.
    commune = await CommuneSettings.select().first() or {"service_name": "", "address": ""}
    return {"payment": payment, "allocations": allocations, "commune": commune}


async def commune_letterhead() -> dict:
    """The commune's service, address, phone and e-mail for the régie's documents (one query);
    the invoices' defaults before the commune's settings are saved."""
    return await CommuneSettings.select().first() or dict(COMMUNE_DEFAULTS)


async def payments_received(start: dt.date, end: dt.date, method: str | None = None) -> list[dict]:
    """Payments received from `start` to `end` (both included, Paris days), oldest first, each
    with `allocations`: (invoice number, amount in cents) pairs in the order they were made.
    `method` keeps one mode only (a bordereau de remise)."""
    since = dt.datetime.combine(start, dt.time(0), tzinfo=clock.PARIS)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=clock.PARIS)
    query = (
        Payment.select(
            Payment.id,
            Payment.method,
            Payment.amount_cents,
            Payment.received_at,
            Payment.reference,
            Payment.drawer,
            Payment.bank,
            Payment.unallocated_cents,
            Payment.provider_transaction,
            Payment.family.code.as_alias("family_code"),
            Payment.family.name.as_alias("family_name"),
            Payment.recorded_by.display_name.as_alias("recorded_by_name"),
        )
        .where((Payment.received_at >= since) & (Payment.received_at < until))
        .order_by(Payment.received_at, Payment.id)
    )
    if method is not None:
        query = query.where(Payment.method == method)
    payments = await query
    allocations: dict[int, list[tuple[str, int]]] = {}
    for row in (
        await PaymentAllocation.select(
            PaymentAllocation.payment,
            PaymentAllocation.amount_cents,
            PaymentAllocation.invoice.number.as_alias("number"),
        )
        .where(PaymentAllocation.payment.is_in([p["id"] for p in payments] or [-1]))
        .order_by(PaymentAllocation.id)
    ):
        allocations.setdefault(row["payment"], []).append((row["number"], row["amount_cents"]))
    for payment in payments:
        payment["allocations"] = allocations.get(payment["id"], [])
    return payments


async def counter_receipt(payment_id: int) -> dict | None:
    """What the family's receipt e-mail says about a counter payment, read inside the
    payment's transaction: the family's address, the invoices it settled with what each still
    owes, and what the family still owes in all (three queries). None without an address."""
    payment = (
        await Payment.select(
            Payment.id,
            Payment.family,
            Payment.method,
            Payment.amount_cents,
            Payment.received_at,
            Payment.reference,
            Payment.unallocated_cents,
            Payment.family.email.as_alias("email"),
            Payment.family.name.as_alias("family_name"),
            Payment.family.code.as_alias("family_code"),
        )
        .where(Payment.id == payment_id)
        .first()
    )
    if payment is None or not payment["email"]:
        return None
    payment["allocations"] = (
        await PaymentAllocation.select(
            PaymentAllocation.amount_cents,
            PaymentAllocation.invoice.number.as_alias("number"),
            PaymentAllocation.invoice.month.as_alias("month"),
            PaymentAllocation.invoice.total_cents.as_alias("total_cents"),
            PaymentAllocation.invoice.paid_cents.as_alias("paid_cents"),
        )
        .where(PaymentAllocation.payment == payment_id)
        .order_by(PaymentAllocation.id)
    )
    owing = await Invoice.select(Invoice.total_cents, Invoice.paid_cents).where(
        (Invoice.family == payment["family"])
        & (Invoice.kind == "facture")
        & (Invoice.paid_cents < Invoice.total_cents)
    )
    payment["balance_cents"] = sum(r["total_cents"] - r["paid_cents"] for r in owing)
    return payment


# --- What is overdue, and the relances ------------------------------------------------------


def overdue_condition(today: dt.date):
    """Invoices past their due date that still owe something (status « en retard »)."""
    return (
        (Invoice.kind == "facture")
        & (Invoice.paid_cents < Invoice.total_cents)
        & (Invoice.due_on < today)
    )


def reminder_condition(level: int, now: dt.datetime):
    """The invoices a relance of `level` is due for, at `now`: overdue, never reminded at this
    level, and for a second one, reminded a first time SECOND_AFTER_DAYS ago at least."""
    today = now.astimezone(clock.PARIS).date()
    condition = overdue_condition(today) & Invoice.id.not_in(
        InvoiceReminder.select(InvoiceReminder.invoice).where(InvoiceReminder.level == level)
    )
    if level > 1:
        condition &= Invoice.id.is_in(
            InvoiceReminder.select(InvoiceReminder.invoice).where(
                (InvoiceReminder.level == level - 1)
                & (InvoiceReminder.sent_at <= now - dt.timedelta(days=regie.SECOND_AFTER_DAYS))
            )
        )
    return condition


def reminder_candidates(level: int, now: dt.datetime):
    """The select of those invoices; the service locks its rows
    (ecp.payments.relances.send_reminders)."""
    return Invoice.select(
        Invoice.id,
        Invoice.family,
        Invoice.number,
        Invoice.month,
        Invoice.due_on,
        Invoice.total_cents,
        Invoice.paid_cents,
    ).where(reminder_condition(level, now))


async def overdue(
    *, bucket: str = "", family_code: str = "", reminder: str = "", today: dt.date | None = None
) -> dict:
    """The invoices past due, oldest due first, each with its days late, ageing bucket, the
    relances already sent and how the next one would go; filtered by bucket, family code and
    relance level; with the totals per bucket of what is shown, how many first and second
    relances are due now, and the latest batches (five queries)."""
    today = today or clock.today()
    query = Invoice.select(
        Invoice.id,
        Invoice.number,
        Invoice.month,
        Invoice.due_on,
        Invoice.total_cents,
        Invoice.paid_cents,
        Invoice.family,
        Invoice.family.code.as_alias("family_code"),
        Invoice.family.name.as_alias("family_name"),
        Invoice.family.email.as_alias("email"),
        Invoice.family.paperless.as_alias("paperless"),
    ).where(overdue_condition(today))
    if family_code:
        query = query.where(Invoice.family.code == family_code)
    rows = await query.order_by(Invoice.due_on).order_by(Invoice.id)
    reminders: dict[int, list[dict]] = {}
    for r in (
        await InvoiceReminder.select(
            InvoiceReminder.invoice,
            InvoiceReminder.level,
            InvoiceReminder.channel,
            InvoiceReminder.sent_at,
            InvoiceReminder.batch,
        )
        .where(
            InvoiceReminder.invoice.is_in(
                Invoice.select(Invoice.id).where(overdue_condition(today))
            )
        )
        .order_by(InvoiceReminder.level)
    ):
        reminders.setdefault(r["invoice"], []).append(r)
    shown = []
    for row in rows:
        row["remaining_cents"] = row["total_cents"] - row["paid_cents"]
        row["days_late"] = (today - row["due_on"]).days
        row["bucket"] = regie.bucket_of(row["days_late"])
        row["bucket_label"] = regie.BUCKET_LABELS[row["bucket"]]
        row["reminders"] = reminders.get(row["id"], [])
        row["level"] = regie.reminder_level(row["reminders"])
        row["channel"] = regie.channel_for(row["email"], row["paperless"])
        if bucket and row["bucket"] != bucket:
            continue
        if reminder == "aucune" and row["level"] != 0:
            continue
        if reminder in ("1", "2") and row["level"] != int(reminder):
            continue
        shown.append(row)
    now = clock.now()
    due = {
        level: await Invoice.count().where(reminder_condition(level, now)) for level in regie.LEVELS
    }
    return {
        "invoices": shown,
        "ageing": regie.ageing(shown),
        "due": due,
        "today": today,
        "batches": await recent_batches(),
    }


async def recent_batches(limit: int = 10) -> list[dict]:
    """The latest relance batches, newest first, with who ran them."""
    return (
        await ReminderBatch.select(
            ReminderBatch.all_columns(),
            ReminderBatch.created_by.display_name.as_alias("created_by_name"),
        )
        .order_by(ReminderBatch.id, ascending=False)
        .limit(limit)
    )


async def reminder_batch(batch_id: int, today: dt.date | None = None) -> dict | None:
    """One batch and its relances, each with its invoice as it stands now (paid since?), or
    None when there is no such batch (two queries)."""
    batch = (
        await ReminderBatch.select(
            ReminderBatch.all_columns(),
            ReminderBatch.created_by.display_name.as_alias("created_by_name"),
        )
        .where(ReminderBatch.id == batch_id)
        .first()
    )
    if batch is None:
        return None
    batch["reminders"] = (
        await InvoiceReminder.select(
            InvoiceReminder.id,
            InvoiceReminder.channel,
            InvoiceReminder.owed_cents,
            InvoiceReminder.invoice.id.as_alias("invoice_id"),
            InvoiceReminder.invoice.number.as_alias("number"),
            InvoiceReminder.invoice.month.as_alias("month"),
            InvoiceReminder.invoice.total_cents.as_alias("total_cents"),
            InvoiceReminder.invoice.paid_cents.as_alias("paid_cents"),
            InvoiceReminder.family.code.as_alias("family_code"),
            InvoiceReminder.family.name.as_alias("family_name"),
        )
        .where(InvoiceReminder.batch == batch_id)
        .order_by(
            InvoiceReminder.family.name, InvoiceReminder.family.code, InvoiceReminder.invoice.month
        )
    )
    for r in batch["reminders"]:
        r["remaining_cents"] = max(r["total_cents"] - r["paid_cents"], 0)
    batch["letters_due"] = len(
        {
            r["family_code"]
            for r in batch["reminders"]
            if r["channel"] == "courrier" and r["remaining_cents"] > 0
        }
    )
    return batch


def postal_address(guardian: dict | None) -> list[str]:
    """The lines of the envelope, from the first responsable légal as they stand today."""
    if not guardian:
        return []
    name = " ".join(
        p for p in (guardian["civility"], guardian["first_name"], guardian["last_name"]) if p
    )
    lines = [
        name,
        guardian["address_line1"],
        guardian["address_line2"],
        f"{guardian['postcode']} {guardian['city']}".strip(),
    ]
    return [line for line in lines if line]


async def reminder_letters(batch_id: int) -> list[dict]:
    """The letters of a batch: one per family reminded by post whose invoices of the batch still
    owe something, in family order, each with its address and those invoices only. An invoice
    paid since the batch is left out, so no letter ever asks for what was paid (two queries)."""
    rows = (
        await InvoiceReminder.select(
            InvoiceReminder.level,
            InvoiceReminder.family,
            InvoiceReminder.family.code.as_alias("family_code"),
            InvoiceReminder.family.name.as_alias("family_name"),
            InvoiceReminder.invoice.number.as_alias("number"),
            InvoiceReminder.invoice.month.as_alias("month"),
            InvoiceReminder.invoice.due_on.as_alias("due_on"),
            InvoiceReminder.invoice.total_cents.as_alias("total_cents"),
            InvoiceReminder.invoice.paid_cents.as_alias("paid_cents"),
        )
        .where(
            (InvoiceReminder.batch == batch_id)
            & (InvoiceReminder.channel == "courrier")
            & (InvoiceReminder.invoice.paid_cents < InvoiceReminder.invoice.total_cents)
        )
        .order_by(
            InvoiceReminder.family.name, InvoiceReminder.family.code, InvoiceReminder.invoice.month
        )
    )
    guardians: dict[int, dict] = {}
    for g in (
        await Guardian.select()
        .where(Guardian.family.is_in(list({r["family"] for r in rows}) or [-1]))
        .order_by(Guardian.rank)
    ):
        guardians.setdefault(g["family"], g)
    letters: dict[int, dict] = {}
    for row in rows:
        letter = letters.setdefault(
            row["family"],
            {
                "family_code": row["family_code"],
                "family_name": row["family_name"],
                "level": row["level"],
                "address": postal_address(guardians.get(row["family"])),
                "invoices": [],
            },
        )
        row["remaining_cents"] = row["total_cents"] - row["paid_cents"]
        letter["invoices"].append(row)
    for letter in letters.values():
        letter["total_cents"] = sum(i["remaining_cents"] for i in letter["invoices"])
    return list(letters.values())


# --- A month's paper invoices, in one PDF ---------------------------------------------------


def _paper_condition(month: dt.date):
    return (Invoice.kind == "facture") & (Invoice.month == month) & (Invoice.paperless == "papier")


async def paper_invoice_count(month: dt.date) -> int:
    """How many invoices of `month` went to families who chose paper (frozen at issue)."""
    return await Invoice.count().where(_paper_condition(month))


async def paper_invoice_documents(month: dt.date, offset: int = 0, limit: int = 200) -> list[dict]:
    """The paper invoices of `month` in family order (name, then code), as
    ecp.invoices.queries.invoice_document gives one, `limit` from `offset`: four queries
    whatever their number, where invoice_document would take four each."""
    invoices = (
        await Invoice.select(
            *invoice_queries.INVOICE_COLUMNS, Invoice.family.code.as_alias("family_code")
        )
        .where(_paper_condition(month))
        .order_by(Invoice.family_name)
        .order_by(Invoice.family.code)
        .order_by(Invoice.id)
        .offset(offset)
        .limit(limit)
    )
    if not invoices:
        return []
    ids = [i["id"] for i in invoices]
    lines: dict[int, list[dict]] = {}
    for line in (
        await InvoiceLine.select(
            InvoiceLine.id,
            InvoiceLine.invoice,
            InvoiceLine.kind,
            InvoiceLine.label,
            InvoiceLine.days,
            InvoiceLine.quantity,
            InvoiceLine.unit_price_cents,
            InvoiceLine.amount_cents,
            InvoiceLine.child,
            InvoiceLine.activity,
            InvoiceLine.cause,
        )
        .where(InvoiceLine.invoice.is_in(ids))
        .order_by(InvoiceLine.id)
    ):
        line["day_list"] = [dt.date.fromisoformat(d) for d in line["days"].split(",") if d]
        line["cause_label"] = invoice_queries.cause_label(line["cause"])
        lines.setdefault(line["invoice"], []).append(line)
    credits: dict[int, list[dict]] = {}
    for credit in (
        await Invoice.select(*invoice_queries.INVOICE_COLUMNS)
        .where(Invoice.corrects.is_in(ids) & (Invoice.kind == "avoir"))
        .order_by(Invoice.id)
    ):
        credits.setdefault(credit["corrects"], []).append(credit)
    commune = await commune_letterhead()
    today = clock.today()
    docs = []
    for invoice in invoices:
        invoice["corrects_number"] = None
        invoice_queries.decorate(invoice, today)
        # A fresh invoice has nothing settled: only one already paid or corrected costs the
        # query of what settled it (the same list as on its own PDF).
        touched = invoice["paid_cents"] or credits.get(invoice["id"])
        settled = await invoice_queries.settlements(invoice["id"]) if touched else []
        docs.append(
            {
                "invoice": invoice,
                "lines": lines.get(invoice["id"], []),
                "credits": credits.get(invoice["id"], []),
                "settlements": [r for r in settled if r["role"] != "avoir"],
                "commune": commune,
            }
        )
    return docs


# --- The journal de régie and the bordereaux de remise ---------------------------------------


async def journal(period: regie.Period) -> dict:
    """The journal de régie of the period (ecp.payments.regie.journal; two queries)."""
    return regie.journal(await payments_received(period.start, period.end), period)


async def slip(method: str, period: regie.Period) -> dict:
    """The bordereau de remise of one mode for the period (ecp.payments.regie.slip)."""
    return regie.slip(await payments_received(period.start, period.end, method), method, period)
