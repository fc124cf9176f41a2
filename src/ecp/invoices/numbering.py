"""Gapless numbers for the documents issued outside the billing run's batches: credit notes and
the régularisations' documents. The same InvoiceCounter rows, and the same lock, as
ecp.invoices.billing: the row of each kind and year is locked (FOR UPDATE on PostgreSQL; the
IMMEDIATE transaction on SQLite) and bumped in the transaction that issues the documents, so a
crash rolls both back and concurrent runs take turns. Counters are always locked in the order
FAC then AV, so two runs that need both never wait for each other in a circle."""

from __future__ import annotations

from ecp.db import lock_for_update
from ecp.invoices.tables import InvoiceCounter

ORDER = ("FAC", "AV")


def format_number(kind: str, year: int, number: int) -> str:
    return f"{kind}-{year}-{number:06d}"


async def ensure_counters(year: int, *kinds: str) -> None:
    """The counter rows exist before the transaction that locks them (outside it: two first
    documents of a year meet on the unique index, and the second one's insert does nothing)."""
    for kind in kinds:
        await InvoiceCounter.insert(
            InvoiceCounter(year=year, kind=kind, last_number=0)
        ).on_conflict(action="DO NOTHING")


class Numbers:
    """The locked counters of one transaction: `take(kind)` gives the next number, `save()`
    writes the counters back (in the same transaction)."""

    def __init__(self, year: int, rows: dict[str, dict]):
        self.year = year
        self._rows = rows
        self._last = {kind: row["last_number"] for kind, row in rows.items()}

    def take(self, kind: str) -> str:
        self._last[kind] += 1
        return format_number(kind, self.year, self._last[kind])

    @property
    def used(self) -> dict[str, int]:
        return {k: self._last[k] - row["last_number"] for k, row in self._rows.items()}

    async def save(self) -> None:
        for kind, row in self._rows.items():
            if self._last[kind] != row["last_number"]:
                await InvoiceCounter.update({InvoiceCounter.last_number: self._last[kind]}).where(
                    InvoiceCounter.id == row["id"]
                )


async def lock_counters(year: int, *kinds: str) -> Numbers:
    """Inside the caller's write transaction: the counters of `kinds`, locked in ORDER."""
    rows = {}
    for kind in sorted(kinds, key=ORDER.index):
        row = await lock_for_update(
            InvoiceCounter.select().where(
                (InvoiceCounter.year == year) & (InvoiceCounter.kind == kind)
            )
        ).first()
        rows[kind] = row
    return Numbers(year, rows)
