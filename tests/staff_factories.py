"""Helpers for the staff tests: a logged-in agent of a given role, an indexed family."""

from __future__ import annotations

from ecp.families import search
from tests import factories
from tests.accounts_factories import family_with_guardian
from tests.support import login_staff

PASSWORDS = {
    "agent": "agent-du-service-sej",
    "regisseur": "regisseur-de-la-regie",
    "administrateur": "administrateur-du-portail",
}


async def staff_client(client, role: str = "administrateur", username: str | None = None):
    username = username or role
    staff = await factories.make_staff(
        username, password=PASSWORDS[role], role=role, display_name=f"{role.capitalize()} Test"
    )
    await login_staff(client, username, PASSWORDS[role])
    return staff


async def indexed_family(code="F00001", name="Martin", **guardian):
    family, g = await family_with_guardian(code, name=name, **guardian)
    await search.reindex(family.id)
    return family, g


def staff_actor(staff, role: str | None = None):
    """The Principal a staff member acts as, for the tests that call services directly."""
    from ecp.auth.principal import Principal

    return Principal(
        kind="staff",
        session_id=0,
        name=staff.display_name,
        staff_id=staff.id,
        role=role or staff.role,
    )
