"""What the family's own account pages read: contact details, guardians, change requests."""

from __future__ import annotations

from ecp.accounts import contact
from ecp.accounts.services import describe
from ecp.families.tables import ContactChangeRequest, Family, Guardian


async def guardians(family_id: int) -> list[dict]:
    return await Guardian.select().where(Guardian.family == family_id).order_by(Guardian.rank)


async def guardian_of(family_id: int, guardian_id: int) -> dict | None:
    """Looked up WITH the family id: another family's guardian is simply not found."""
    return (
        await Guardian.select()
        .where((Guardian.id == guardian_id) & (Guardian.family == family_id))
        .first()
    )


async def requests_for(family_id: int, limit: int = 20) -> list[dict]:
    rows = (
        await ContactChangeRequest.select(
            ContactChangeRequest.id,
            ContactChangeRequest.changes,
            ContactChangeRequest.status,
            ContactChangeRequest.submitted_at,
            ContactChangeRequest.decided_at,
            ContactChangeRequest.applied_fields,
            ContactChangeRequest.reason,
            ContactChangeRequest.guardian.first_name.as_alias("guardian_first_name"),
            ContactChangeRequest.guardian.last_name.as_alias("guardian_last_name"),
        )
        .where(ContactChangeRequest.family == family_id)
        .order_by(ContactChangeRequest.submitted_at, ascending=False)
        .limit(limit)
    )
    return [describe(r) for r in rows]


async def contact_page(family_id: int) -> dict:
    """The 'mes coordonnées' page: the family, its guardians, its recent change requests."""
    family = (
        await Family.select(Family.id, Family.code, Family.name, Family.email, Family.reminders)
        .where(Family.id == family_id)
        .first()
    )
    return {
        "family": family,
        "guardians": await guardians(family_id),
        "requests": await requests_for(family_id),
        "fields": contact.FIELDS,
    }
