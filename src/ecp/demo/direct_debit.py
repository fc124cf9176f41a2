"""Demo SEPA direct debit: two families (F00003 and F00004, not the demo accounts, whose
invoices stay payable by card) on direct debit, each with a mandate signed a month ago.

Idempotent: a family that already has an active mandate is left as it is.
"""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.families.tables import Family, Guardian
from ecp.payments import mandates

# IBANs of the demo, valid in form (schwifty), of no real account.
DEMO_MANDATES = (
    ("F00003", "FR7630004000000001234567845"),
    ("F00004", "FR1820041000000000987654K78"),
)


async def seed(context: dict) -> None:
    settings = context.get("settings")
    if settings is None:
        return
    for code, iban in DEMO_MANDATES:
        family = await Family.select(Family.id, Family.name).where(Family.code == code).first()
        if family is None or await mandates.active_mandate(family["id"]) is not None:
            continue
        guardian = (
            await Guardian.select(Guardian.first_name, Guardian.last_name)
            .where(Guardian.family == family["id"])
            .order_by(Guardian.rank)
            .first()
        )
        holder = f"{guardian['first_name']} {guardian['last_name']}" if guardian else family["name"]
        await mandates.record_mandate(
            settings,
            family_id=family["id"],
            holder=holder,
            iban=iban,
            bic="",
            signed_on=clock.today() - dt.timedelta(days=30),
        )
