"""`ecp bill --month YYYY-MM`: runs (or resumes) the monthly billing from the command line; a month
that has not ended needs `--en-avance` (the web page's confirmation)."""

from __future__ import annotations

import asyncio
import sys

from ecp.web.plural import counted


def cmd_bill(args) -> int:
    from ecp import clock, db
    from ecp.errors import Rejected
    from ecp.invoices import pricing
    from ecp.invoices.billing import run_billing
    from ecp.invoices.services import ConfirmationNeeded, check_month_billable

    try:
        month = pricing.parse_month(args.month)
    except ValueError:
        print("Mois attendu au format AAAA-MM, par exemple 2026-11.", file=sys.stderr)
        return 2
    try:
        check_month_billable(month, clock.today(), args.en_avance)
    except ConfirmationNeeded as refused:
        print(f"{refused.warning}\nPour facturer quand même, ajoutez --en-avance.", file=sys.stderr)
        return 2
    except Rejected as refused:
        print(refused.message, file=sys.stderr)
        return 2

    async def go():
        async with db.pool(min_size=1, max_size=2):
            return await run_billing(month)

    result = asyncio.run(go())
    print(
        f"Facturation de {args.month} terminée : "
        f"{counted(result['invoices_created'], 'facture créée', 'factures créées')} pour "
        f"{counted(result['families'], 'famille concernée', 'familles concernées')}."
    )
    return 0


def register(subparsers) -> None:
    bill = subparsers.add_parser("bill", help="run or resume the monthly billing")
    bill.add_argument("--month", required=True, help="YYYY-MM")
    bill.add_argument(
        "--en-avance",
        action="store_true",
        help="bill the current or next month before it ends (its changes are then regularised)",
    )
    bill.set_defaults(func=cmd_bill)
