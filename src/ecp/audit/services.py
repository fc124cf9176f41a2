"""Writing to the journal; there is deliberately no function that edits or deletes a line."""

from __future__ import annotations

from typing import Any

from ecp import clock
from ecp.audit.tables import AuditLog
from ecp.auth.principal import Principal


async def record(actor: Principal, action: str, *, family_id: int | None = None,
                 target: str = "", details: dict[str, Any] | None = None) -> None:
    await AuditLog.insert(
        AuditLog(
            at=clock.now(),
            staff=actor.staff_id,
            actor=actor.name,
            family=family_id,
            action=action,
            target=target,
            details=details or {},
        )
    )
