"""The family's own account: contact-change requests, reminders (the password change is
ecp.auth.services.change_password, shared with the staff's; the reads are in
ecp.accounts.queries)."""

from __future__ import annotations

import json

from ecp import clock
from ecp.accounts import contact
from ecp.families.tables import ContactChangeRequest, Family

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
