"""Régularisations: what changed in a month after it was billed, and the correction run that
settles it.

Once a month is billed, staff may still change its days: a late cancellation accepted, a
closure (or any booking state that is not billed), an illness, a corrected pointage, a child
added as present. Rather than tracking each change, the month is computed again as billing
would compute it now (pricing.bill_family) and compared, day by day, per child, activity and
kind, with what its invoices and credit notes already bill (pricing.regularise). The staff page
lists the differences; the correction run issues, per family:

- one credit note per day billed too much (each line names the line it cancels and the cause),
  set against the family's unpaid invoices (ecp.invoices.settlement);
- one additional invoice for the days not billed (a line per day, with its cause), which
  corrects the month's first invoice, or is the family's first invoice of the month.

Numbers come from the same counters, under the same lock, as the billing run
(ecp.invoices.numbering): gapless, and two runs take turns. The differences are computed again
inside the locked transaction, so a second run (or two at once) issues nothing more.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ecp import clock
from ecp.audit import services as audit
from ecp.commune.tables import BillingPeriod
from ecp.db import write_transaction
from ecp.errors import Rejected
from ecp.invoices import billing, numbering, pricing, settlement
from ecp.invoices.tables import Invoice, InvoiceLine
from ecp.mail.notices import month_label
from ecp.web.french import de
from ecp.web.templating import jour

CHUNK = 500  # families read per round trip


@dataclass
class FamilyRegularisation:
    family_id: int
    code: str
    name: str
    email: str
    paperless: bool
    address: str
    root: dict | None  # the month's first invoice: {"id", "number"}
    emails: list[str] = field(default_factory=list)  # the family's mail recipients
    adjustments: list[pricing.Adjustment] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)  # for the page: one per adjustment
    labels: dict[int, str] = field(default_factory=dict)  # billed line id -> its label

    @property
    def credit_cents(self) -> int:
        return -sum(a.amount_cents for a in self.adjustments if a.amount_cents < 0)

    @property
    def bill_cents(self) -> int:
        return sum(a.amount_cents for a in self.adjustments if a.amount_cents > 0)


async def month_families(month: dt.date) -> list[int]:
    """Families the month concerns: what billing would bill now, and what it billed."""
    invoiced = await Invoice.select(Invoice.family).where(Invoice.month == month).distinct()
    return sorted(set(await billing.families_to_bill(month)) | {r["family"] for r in invoiced})


async def _billed_lines(month: dt.date, family_ids: list[int]) -> dict[int, list[dict]]:
    rows = await InvoiceLine.select(
        InvoiceLine.id,
        InvoiceLine.invoice,
        InvoiceLine.child,
        InvoiceLine.activity,
        InvoiceLine.kind,
        InvoiceLine.label,
        InvoiceLine.days,
        InvoiceLine.unit_price_cents,
        InvoiceLine.credits_line,
        InvoiceLine.invoice.family.as_alias("family"),
        InvoiceLine.invoice.kind.as_alias("invoice_kind"),
        InvoiceLine.invoice.origin.as_alias("origin"),
        InvoiceLine.invoice.corrects.as_alias("corrects"),
        InvoiceLine.invoice.number.as_alias("number"),
    ).where((InvoiceLine.invoice.month == month) & InvoiceLine.invoice.family.is_in(family_ids))
    out: dict[int, list[dict]] = {}
    for row in rows:
        out.setdefault(row["family"], []).append(row)
    return out


def _ledger(rows: list[dict]) -> tuple[list[pricing.BilledLine], dict | None]:
    """The family's billed lines for pricing.regularise, and the month's first invoice. A
    credit line from before lines were named is matched to its line by label and days."""
    root = next(
        (
            {"id": r["invoice"], "number": r["number"]}
            for r in rows
            if r["invoice_kind"] == "facture" and r["corrects"] is None
        ),
        None,
    )
    by_copy = {
        (r["invoice"], (pricing.CREDIT_PREFIX + r["label"])[:200], r["days"]): r["id"]
        for r in rows
        if r["invoice_kind"] == "facture"
    }
    lines = []
    for r in rows:
        credits_line = r["credits_line"]
        if r["invoice_kind"] == "avoir" and credits_line is None:
            credits_line = by_copy.get((r["corrects"], r["label"], r["days"]))
        lines.append(
            pricing.BilledLine(
                id=r["id"],
                child_id=r["child"],
                activity_id=r["activity"],
                kind=r["kind"],
                unit_price_cents=r["unit_price_cents"],
                days=tuple(dt.date.fromisoformat(d) for d in r["days"].split(",") if d),
                credits_line=credits_line,
                waiver=r["invoice_kind"] == "avoir" and r["origin"] != "regularisation",
                invoice_id=r["invoice"],
            )
        )
    return lines, root


async def compute(
    month: dt.date, family_ids: list[int], ref: billing.Reference | None = None
) -> dict[int, FamilyRegularisation]:
    """What each family's month should bill now against what it bills (reads only; a fixed
    number of queries per CHUNK families)."""
    ref = ref or await billing.load_reference(month)
    billable = {aid for aid, a in ref.activities.items() if a["billable"]}
    out: dict[int, FamilyRegularisation] = {}
    for start in range(0, len(family_ids), CHUNK):
        chunk = family_ids[start : start + CHUNK]
        families, guardians, children, bookings, marks = await billing.batch_data(chunk, month)
        billed = await _billed_lines(month, chunk)
        for family_id in chunk:
            family = families.get(family_id)
            if family is None:
                continue
            expected = pricing.bill_family(
                month=month,
                bracket_id=None,
                bracket_on=billing.bracket_on(family, ref.brackets),
                bookings=bookings.get(family_id, []),
                attendances=marks.get(family_id, []),
                closures=ref.closures,
                tariffs=ref.tariffs,
                billable_activities=billable,
            )
            rows = billed.get(family_id, [])
            lines, root = _ledger(rows)
            adjustments = pricing.regularise(
                expected=expected,
                billed=lines,
                bookings=bookings.get(family_id, []),
                attendances=marks.get(family_id, []),
                closures=ref.closures,
                billable_activities=billable,
            )
            reg = FamilyRegularisation(
                family_id=family_id,
                code=family["code"],
                name=family["name"],
                email=family["email"] or "",
                paperless=bool(family["paperless"] and family["recipients"]),
                address=billing.postal_address(guardians.get(family_id)),
                root=root,
                emails=family["recipients"],
                adjustments=adjustments,
                labels={r["id"]: r["label"] for r in rows},
            )
            for a in adjustments:
                child = children.get(a.child_id) or {"first_name": "?", "last_name": ""}
                activity = ref.activities.get(a.activity_id) or {"label": "?"}
                reg.rows.append(
                    {
                        "day": a.day,
                        "child": f"{child['first_name']} {child['last_name']}".strip(),
                        "activity": activity["label"],
                        "kind": a.kind,
                        "cause": a.cause,
                        "cause_label": a.cause_label,
                        "amount_cents": a.amount_cents,
                        "label": billing.line_label(child, activity, a.kind),
                    }
                )
            out[family_id] = reg
    return out


def not_billed_message(month: dt.date) -> str:
    return (
        f"{month_label(month).capitalize()} n’est pas facturé\u00a0: il n’y a rien à régulariser."
    )


def billing_under_way_message(month: dt.date) -> str:
    return (
        f"La facturation {de(month_label(month))} est en cours\u00a0: régularisez-la quand elle "
        "sera terminée."
    )


async def _issue(
    reg: FamilyRegularisation,
    month: dt.date,
    numbers: numbering.Numbers,
    *,
    now: dt.datetime,
    due_days: int,
) -> tuple[list[dict], dict | None, list[InvoiceLine]]:
    """The family's credit notes (one per day) and additional invoice, without their lines,
    which are returned for one INSERT."""
    today = now.astimezone(clock.PARIS).date()
    root_id = reg.root["id"] if reg.root else None
    paperless = "courriel" if reg.paperless else "papier"
    by_day: dict[dt.date, list[pricing.Adjustment]] = {}
    for a in reg.adjustments:
        if a.amount_cents < 0:
            by_day.setdefault(a.day, []).append(a)
    credits, lines = [], []
    for day, adjustments in sorted(by_day.items()):
        causes = list(dict.fromkeys(a.cause_label for a in adjustments))
        total = sum(a.amount_cents for a in adjustments)
        credit = Invoice(
            number=numbers.take("AV"),
            kind="avoir",
            origin="regularisation",
            family=reg.family_id,
            month=month,
            issued_at=now,
            due_on=today,
            total_cents=total,
            paid_cents=0,
            corrects=root_id,
            billing_run=None,
            family_name=reg.name,
            address=reg.address,
            paperless=paperless,
            note=f"Régularisation du {jour(day)}\u00a0: {', '.join(causes)}",
        )
        await credit.save()
        credits.append(
            {
                "id": credit.id,
                "number": credit.number,
                "total_cents": total,
                "note": credit.note,
            }
        )
        for a in adjustments:
            lines.append(
                InvoiceLine(
                    invoice=credit.id,
                    child=a.child_id,
                    activity=a.activity_id,
                    kind="avoir",
                    label=(pricing.CREDIT_PREFIX + reg.labels.get(a.line_id, ""))[:200],
                    days=a.day.isoformat(),
                    quantity=1,
                    unit_price_cents=a.amount_cents,
                    amount_cents=a.amount_cents,
                    credits_line=a.line_id,
                    cause=a.cause,
                )
            )
    owed = [a for a in reg.adjustments if a.amount_cents > 0]
    invoice = None
    if owed:
        row = Invoice(
            number=numbers.take("FAC"),
            kind="facture",
            origin="regularisation",
            family=reg.family_id,
            month=month,
            issued_at=now,
            due_on=today + dt.timedelta(days=due_days),
            total_cents=sum(a.amount_cents for a in owed),
            paid_cents=0,
            corrects=root_id,
            billing_run=None,
            family_name=reg.name,
            address=reg.address,
            paperless=paperless,
            notified_at=now if reg.paperless else None,
            note=f"Régularisation {de(month_label(month))}",
        )
        await row.save()
        invoice = {"id": row.id, "number": row.number, "total_cents": row.total_cents}
        for a, shown in zip(reg.adjustments, reg.rows, strict=True):
            if a.amount_cents <= 0:
                continue
            lines.append(
                InvoiceLine(
                    invoice=row.id,
                    child=a.child_id,
                    activity=a.activity_id,
                    kind=a.kind,
                    label=shown["label"][:200],
                    days=a.day.isoformat(),
                    quantity=1,
                    unit_price_cents=a.amount_cents,
                    amount_cents=a.amount_cents,
                    cause=a.cause,
                )
            )
    return credits, invoice, lines


async def _notify(reg, month, credits, invoice, used, due_days, now, settings) -> None:
    """Paperless families hear of each new document, in the run's transaction."""
    from ecp.mail.notices import queue_credit_note_notice, queue_invoice_notices

    if not reg.paperless or settings is None:
        return
    corrected = reg.root["number"] if reg.root else (invoice or {}).get("number", "")
    for credit in credits:
        amount = -credit["total_cents"]
        await queue_credit_note_notice(
            {
                "family_id": reg.family_id,
                "emails": reg.emails,
                "family_name": reg.name,
                "number": credit["number"],
                "invoice_number": corrected,
                "month": month,
                "amount_cents": amount,
                "refund_cents": amount - used.get(credit["id"], 0),
                "reason": credit["note"],
                "credit_id": credit["id"],
            },
            settings,
        )
    if invoice is not None:
        await queue_invoice_notices(
            [
                {
                    "invoice_id": invoice["id"],
                    "number": invoice["number"],
                    "family_id": reg.family_id,
                    "emails": reg.emails,
                    "family_name": reg.name,
                    "total_cents": invoice["total_cents"],
                    "due_on": now.astimezone(clock.PARIS).date() + dt.timedelta(days=due_days),
                    "month": month,
                }
            ],
            settings,
        )


async def run_corrections(actor, month: dt.date, settings=None, batch_size: int = 100) -> dict:
    """Settles the régularisations of a billed month; returns {"credit_notes": [numbers],
    "invoices": [numbers], "families": n}. Refused (Rejected, field "mois") for a month not
    billed or whose billing is under way. Running it again issues nothing."""
    month = month.replace(day=1)
    period = await BillingPeriod.select(BillingPeriod.state).where(BillingPeriod.month == month)
    if not period:
        raise Rejected(not_billed_message(month), field="mois")
    if period[0]["state"] != "facturee":
        raise Rejected(billing_under_way_message(month), field="mois")
    ref = await billing.load_reference(month)
    candidates = await month_families(month)
    first_look = await compute(month, candidates, ref)
    pending = [fid for fid in candidates if first_look[fid].adjustments] if first_look else []
    result = {"credit_notes": [], "invoices": [], "families": 0}
    now = clock.now()
    year = now.astimezone(clock.PARIS).year
    if pending:
        await numbering.ensure_counters(year, "FAC", "AV")
    for start in range(0, len(pending), batch_size):
        batch = pending[start : start + batch_size]
        async with write_transaction():
            # The billing run's lock: issued documents are read again under it, below.
            numbers = await numbering.lock_counters(year, "FAC", "AV")
            fresh = await compute(month, batch, ref)
            lines, issued = [], []
            for family_id in batch:
                reg = fresh.get(family_id)
                if reg is None or not reg.adjustments:
                    continue
                credits, invoice, family_lines = await _issue(
                    reg, month, numbers, now=now, due_days=ref.due_days
                )
                lines.extend(family_lines)
                issued.append((reg, credits, invoice))
            if lines:
                await InvoiceLine.insert(*lines)
            await numbers.save()
            for reg, credits, invoice in issued:
                used = await settlement.settle_pending_in_transaction([reg.family_id], actor)
                await _notify(reg, month, credits, invoice, used, ref.due_days, now, settings)
                await audit.record(
                    actor,
                    "regularisation_emise",
                    family_id=reg.family_id,
                    target=f"Family:{reg.family_id}",
                    details={
                        "mois": month.strftime("%Y-%m"),
                        "avoirs": [c["number"] for c in credits],
                        "facture": invoice["number"] if invoice else None,
                        "credite_cents": reg.credit_cents,
                        "facture_cents": reg.bill_cents,
                    },
                )
                result["credit_notes"].extend(c["number"] for c in credits)
                if invoice:
                    result["invoices"].append(invoice["number"])
                result["families"] += 1
    await audit.record(
        actor,
        "regularisation_lancee",
        target=f"BillingPeriod:{month.isoformat()}",
        details={
            "mois": month.strftime("%Y-%m"),
            "avoirs": len(result["credit_notes"]),
            "factures": len(result["invoices"]),
            "familles": result["families"],
        },
    )
    return result
