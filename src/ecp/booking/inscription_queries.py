"""Reads of the staff's inscriptions list: filtered by school, activity, level and state, with
each waiting inscription's rank (ecp.booking.inscriptions says how ranks are ordered)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ecp.booking.inscriptions import STATUS_LABELS
from ecp.db import fetch
from ecp.families.tables import LEVELS

MAX_ROWS = 200

# The rank of every waiting inscription, per activity, school year and school.
RANKS_SQL = (
    "SELECT j.id, ROW_NUMBER() OVER (PARTITION BY j.activity, j.school_year, d.school "
    "ORDER BY j.waitlisted_at, j.id) AS rank "
    "FROM inscription j JOIN child d ON d.id = j.child WHERE j.status = 'liste_attente'"
)
LIST_SQL = (
    "SELECT i.id, i.status, i.requested_at, i.decided_at, i.reason, w.rank, "
    "c.id AS child_id, c.first_name, c.last_name, c.level, c.family AS family_id, "
    "f.code AS family_code, f.name AS family_name, s.name AS school, "
    "a.label AS activity, COUNT(*) OVER () AS total "
    "FROM inscription i JOIN child c ON c.id = i.child JOIN family f ON f.id = c.family "
    "JOIN activity a ON a.id = i.activity LEFT JOIN school s ON s.id = c.school "
    f"LEFT JOIN ({RANKS_SQL}) w ON w.id = i.id "
    "JOIN school_year y ON y.id = i.school_year WHERE y.is_current = {}"
)
TYPES = {"requested_at": dt.datetime, "decided_at": dt.datetime, "rank": int, "total": int}


@dataclass
class InscriptionList:
    rows: list[dict]
    total: int  # all that match, of which `rows` holds MAX_ROWS at most


async def staff_inscriptions(
    *,
    status: str | None = None,
    school_id: int | None = None,
    activity_id: int | None = None,
    level: str | None = None,
    family_id: int | None = None,
    schools: tuple[int, ...] | None = None,
) -> InscriptionList:
    """The current year's inscriptions that match, oldest request first (the waiting list in
    rank order): one query. `schools`: an agent's scope (ecp.auth.scope), None for all."""
    sql, args = LIST_SQL, [True]
    if schools is not None:
        sql += " AND c.school IN (" + ", ".join("{}" for _ in schools or [-1]) + ")"
        args.extend(schools or [-1])
    for clause, value in (
        (" AND i.status = {}", status),
        (" AND c.school = {}", school_id),
        (" AND i.activity = {}", activity_id),
        (" AND c.level = {}", level),
        (" AND c.family = {}", family_id),
    ):
        if value is not None:
            sql += clause
            args.append(value)
    if status == "liste_attente":
        sql += " ORDER BY a.sort_order, a.label, s.name, w.rank"
    else:
        sql += " ORDER BY i.requested_at, i.id"
    rows = await fetch(sql + f" LIMIT {MAX_ROWS}", *args, types=TYPES)
    for row in rows:
        row["status_label"] = STATUS_LABELS.get(row["status"], row["status"])
    return InscriptionList(rows, rows[0]["total"] if rows else 0)


async def outside_schools(inscription_ids: list[int], schools: tuple[int, ...]) -> bool:
    """Whether any of these inscriptions is of a child at none of `schools` (an agent's scope)."""
    if not inscription_ids:
        return False
    marks = ", ".join("{}" for _ in inscription_ids)
    rows = await fetch(
        f"SELECT c.school FROM inscription i JOIN child c ON c.id = i.child WHERE i.id IN ({marks})",
        *inscription_ids,
    )
    return any(r["school"] not in schools for r in rows)


async def filter_choices() -> dict[str, list[tuple[str, str]]]:
    """The lists of the filters: active schools and activities (one query), levels."""
    rows = await fetch(
        "SELECT 's' AS kind, id, name AS label, 0 AS o FROM school WHERE active = {} "
        "UNION ALL SELECT 'a' AS kind, id, label, sort_order AS o FROM activity WHERE active = {} "
        "ORDER BY kind, o, label",
        True,
        True,
    )
    return {
        "schools": [(str(r["id"]), r["label"]) for r in rows if r["kind"] == "s"],
        "activities": [(str(r["id"]), r["label"]) for r in rows if r["kind"] == "a"],
        "levels": [(level, level) for level in LEVELS],
        "statuses": list(STATUS_LABELS.items()),
    }


async def family_waiting_ranks(family_id: int) -> dict[int, int]:
    """Inscription id -> rank, for the family's inscriptions on a waiting list."""
    rows = await fetch(
        f"SELECT w.id, w.rank FROM ({RANKS_SQL}) w JOIN inscription i ON i.id = w.id "
        "JOIN child c ON c.id = i.child WHERE c.family = {}",
        family_id,
        types={"rank": int},
    )
    return {r["id"]: r["rank"] for r in rows}
