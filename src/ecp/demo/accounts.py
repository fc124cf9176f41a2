"""Demo data of the accounts and staff back office: the family-search index, two waiting
contact-change requests and a few journal lines. Idempotent: a second run adds nothing."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.accounts import contact
from ecp.audit.tables import AuditLog
from ecp.auth.tables import StaffUser
from ecp.families import search
from ecp.families.tables import Child, ContactChangeRequest, Family, Guardian

# code famille -> the change it asks for (validated like a real form)
REQUESTS = {
    "F00002": {"phone_mobile": "07 81 45 22 10"},
    "F00007": {"address_line1": "15 rue Pasteur", "phone_home": "01 39 22 41 07"},
}


async def _requests() -> None:
    families = {
        r["code"]: r["id"]
        for r in await Family.select(Family.id, Family.code).where(
            Family.code.is_in(list(REQUESTS))
        )
    }
    for code, wanted in REQUESTS.items():
        family_id = families.get(code)
        if family_id is None or await ContactChangeRequest.exists().where(
            ContactChangeRequest.family == family_id
        ):
            continue
        guardian = (
            await Guardian.select()
            .where((Guardian.family == family_id) & (Guardian.rank == 1))
            .first()
        )
        if guardian is None:
            continue
        cleaned = contact.clean({**{k: guardian[k] for k in contact.FIELDS}, **wanted}, guardian)
        changes = contact.differences(cleaned.values, guardian)
        if changes and not cleaned.errors:
            await ContactChangeRequest(
                family=family_id,
                guardian=guardian["id"],
                changes=changes,
                status="en_attente",
                submitted_at=clock.now() - dt.timedelta(days=1),
            ).save()


async def _journal() -> None:
    agent = (
        await StaffUser.select(StaffUser.id, StaffUser.display_name)
        .where(StaffUser.username == "agent")
        .first()
    )
    if agent is None or await AuditLog.exists().where(AuditLog.staff == agent["id"]):
        return
    martin = await Family.select(Family.id).where(Family.code == "F00001").first()
    if martin is None:
        return
    hugo = (
        await Child.select(Child.id)
        .where((Child.family == martin["id"]) & (Child.first_name == "Hugo"))
        .first()
    )
    now = clock.now()
    lines = [
        (now - dt.timedelta(days=3, hours=2), "family_record_viewed", "", {}),
        (
            now - dt.timedelta(days=3, hours=2) + dt.timedelta(minutes=1),
            "health_notes_read",
            f"enfant {hugo['id']}" if hugo else "",
            {"page": "santé"},
        ),
        (now - dt.timedelta(days=1, hours=5), "reset_link_sent", "", {}),
    ]
    await AuditLog.insert(
        *[
            AuditLog(
                at=at,
                staff=agent["id"],
                actor=agent["display_name"],
                family=martin["id"],
                action=action,
                target=target,
                details=details,
            )
            for at, action, target, details in lines
        ]
    )


async def seed(context: dict) -> None:
    await search.rebuild_all()
    await _requests()
    await _journal()
