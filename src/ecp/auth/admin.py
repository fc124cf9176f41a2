"""Creating staff accounts from the command line: there is no default account (ASVS 6.3.2)."""

from __future__ import annotations

from ecp import clock
from ecp.auth.passwords import Passwords
from ecp.auth.policy import password_problem
from ecp.auth.tables import StaffUser


async def create_admin(settings, username: str, name: str, password: str) -> int:
    username = username.strip().lower()
    if not username:
        raise ValueError("L’identifiant est obligatoire.")
    problem = password_problem(password, staff=True, forbidden=(username,))
    if problem:
        raise ValueError(problem)
    if await StaffUser.exists().where(StaffUser.username == username):
        raise ValueError(f"Le compte « {username} » existe déjà.")
    passwords = Passwords(settings.password_profile)
    row = StaffUser(
        username=username,
        display_name=name,
        role="administrateur",
        password_hash=await passwords.hash(password),
        created_at=clock.now(),
    )
    await row.save()
    return row.id
