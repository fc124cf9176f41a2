"""Requests to the notification URL that were not Paybox notifications.

Anyone can call the notification URL, so what is kept of refused requests must stay small
whatever the flood: one row per (hour, address, reason) with a count and the first request's
bytes, a per-address throttle before any write, and a retention after which the clean-up job
deletes them. A genuine notification is never throttled: its signature is checked first (no
database, a fraction of a millisecond), and only refused requests count against the address.
"""

from __future__ import annotations

import datetime as dt
import logging

from ecp import clock
from ecp.db import write_transaction
from ecp.payments.tables import PaymentNotification, RefusedNotification

log = logging.getLogger("ecp.payments")

REFUSED_RETENTION_DAYS = 90
# Refused requests one address may make in a minute before it is answered 429 with no write.
PER_ADDRESS_PER_MINUTE = 20
SAMPLE_CHARS = 300
REASON_LABELS = {
    "signature": "sans signature Paybox valide",
    "format": "mise en forme qui n’est pas celle d’une notification Paybox",
}


def _hour(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


async def over_limit(store, source_ip: str, now: dt.datetime | None = None) -> bool:
    """Counts one refused request of this address; True once it is past the minute's quota.

    The count is approximate under concurrency (get then set), which is enough to bound writes.
    A store that fails (Redis away) never blocks: refusals are then only logged and counted.
    """
    now = now or clock.now()
    key = f"ipn-refused:{source_ip}:{int(now.timestamp() // 60)}"
    try:
        seen = await store.get(key)
        count = int(seen or 0) + 1
        await store.set(key, str(count), expires_in=120)
    except Exception:  # the throttle is a guard, not a dependency
        log.warning("refused-notification throttle unavailable", exc_info=False)
        return False
    if count == PER_ADDRESS_PER_MINUTE + 1:
        log.warning(
            "Paybox notification URL flooded by %s: further refusals this minute are "
            "answered 429 and not stored",
            source_ip,
        )
    return count > PER_ADDRESS_PER_MINUTE


async def record(source_ip: str, reason: str, raw: str, now: dt.datetime | None = None) -> None:
    """Adds one refused request to its (hour, address, reason) row."""
    now = now or clock.now()
    hour = _hour(now)
    key = (
        (RefusedNotification.hour == hour)
        & (RefusedNotification.source_ip == source_ip[:45])
        & (RefusedNotification.reason == reason)
    )
    for tries_left in (1, 0):
        try:
            async with write_transaction():
                updated = (
                    await RefusedNotification.update(
                        {
                            RefusedNotification.hits: RefusedNotification.hits + 1,
                            RefusedNotification.last_at: now,
                        }
                    )
                    .where(key)
                    .returning(RefusedNotification.id)
                )
                if not updated:
                    await RefusedNotification(
                        hour=hour,
                        source_ip=source_ip[:45],
                        reason=reason,
                        hits=1,
                        first_at=now,
                        last_at=now,
                        sample=raw[:SAMPLE_CHARS],
                    ).save()
            return
        except Exception as exc:
            # Another request inserted the same row first: count on it (once).
            if tries_left and "unique" in str(exc).lower():
                continue
            raise


async def purge(now: dt.datetime | None = None) -> int:
    """Deletes refused requests past the retention, and the unsigned notifications that older
    versions stored one row each."""
    limit = (now or clock.now()) - dt.timedelta(days=REFUSED_RETENTION_DAYS)
    rows = (
        await RefusedNotification.delete()
        .where(RefusedNotification.last_at < limit)
        .returning(RefusedNotification.id)
    )
    legacy = (
        await PaymentNotification.delete()
        .where(
            (PaymentNotification.signature_valid == False)  # noqa: E712 (Piccolo needs ==)
            & (PaymentNotification.attempt.is_null())
            & (PaymentNotification.received_at < limit)
        )
        .returning(PaymentNotification.id)
    )
    return len(rows) + len(legacy)


async def summary(since: dt.datetime, limit: int = 20) -> dict:
    """For the régisseur: how many refused requests, from how many addresses, and the busiest
    (hour, address, reason) rows."""
    rows = (
        await RefusedNotification.select(
            RefusedNotification.hour,
            RefusedNotification.source_ip,
            RefusedNotification.reason,
            RefusedNotification.hits,
            RefusedNotification.first_at,
            RefusedNotification.last_at,
        )
        .where(RefusedNotification.last_at >= since)
        .order_by(RefusedNotification.last_at, ascending=False)
    )
    for row in rows:
        row["reason_label"] = REASON_LABELS.get(row["reason"], row["reason"])
    busiest = sorted(rows, key=lambda r: (-r["hits"], r["last_at"]))[:limit]
    busiest.sort(key=lambda r: r["last_at"], reverse=True)
    return {
        "total": sum(r["hits"] for r in rows),
        "addresses": len({r["source_ip"] for r in rows}),
        "last_at": rows[0]["last_at"] if rows else None,
        "rows": busiest,
        "more_rows": max(0, len(rows) - limit),
    }
