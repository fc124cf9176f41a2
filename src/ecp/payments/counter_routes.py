"""Counter payments at the régie (/agents/paiements): espèces, chèque, CESU or virement against
one or several invoices of a family, partial payments, a printable receipt, a CSV export for the
trésorerie. Every action is written to the audit journal."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template

from ecp import clock
from ecp.audit import services as audit
from ecp.auth.guards import requires_role
from ecp.db import write_transaction
from ecp.families.tables import Family
from ecp.invoices import queries
from ecp.invoices.tables import Invoice
from ecp.mail.notices import month_label
from ecp.payments.allocation import METHODS, PaymentError, record_payment
from ecp.payments.tables import Payment, PaymentAllocation
from ecp.web import csv_export
from ecp.web.forms import Form, many, parse_euros, text
from ecp.web.htmx import page_or_fragment, redirect
from ecp.web.params import parse_day, parse_ids
from ecp.web.templating import euros

COUNTER_METHODS = {code: label for code, label in METHODS.items() if code != "carte"}
FORM_FRAGMENT = "partials/invoices/counter_payment_form.html"
REGISSEUR = [requires_role("regisseur")]
MAX_CENTS = 10_000_000


async def _family_by_code(code: str) -> dict | None:
    if not code:
        return None
    return (
        await Family.select(Family.id, Family.code, Family.name)
        .where(Family.code == code.strip().upper()[:12])
        .first()
    )


async def _open_invoices(family_id: int) -> list[dict]:
    rows = (
        await Invoice.select(*queries.INVOICE_COLUMNS)
        .where(
            (Invoice.family == family_id)
            & (Invoice.kind == "facture")
            & (Invoice.paid_cents < Invoice.total_cents)
        )
        .order_by(Invoice.month)
    )
    today = clock.today()
    return [queries.decorate(r, today) for r in rows]


async def _context(code: str, form: Form | None = None) -> dict:
    family = await _family_by_code(code)
    form = form or Form(
        values={
            "famille": code,
            "date": clock.today().strftime("%d/%m/%Y"),
            "mode": "",
            "facture": [],
        }
    )
    if code and family is None and "famille" not in form.errors:
        form.error("famille", f"Aucune famille n’a le code « {code} ».")
    invoices = await _open_invoices(family["id"]) if family else []
    payments = (
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
        .limit(50)
    )
    return {
        "family": family,
        "invoices": invoices,
        "form": form,
        "methods": COUNTER_METHODS,
        "all_methods": METHODS,
        "payments": payments,
        "month_label": month_label,
    }


@get("/paiements", name="staff_payments", guards=REGISSEUR)
async def staff_payments(request: Request, famille: FromQuery[str | None] = None) -> Template:
    context = await _context((famille or "").strip().upper()[:12])
    return page_or_fragment(
        request, page="pages/invoices/staff_payments.html", fragment=FORM_FRAGMENT, context=context
    )


@post("/paiements", name="staff_payment_record", status_code=200, guards=REGISSEUR)
async def staff_payment_record(request: Request, data: URLEncodedBody[dict[str, Any]]) -> Any:
    code = text(data, "famille", 12).upper()
    values = {
        "famille": code,
        "facture": many(data, "facture"),
        "montant": text(data, "montant", 20),
        "mode": text(data, "mode", 20),
        "reference": text(data, "reference", 80),
        "date": text(data, "date", 10),
    }
    form = Form(values=values)
    family = await _family_by_code(code)
    if family is None:
        form.error("famille", "Indiquez le code d’une famille existante.")
    invoice_ids = parse_ids(values["facture"])
    if family is not None and not invoice_ids:
        form.error("facture", "Cochez au moins une facture à régler.")
    amount = parse_euros(values["montant"])
    if amount is None or amount <= 0 or amount > MAX_CENTS:
        form.error("montant", "Indiquez un montant en euros, par exemple 12,50.")
    if values["mode"] not in COUNTER_METHODS:
        form.error("mode-especes", "Choisissez le mode de paiement.")
    if values["mode"] in ("cheque", "virement", "cesu") and not values["reference"]:
        form.error(
            "reference", "Indiquez le numéro du chèque, des CESU ou la référence du virement."
        )
    received = parse_day(values["date"])
    if received is None:
        form.error("date", "Indiquez la date au format JJ/MM/AAAA.")
    elif received > clock.today():
        form.error("date", "La date de réception ne peut pas être dans le futur.")
    result = None
    if form.valid:
        # Noon in Paris: the day of the receipt stays the same in every time zone used.
        received_at = dt.datetime.combine(received, dt.time(12), tzinfo=clock.PARIS)
        if received == clock.today():
            received_at = clock.now()
        try:
            async with write_transaction():
                result = await record_payment(
                    family_id=family["id"],
                    method=values["mode"],
                    amount_cents=amount,
                    invoice_ids=invoice_ids,
                    received_at=received_at,
                    reference=values["reference"],
                    recorded_by=request.user.staff_id,
                )
                await audit.record(
                    request.user,
                    "paiement_guichet",
                    family_id=family["id"],
                    target=f"Payment:{result['payment_id']}",
                    details={
                        "mode": values["mode"],
                        "montant_cents": amount,
                        "reference": values["reference"],
                        "allocations": result["allocations"],
                    },
                )
        except PaymentError as exc:
            form.error("facture", str(exc))
    if not form.valid:
        context = await _context(code if family else "", form)
        return page_or_fragment(
            request,
            page="pages/invoices/staff_payments.html",
            fragment=FORM_FRAGMENT,
            context=context,
            status_code=422,
        )
    message = f"Paiement de {euros(amount)} enregistré pour la famille {family['name']}."
    return redirect(request, f"/agents/paiements/{result['payment_id']}/recu", message)


@get("/paiements/{payment_id:int}/recu", name="staff_payment_receipt", guards=REGISSEUR)
async def staff_payment_receipt(request: Request, payment_id: FromPath[int]) -> Template:
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
        raise NotFoundException()
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
    from ecp.commune.tables import CommuneSettings

    commune = await CommuneSettings.select().first() or {"service_name": "", "address": ""}
    return page_or_fragment(
        request,
        page="pages/invoices/staff_receipt.html",
        context={
            "payment": payment,
            "allocations": allocations,
            "methods": METHODS,
            "month_label": month_label,
            "commune": commune,
            "commune_name": request.app.state.settings.commune_name,
        },
    )


@get("/paiements/export.csv", name="staff_payments_export", guards=REGISSEUR)
async def staff_payments_export(
    request: Request, du: FromQuery[str | None] = None, au: FromQuery[str | None] = None
) -> Response:
    """Payments received between two dates (the current month by default), one line per
    allocation so the trésorerie can match each invoice."""
    today = clock.today()
    start = parse_day(du) if du else today.replace(day=1)
    end = parse_day(au) if au else today
    if start is None or end is None:
        raise NotFoundException("Période invalide")
    since = dt.datetime.combine(start, dt.time(0), tzinfo=clock.PARIS)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=clock.PARIS)
    payments = (
        await Payment.select(
            Payment.id,
            Payment.method,
            Payment.amount_cents,
            Payment.received_at,
            Payment.reference,
            Payment.unallocated_cents,
            Payment.provider_transaction,
            Payment.family.code.as_alias("family_code"),
            Payment.family.name.as_alias("family_name"),
            Payment.recorded_by.display_name.as_alias("recorded_by_name"),
        )
        .where((Payment.received_at >= since) & (Payment.received_at < until))
        .order_by(Payment.received_at)
    )
    allocations: dict[int, list[str]] = {}
    for row in await PaymentAllocation.select(
        PaymentAllocation.payment,
        PaymentAllocation.amount_cents,
        PaymentAllocation.invoice.number.as_alias("number"),
    ).where(PaymentAllocation.payment.is_in([p["id"] for p in payments] or [-1])):
        allocations.setdefault(row["payment"], []).append(
            f"{row['number']} ({_euros_plain(row['amount_cents'])})"
        )
    out = io.StringIO()
    # Every cell neutralised against formulas; amounts are Numbers, so « -12,50 » stays a number.
    writer = csv_export.writer(out)
    writer.writerow(
        [
            "Date",
            "Code famille",
            "Famille",
            "Mode",
            "Montant (€)",
            "Référence",
            "Factures réglées",
            "Non affecté (€)",
            "Transaction carte",
            "Saisi par",
        ]
    )
    for p in payments:
        writer.writerow(
            [
                p["received_at"].astimezone(clock.PARIS).strftime("%d/%m/%Y"),
                p["family_code"],
                p["family_name"],
                METHODS.get(p["method"], p["method"]),
                _euros_plain(p["amount_cents"]),
                p["reference"],
                ", ".join(allocations.get(p["id"], [])),
                _euros_plain(p["unallocated_cents"]),
                p["provider_transaction"] or "",
                p["recorded_by_name"] or "",
            ]
        )
    await audit.record(
        request.user,
        "export_paiements",
        target="payments.csv",
        details={"du": start.isoformat(), "au": end.isoformat(), "lignes": len(payments)},
    )
    filename = f"paiements-{start.isoformat()}-{end.isoformat()}.csv"
    # The BOM makes spreadsheet software read the file as UTF-8.
    return Response(
        content="\ufeff" + out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _euros_plain(cents: int) -> str:
    return csv_export.decimal_fr(cents)


def handlers() -> list:
    return [staff_payments, staff_payment_record, staff_payment_receipt, staff_payments_export]
