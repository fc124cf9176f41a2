"""Builders for the accounts and staff tests: a family with guardians and children."""

from __future__ import annotations

from tests import factories


async def family_with_guardian(
    code: str = "F00001", name: str = "Martin", password: str = "demo-famille-1", **guardian
):
    family = await factories.make_family(
        code,
        name=name,
        password=password,
        email=guardian.pop("family_email", f"{name.lower()}@example.org"),
    )
    guardian.setdefault("email", family.email)
    g = await factories.make_guardian(family, **guardian)
    return family, g
