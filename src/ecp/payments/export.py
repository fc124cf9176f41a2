"""The payments file for the trésorerie: one line per payment, the invoices it settled in one
cell, every text cell neutralised against formulas (ecp.web.csv_export)."""

from __future__ import annotations

import datetime as dt
import io

from ecp import clock
from ecp.payments.allocation import METHODS
from ecp.web import csv_export

MEDIA_TYPE = "text/csv"
HEADER = [
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


def filename(start: dt.date, end: dt.date) -> str:
    return f"paiements-{start.isoformat()}-{end.isoformat()}.csv"


def payments_csv(payments: list[dict]) -> str:
    """The file's text (ecp.payments.queries.payments_received gives the rows), with the BOM
    that makes spreadsheet software read it as UTF-8."""
    out = io.StringIO()
    # Amounts are Numbers, so « -12,50 » stays a number; every other cell is neutralised.
    writer = csv_export.writer(out)
    writer.writerow(HEADER)
    for p in payments:
        writer.writerow(
            [
                p["received_at"].astimezone(clock.PARIS).strftime("%d/%m/%Y"),
                p["family_code"],
                p["family_name"],
                METHODS.get(p["method"], p["method"]),
                csv_export.decimal_fr(p["amount_cents"]),
                p["reference"],
                ", ".join(
                    f"{number} ({csv_export.decimal_fr(cents)})"
                    for number, cents in p["allocations"]
                ),
                csv_export.decimal_fr(p["unallocated_cents"]),
                p["provider_transaction"] or "",
                p["recorded_by_name"] or "",
            ]
        )
    return "\ufeff" + out.getvalue()
