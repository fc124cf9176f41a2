"""The family's own account: contact-change requests, reminders (the password change is
ecp.auth.services.change_password, shared with the staff's)."""

from __future__ import annotations

import json

from ecp import clock
from ecp.accounts import contact
from ecp.families.tables import ContactChangeRequest, Family, Guardian

STATUS_LABELS = {
    "en_attente": "en attente de validation",
    "appliquee": "appliquée",
    "partielle": "appliquée en partie",
    "refusee": "refusée",
}


def load_json(value, default):
    if value is None or value == "":
        return default
    if isinstance(value, (dict, list)):
        return value
    return json.loads(value)


async def guardians(family_id: int) -> list[dict]:
    return await Guardian.select().where(Guardian.family == family_id).order_by(Guardian.rank)


async def guardian_of(family_id: int, guardian_id: int) -> dict | None:
    """Looked up WITH the family id: another family's guardian is simply not found."""
    return (
        await Guardian.select()
        .where((Guardian.id == guardian_id) & (Guardian.family == family_id))
        .first()
    )


async def submit_change(family_id: int, guardian: dict, changes: dict) -> int:
    row = ContactChangeRequest(
        family=family_id,
        guardian=guardian["id"],
        changes=changes,
        status="en_attente",
        submitted_at=clock.now(),
        applied_fields=[],
    )
    await row.save()
    return row.id


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


def describe(row: dict) -> dict:
    """Adds readable lines {label, before, after, applied} and the status label."""
    changes = load_json(row.get("changes"), {})
    applied = set(load_json(row.get("applied_fields"), []))
    row = dict(row)
    row["changes"] = changes
    row["applied_fields"] = sorted(applied)
    row["status_label"] = STATUS_LABELS.get(row["status"], row["status"])
    row["lines"] = [
        {
            "field": name,
            "label": contact.FIELDS.get(name, name),
            "before": change.get("before", ""),
            "after": change.get("after", ""),
            "applied": name in applied,
        }
        for name, change in changes.items()
        if name in contact.FIELDS
    ]
    return row


async def set_reminders(family_id: int, enabled: bool) -> None:
    await Family.update({Family.reminders: enabled}).where(Family.id == family_id)
