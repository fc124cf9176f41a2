"""`ecp seed-demo`: the demo commune, then each feature's demo data, all relative to today.

Each feature's demo data lives in `ecp/demo/<feature>.py` as `async def seed(context: dict)`;
they run in FEATURE_SEEDS order and must be idempotent (a second run adds nothing, and a run a week
later brings the demo up to the new date).
"""

from __future__ import annotations

from ecp.auth.passwords import Passwords
from ecp.demo import accounts, booking, direct_debit, finance, invoices, payments
from ecp.demo.core import seed_core
from ecp.families.tables import Family

FEATURE_SEEDS = (
    booking.seed,
    invoices.seed,
    payments.seed,
    direct_debit.seed,
    finance.seed,
    accounts.seed,
)


async def seed_demo(settings, n_families: int = 100) -> str:
    passwords = Passwords(settings.password_profile, settings.hash_concurrency)
    context = await seed_core(passwords, n_families=n_families)
    context["settings"] = settings
    for seed in FEATURE_SEEDS:
        await seed(context)
    families = await Family.count()
    return f"Démo prête : {families} familles (comptes de démonstration dans le README)."
