"""`ecp seed-demo`: the demo commune, then each feature's demo data, all relative to today.

Each feature may add `ecp/demo/<feature>.py` with `async def seed(context: dict) -> None`;
they run in FEATURE_SEEDS order and must be idempotent (a second run adds nothing, and a run a week
later brings the demo up to the new date).
"""

from __future__ import annotations

import importlib
import importlib.util

from ecp.auth.passwords import Passwords
from ecp.demo.core import seed_core
from ecp.families.tables import Family

FEATURE_SEEDS = ("booking", "invoices", "payments", "accounts")


async def seed_demo(settings, n_families: int = 100) -> str:
    passwords = Passwords(settings.password_profile, settings.hash_concurrency)
    context = await seed_core(passwords, n_families=n_families)
    context["settings"] = settings
    for name in FEATURE_SEEDS:
        if importlib.util.find_spec(f"ecp.demo.{name}") is not None:
            await importlib.import_module(f"ecp.demo.{name}").seed(context)
    families = await Family.count()
    return f"Démo prête : {families} familles (comptes de démonstration dans le README)."
