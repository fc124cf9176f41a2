"""What the staff's own account pages read: the identity and the authenticator of an agent."""

from __future__ import annotations

from ecp.auth import mfa
from ecp.auth.principal import ROLE_LABELS
from ecp.auth.tables import StaffUser
from ecp.db import aware


async def staff_account(staff_id: int) -> dict:
    """{"account": identity with its role's label, "enrolment": {"enrolled_at"} or None}."""
    account = (
        await StaffUser.select(
            StaffUser.username, StaffUser.display_name, StaffUser.email, StaffUser.role
        )
        .where(StaffUser.id == staff_id)
        .first()
    )
    account["role_label"] = ROLE_LABELS.get(account["role"], account["role"])
    enrolment = await mfa.enrolment(staff_id)
    if enrolment:
        enrolment["enrolled_at"] = aware(enrolment["enrolled_at"])
    return {"account": account, "enrolment": enrolment}


async def authenticator_setup(staff_id: int) -> dict:
    """{"username": the account's name in the app, "replacing": an authenticator exists}."""
    row = await StaffUser.select(StaffUser.username).where(StaffUser.id == staff_id).first()
    return {"username": row["username"], "replacing": await mfa.enrolled(staff_id)}
