"""The anomalies of billing, kept per month until the régisseur handles them.

A billing run reports what it found odd in a family's month (ecp.invoices.pricing: a presence
without booking, a booked day without presence, a day without a tariff). Each is one
BillingAnomaly row, keyed by (month, kind, child, activity, day), so the régisseur's work
survives the next run:

- a run upserts what it finds: a new anomaly is added « à traiter », one found again only has
  its last_seen_run and last_seen_at moved on; nothing is ever deleted;
- an anomaly « à traiter » that a run looked for again and did not find is closed as
  « corrigée » by the run itself, with the note NO_LONGER_SEEN. « Looked for » means the run
  examined that family's month: a run skips the families already invoiced, so their anomalies
  are left exactly as they were (their absence from a re-run says nothing);
- an anomaly marked « corrigée » that a run finds again is reopened « à traiter » (it was not
  corrected); one marked « justifiée » stays justified: the régisseur accepted it as it is;
- the régisseur marks anomalies « justifiée » (a note saying why is required), « corrigée », or
  back « à traiter »; each change is journalled with who and when.

BillingRun.anomalies (JSON) still holds what each run reported, as that run's own record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from piccolo.query.functions.aggregate import Count

from ecp import clock
from ecp.audit import services as audit
from ecp.audit.services import Actor, record_system
from ecp.db import lock_for_update, write_transaction
from ecp.errors import Rejected
from ecp.invoices.tables import BillingAnomaly

LABELS = {
    "present_sans_reservation": "présent sans réservation (majoration appliquée)",
    "reserve_absent": "réservé mais absent (jour facturé)",
    "tarif_manquant": "aucun tarif en vigueur (jour non facturé)",
}
KIND_CHOICES = {
    "present_sans_reservation": "Présent sans réservation",
    "reserve_absent": "Réservé mais absent",
    "tarif_manquant": "Aucun tarif en vigueur",
}
TO_HANDLE, JUSTIFIED, CORRECTED = "a_traiter", "justifiee", "corrigee"
STATES = {TO_HANDLE: "à traiter", JUSTIFIED: "justifiée", CORRECTED: "corrigée"}
NO_LONGER_SEEN = "N’apparaît plus au dernier calcul."
NOTE_REQUIRED = "Indiquez pourquoi l’anomalie est justifiée."
NOT_FOUND = "Une des anomalies choisies n’existe pas."
LIST_LIMIT = 500

Key = tuple[str, int, int, dt.date]


class AnomalyNotFound(Rejected):
    """An id that names no anomaly (a forged form: answered 404)."""

    def __init__(self) -> None:
        super().__init__(NOT_FOUND, field="anomalie")


def label(kind: str) -> str:
    return LABELS.get(kind, kind)


def seen_again_note(day: dt.date) -> str:
    return f"Réapparue au calcul du {day.strftime('%d/%m/%Y')} alors qu’elle était corrigée."


# ==== Written by the billing run ==================================================================


def changes(
    existing: Iterable[dict], found: Iterable[Key]
) -> tuple[list[Key], list[int], list[int], list[int]]:
    """What a run's findings do to the stored rows of the families it examined: (keys to add,
    ids seen again, ids to reopen, ids to close). `existing` rows carry id, kind, child,
    activity, day and state; a pure function, so the rules have unit tests."""
    found_keys = list(dict.fromkeys(found))
    stored = {(r["kind"], r["child"], r["activity"], r["day"]): r for r in existing}
    new = [k for k in found_keys if k not in stored]
    found_set = set(found_keys)
    seen = [r["id"] for k, r in stored.items() if k in found_set]
    reopen = [r["id"] for k, r in stored.items() if k in found_set and r["state"] == CORRECTED]
    close = [r["id"] for k, r in stored.items() if k not in found_set and r["state"] == TO_HANDLE]
    return new, seen, reopen, close


async def record_run(
    run_id: int,
    month: dt.date,
    family_ids: list[int],
    found: Iterable[tuple[int, object]],
    *,
    now: dt.datetime | None = None,
) -> dict:
    """Stores what a run found for `family_ids` (the families it examined) in `month`; `found`
    is (family id, ecp.invoices.pricing.Anomaly) pairs. Runs inside the caller's transaction
    (the billing batch's, which holds the invoice counter's lock, so runs take turns here).
    Returns the counts {"added", "seen", "reopened", "closed"}."""
    now = now or clock.now()
    month = month.replace(day=1)
    families: dict[Key, int] = {}
    for family_id, a in found:
        families.setdefault((a.kind, a.child_id, a.activity_id, a.day), family_id)
    if not family_ids:
        return {"added": 0, "seen": 0, "reopened": 0, "closed": 0}
    existing = await BillingAnomaly.select(
        BillingAnomaly.id,
        BillingAnomaly.kind,
        BillingAnomaly.child,
        BillingAnomaly.activity,
        BillingAnomaly.day,
        BillingAnomaly.state,
    ).where((BillingAnomaly.month == month) & BillingAnomaly.family.is_in(family_ids))
    new, seen, reopen, close = changes(existing, families)
    if new:
        await BillingAnomaly.insert(
            *(
                BillingAnomaly(
                    month=month,
                    kind=kind,
                    family=families[(kind, child, activity, day)],
                    child=child,
                    activity=activity,
                    day=day,
                    detail=label(kind),
                    state=TO_HANDLE,
                    first_seen_run=run_id,
                    last_seen_run=run_id,
                    first_seen_at=now,
                    last_seen_at=now,
                )
                for kind, child, activity, day in new
            )
        ).on_conflict(action="DO NOTHING")
    if seen:
        await BillingAnomaly.update(
            {BillingAnomaly.last_seen_run: run_id, BillingAnomaly.last_seen_at: now}
        ).where(BillingAnomaly.id.is_in(seen))
    if reopen:
        await BillingAnomaly.update(
            {
                BillingAnomaly.state: TO_HANDLE,
                BillingAnomaly.handled_by: None,
                BillingAnomaly.handled_at: None,
                BillingAnomaly.note: seen_again_note(now.astimezone(clock.PARIS).date()),
            }
        ).where(BillingAnomaly.id.is_in(reopen))
    if close:
        await BillingAnomaly.update(
            {
                BillingAnomaly.state: CORRECTED,
                BillingAnomaly.handled_by: None,
                BillingAnomaly.handled_at: now,
                BillingAnomaly.note: NO_LONGER_SEEN,
            }
        ).where(BillingAnomaly.id.is_in(close))
    if reopen or close:
        await record_system(
            "anomalies_recalculees",
            target=f"BillingRun:{run_id}",
            details={
                "mois": month.strftime("%Y-%m"),
                "corrigees": sorted(close),
                "rouvertes": sorted(reopen),
            },
        )
    return {"added": len(new), "seen": len(seen), "reopened": len(reopen), "closed": len(close)}


# ==== The régisseur ===============================================================================


async def handle(actor: Actor, anomaly_ids: list[int], state: str, note: str = "") -> dict:
    """Marks the anomalies `state` (justifiée needs a note) and journals each one, with the
    family, in one transaction. Raises Rejected (a bad state or a missing note) or
    AnomalyNotFound (an id that names no anomaly); nothing is then written.
    Returns {"count", "state"}."""
    ids = sorted(set(anomaly_ids))
    if state not in STATES:
        raise Rejected("Choisissez ce que vous faites de ces anomalies.", field="etat")
    note = note.strip()
    if state == JUSTIFIED and not note:
        raise Rejected(NOTE_REQUIRED, field="note")
    if not ids:
        raise Rejected("Cochez au moins une anomalie.", field="anomalie")
    now = clock.now()
    async with write_transaction():
        rows = await lock_for_update(
            BillingAnomaly.select(
                BillingAnomaly.id,
                BillingAnomaly.month,
                BillingAnomaly.kind,
                BillingAnomaly.family,
                BillingAnomaly.child,
                BillingAnomaly.day,
                BillingAnomaly.state,
            )
            .where(BillingAnomaly.id.is_in(ids))
            # The journal lines follow the page's order (by day), the same on both engines.
            .order_by(BillingAnomaly.day, BillingAnomaly.id)
        )
        if len(rows) != len(ids):
            raise AnomalyNotFound()
        back = state == TO_HANDLE
        await BillingAnomaly.update(
            {
                BillingAnomaly.state: state,
                BillingAnomaly.handled_by: None if back else actor.staff_id,
                BillingAnomaly.handled_at: None if back else now,
                BillingAnomaly.note: note,
            }
        ).where(BillingAnomaly.id.is_in(ids))
        for row in rows:
            await audit.record(
                actor,
                "anomalie_traitee",
                family_id=row["family"],
                target=f"BillingAnomaly:{row['id']}",
                details={
                    "mois": row["month"].strftime("%Y-%m"),
                    "anomalie": row["kind"],
                    "jour": row["day"].isoformat(),
                    "avant": row["state"],
                    "etat": state,
                    "note": note,
                },
            )
    return {"count": len(rows), "state": state}


# ==== Reads =======================================================================================

COLUMNS = (
    BillingAnomaly.id,
    BillingAnomaly.month,
    BillingAnomaly.kind,
    BillingAnomaly.family,
    BillingAnomaly.day,
    BillingAnomaly.detail,
    BillingAnomaly.state,
    BillingAnomaly.handled_at,
    BillingAnomaly.note,
    BillingAnomaly.first_seen_at,
    BillingAnomaly.last_seen_at,
    BillingAnomaly.first_seen_run,
    BillingAnomaly.last_seen_run,
    BillingAnomaly.family.code.as_alias("family_code"),
    BillingAnomaly.family.name.as_alias("family_name"),
    BillingAnomaly.child.first_name.as_alias("child_first_name"),
    BillingAnomaly.child.last_name.as_alias("child_last_name"),
    BillingAnomaly.activity.label.as_alias("activity"),
    BillingAnomaly.handled_by.display_name.as_alias("handled_by_name"),
)


def _decorate(row: dict) -> dict:
    row["label"] = label(row["kind"])
    row["state_label"] = STATES.get(row["state"], row["state"])
    row["child"] = f"{row.pop('child_first_name')} {row.pop('child_last_name')}".strip()
    row["date"] = row["day"]
    return row


async def month_anomalies(
    month: dt.date,
    *,
    state: str = "",
    kind: str = "",
    family_code: str = "",
    limit: int = LIST_LIMIT,
) -> list[dict]:
    """The month's anomalies, by day then family, at most `limit` (one query)."""
    query = BillingAnomaly.select(*COLUMNS).where(BillingAnomaly.month == month.replace(day=1))
    if state:
        query = query.where(BillingAnomaly.state == state)
    if kind:
        query = query.where(BillingAnomaly.kind == kind)
    if family_code:
        query = query.where(BillingAnomaly.family.code == family_code)
    rows = await query.order_by(
        BillingAnomaly.day, BillingAnomaly.family.code, BillingAnomaly.id
    ).limit(limit)
    return [_decorate(r) for r in rows]


async def month_counts(month: dt.date) -> dict[str, int]:
    """How many anomalies of the month are in each state, and "total" (one query)."""
    rows = (
        await BillingAnomaly.select(BillingAnomaly.state, Count(alias="n"))
        .where(BillingAnomaly.month == month.replace(day=1))
        .group_by(BillingAnomaly.state)
    )
    counts = dict.fromkeys(STATES, 0)
    for row in rows:
        counts[row["state"]] = row["n"]
    counts["total"] = sum(row["n"] for row in rows)
    return counts


async def months_with_anomalies(limit: int = 24) -> list[dict]:
    """The months that have anomalies, most recent first: {"month", "open", "total"}."""
    rows = await BillingAnomaly.select(
        BillingAnomaly.month, BillingAnomaly.state, Count(alias="n")
    ).group_by(BillingAnomaly.month, BillingAnomaly.state)
    months: dict[dt.date, dict] = {}
    for row in rows:
        month = row["month"]
        if isinstance(month, str):  # SQLite hands an aggregate's group back as text
            month = dt.date.fromisoformat(month)
        entry = months.setdefault(month, {"month": month, "open": 0, "total": 0})
        entry["total"] += row["n"]
        if row["state"] == TO_HANDLE:
            entry["open"] += row["n"]
    return sorted(months.values(), key=lambda m: m["month"], reverse=True)[:limit]


def default_month(months: list[dict], today: dt.date) -> dt.date:
    """The month the page opens on: the latest with anomalies to handle, else the latest with
    any, else last month."""
    for entry in months:
        if entry["open"]:
            return entry["month"]
    if months:
        return months[0]["month"]
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


async def anomalies_page(
    month: dt.date | None, *, state: str = "", kind: str = "", family_code: str = ""
) -> dict:
    """The régisseur's page: the months that have anomalies, the chosen month's counts by
    state and its list under the filters (three queries)."""
    months = await months_with_anomalies()
    month = (month or default_month(months, clock.today())).replace(day=1)
    rows = await month_anomalies(month, state=state, kind=kind, family_code=family_code)
    return {
        "month": month,
        "months": months,
        "counts": await month_counts(month),
        "anomalies": rows,
        "truncated": len(rows) >= LIST_LIMIT,
    }


BILLING_PAGE_LIMIT = 200


async def billing_summary(month: dt.date) -> dict:
    """What the billing page shows of a month's anomalies: the counts by state and those still
    to handle (at most BILLING_PAGE_LIMIT), whatever run found them (two queries)."""
    return {
        "counts": await month_counts(month),
        "open": await month_anomalies(month, state=TO_HANDLE, limit=BILLING_PAGE_LIMIT),
    }
