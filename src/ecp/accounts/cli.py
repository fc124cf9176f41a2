"""`ecp reindex-familles` (rebuild the staff search index) and `ecp anonymiser-inactifs`."""

from __future__ import annotations

import asyncio

from ecp.web.plural import counted


def _reindex(_args) -> int:
    from ecp import db
    from ecp.families.search import rebuild_all

    async def go():
        async with db.pool():
            return await rebuild_all()

    print(f"Index de recherche reconstruit : {counted(asyncio.run(go()), 'famille')}.")
    return 0


def _anonymise(_args) -> int:
    from ecp import clock, db
    from ecp.accounts.retention import anonymise_inactive
    from ecp.settings import Settings

    async def go():
        async with db.pool():
            return await anonymise_inactive(Settings.from_env(), clock.now())

    print(f"Familles anonymisées : {asyncio.run(go())}.")
    return 0


def register(subparsers) -> None:
    subparsers.add_parser(
        "reindex-familles", help="rebuild the staff family-search index"
    ).set_defaults(func=_reindex)
    subparsers.add_parser(
        "anonymiser-inactifs", help="anonymise families inactive beyond the retention period"
    ).set_defaults(func=_anonymise)
