"""Receiving a Paybox notification: verify, keep durably, record, answer.

The route hands over the raw request; this decides the answer Paybox gets:
- not a notification (bad signature or layout): 403, counted compactly (ecp.payments.refusals),
  or 429 once the address has been refused too often this minute;
- a signed notification: written to the spool first, then recorded. 200 once it is recorded, or
  once it is safe in the spool while the database is unavailable (the `paybox_spool` job records
  it later); 503 only when it could be kept nowhere, so that Paybox's warning e-mail tells the
  régisseur to look in the Paybox back office.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from ecp import clock
from ecp.db import is_database_unavailable
from ecp.payments import refusals, services
from ecp.payments.config import PayboxConfig
from ecp.payments.provider import provider_for
from ecp.payments.spool import Spool

log = logging.getLogger("ecp.payments")


@dataclass(frozen=True)
class Answer:
    status: int
    body: str


OK = Answer(200, "OK")


async def receive(
    config: PayboxConfig,
    *,
    method: str,
    raw_query: bytes,
    raw_body: bytes,
    source_ip: str,
    throttle_store,
) -> Answer:
    note = provider_for(config).verify(method=method, raw_query=raw_query, raw_body=raw_body)
    if not note.signed:
        if await refusals.over_limit(throttle_store, source_ip):
            return Answer(429, "refused")
        try:
            await services.handle_notification(note, source_ip=source_ip)
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
            log.warning("refused Paybox notification not counted: database unavailable")
        return Answer(403, "refused")

    received_at = clock.now()
    spool = Spool(config.spool_dir)
    try:
        path = spool.put(
            method=method,
            raw_query=raw_query,
            raw_body=raw_body,
            source_ip=source_ip,
            received_at=received_at,
        )
    except OSError:
        # Still worth recording at once; only if that fails too is the notification at risk.
        log.error("Paybox notification could not be written to the spool %s", config.spool_dir)
        path = None
    try:
        result = await services.handle_notification(
            note, source_ip=source_ip, expected_sources=config.ipn_sources, received_at=received_at
        )
    except Exception as exc:
        if not is_database_unavailable(exc):
            raise
        if path is None:
            log.error(
                "Paybox notification LOST: database unavailable and spool unwritable "
                "(reference %s, transaction %s)",
                note.reference,
                note.transaction,
            )
            return Answer(503, "indisponible")
        log.warning("database unavailable: Paybox notification kept in the spool (%s)", path.name)
        return OK
    if path is not None:
        if result.http_status == 500:
            spool.set_aside(path)
        else:
            spool.done(path)
    return OK if result.http_status == 200 else Answer(result.http_status, "refused")


async def replay_spool(config: PayboxConfig, now: dt.datetime | None = None) -> int:
    """Records the notifications left in the spool; returns how many were recorded.

    Runs under the job lease (one process at a time). Stops at the first sign that the
    database is still unavailable, leaving the rest for the next pass.
    """
    spool = Spool(config.spool_dir)
    provider = provider_for(config)
    recorded = 0
    for path in spool.pending():
        item = spool.load(path)
        if item is None:
            spool.set_aside(path)
            continue
        # Verified again: the file is only as trustworthy as the bytes it holds.
        note = provider.verify(method=item.method, raw_query=item.raw_query, raw_body=item.raw_body)
        if not note.signed:
            log.error("spooled Paybox notification no longer verifies: set aside (%s)", path.name)
            spool.set_aside(path)
            continue
        try:
            result = await services.handle_notification(
                note,
                source_ip=item.source_ip,
                expected_sources=config.ipn_sources,
                received_at=item.received_at,
            )
        except Exception as exc:
            if is_database_unavailable(exc):
                log.warning(
                    "database still unavailable: %d spooled Paybox notification(s) wait",
                    len(spool.pending()),
                )
                break
            raise
        if result.http_status == 500:
            spool.set_aside(path)
        else:
            spool.done(path)
            recorded += 1
            log.info("spooled Paybox notification recorded (%s): %s", path.name, result.outcome)
    return recorded
