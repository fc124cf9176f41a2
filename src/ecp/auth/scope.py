"""Agents limited to some schools (StaffSchool): what they may see. An agent without any
school sees every school; one with schools sees those schools' lists (effectifs, pointage,
inscriptions) and the families with a child there (lists, search, records: another family's
record is a 404, as if it did not exist).

The session says whether the agent is limited at all (`Principal.school_limited`, read with
the session), so an agent who is not costs no query; `school_scope` reads the schools when a
page needs them. Features apply the scope with `SchoolScope.allows`, `SchoolScope.ids` and
ecp.families.queries.families_of_schools."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecp.auth.tables import StaffSchool
from ecp.families import queries as family_queries


@dataclass(frozen=True)
class SchoolScope:
    school_ids: tuple[int, ...] | None = None  # None: every school

    @property
    def limited(self) -> bool:
        return self.school_ids is not None

    def allows(self, school_id: int | None) -> bool:
        return self.school_ids is None or school_id in self.school_ids

    @property
    def ids(self) -> tuple[int, ...] | None:
        """The school ids to filter on, or None for no filter."""
        return self.school_ids

    def keep(self, rows: list[dict], key: str = "id") -> list[dict]:
        """The rows (schools, lists…) whose `key` is a school of the scope."""
        return rows if self.school_ids is None else [r for r in rows if r[key] in self.school_ids]


EVERY_SCHOOL = SchoolScope()


async def staff_school_ids(staff_id: int) -> list[int]:
    rows = await StaffSchool.select(StaffSchool.school).where(StaffSchool.staff == staff_id)
    return sorted(r["school"] for r in rows)


async def school_scope(user: Any) -> SchoolScope:
    """The request's scope: every school for anyone not limited (no query)."""
    if user is None or not user.is_staff or not getattr(user, "school_limited", False):
        return EVERY_SCHOOL
    ids = await staff_school_ids(user.staff_id)
    return SchoolScope(tuple(ids)) if ids else EVERY_SCHOOL


async def family_allowed(user: Any, family_id: int) -> bool:
    scope = await school_scope(user)
    return not scope.limited or await family_queries.family_in_schools(family_id, scope.ids)
