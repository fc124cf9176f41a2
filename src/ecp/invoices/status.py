"""An invoice's status in words, from its amounts and due date (pure)."""

from __future__ import annotations

import datetime as dt

LABELS = {
    "payee": "payée",
    "partielle": "partiellement payée",
    "a_payer": "à payer",
    "en_retard": "en retard",
    "avoir": "avoir",
}


def invoice_status(
    total_cents: int, paid_cents: int, due_on: dt.date, today: dt.date, kind: str = "facture"
) -> str:
    if kind == "avoir":
        return "avoir"
    if paid_cents >= total_cents:
        return "payee"
    if due_on < today:
        return "en_retard"
    if paid_cents > 0:
        return "partielle"
    return "a_payer"
