"""The commune's settings row, with the column defaults when the row is not there yet; the billing
periods every feature may read."""

from __future__ import annotations

import calendar
import datetime as dt

from ecp.commune.tables import CommuneSettings
from ecp.db import fetch
from ecp.web.templating import french_date


def _plain(value):
    # Piccolo returns Default objects (TimeCustom...) for some columns; callers want values.
    return value.python() if hasattr(value, "python") else value


def defaults() -> dict:
    return {
        c._meta.name: _plain(c.get_default_value())
        for c in CommuneSettings._meta.columns
        if c._meta.name != "id"
    }


async def commune_settings() -> dict:
    row = await CommuneSettings.select().first()
    return {**defaults(), **(row or {})}


# ==== Billing periods =============================================================================
# Written by ecp.invoices.billing (a run opens the month's period, its end marks it billed); read
# here so that the booking feature, which invoices builds on, can read them without a cycle.

# The latest month a billing run has started, as a scalar subquery a statement can carry (as
# SETUP.VERSION_COLUMN does): the booking services read it with the child's row, at no cost.
BILLED_MONTH_COLUMN = "(SELECT MAX(bp.month) FROM billing_period bp)"


async def billed_until() -> dt.date | None:
    """The last day of the latest month billed (or being billed), None before the first run:
    families can no longer book or cancel a day up to it."""
    rows = await fetch(f"SELECT {BILLED_MONTH_COLUMN} AS month", types={"month": dt.date})
    month = rows[0]["month"] if rows else None
    if month is None:
        return None
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def billed_month_message(day: dt.date) -> str:
    """What a family reads when it tries to change a day of a billed month."""
    month = french_date(day.replace(day=1), "MMMM y")
    return (
        f"{month[:1].upper()}{month[1:]} est déjà facturé\u00a0: les jours de ce mois ne se "
        "réservent ni ne s’annulent plus en ligne. Contactez le service, qui régularisera."
    )
