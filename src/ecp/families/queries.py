"""Read models for the family side; each function costs a fixed number of queries."""

from __future__ import annotations

from ecp.families.tables import Child, Family, Guardian


async def family_with_children(family_id: int) -> tuple[dict, list[dict]]:
    family = (
        await Family.select(Family.id, Family.code, Family.name, Family.email, Family.paperless)
        .where(Family.id == family_id)
        .first()
    )
    children = (
        await Child.select(
            Child.id,
            Child.first_name,
            Child.last_name,
            Child.level,
            Child.birth_date,
            Child.school.name.as_alias("school_name"),
        )
        .where((Child.family == family_id) & (Child.active == True))
        .order_by(Child.birth_date)
    )  # noqa: E712
    return family, children


async def guardians(family_id: int) -> list[dict]:
    return await Guardian.select().where(Guardian.family == family_id).order_by(Guardian.rank)
