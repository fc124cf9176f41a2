"""Who is making the request, as resolved from the login cookie."""

from __future__ import annotations

from dataclasses import dataclass

ROLE_RANK = {"agent": 1, "regisseur": 2, "administrateur": 3}
ROLE_LABELS = {"agent": "agent", "regisseur": "régisseur", "administrateur": "administrateur"}


@dataclass(frozen=True)
class Principal:
    kind: str  # "family" or "staff"
    session_id: int
    name: str
    family_id: int | None = None
    staff_id: int | None = None
    role: str | None = None
    code: str | None = None
    # The password is a provisional one (a welcome letter, an administrator's): every page
    # but the one to choose a password sends there (ecp.auth.guards).
    must_change_password: bool = False
    # An agent limited to some schools (ecp.auth.scope reads which).
    school_limited: bool = False

    @property
    def is_family(self) -> bool:
        return self.kind == "family"

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    def has_role(self, role: str) -> bool:
        return self.is_staff and ROLE_RANK.get(self.role or "", 0) >= ROLE_RANK[role]
