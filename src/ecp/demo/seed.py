"""`ecp seed-demo`: the demo commune, then each feature's demo data, all relative to today."""

from __future__ import annotations

from ecp.auth.passwords import Passwords
from ecp.demo.core import seed_core
from ecp.families.tables import Family


async def seed_demo(settings, n_families: int = 100) -> str:
    passwords = Passwords(settings.password_profile, settings.hash_concurrency)
    await seed_core(passwords, n_families=n_families)
    families = await Family.count()
    return f"Démo prête : {families} familles (comptes de démonstration dans le README)."
