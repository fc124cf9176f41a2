"""A durable copy of every signed Paybox notification, outside the database.

Paybox documents no retry: a notification that the portal fails to record is lost, and with it
the proof that a family paid. So each signed notification is written to a file (fsync'd, then
atomically renamed into place) BEFORE the database is touched, and the file is removed only once
the notification has been recorded. If the database is unavailable the file stays, Paybox is
answered 200 (the notification is safe), and the `paybox_spool` job records it when the database
is back. Recording is idempotent (one payment per Paybox transaction), so a notification that
was both recorded and left in the spool by a crash is recorded once.

Layout: `<dir>/<received>-<random>.json`; `<dir>/failed/` holds notifications whose recording
raised a bug rather than an outage, for the operator (docs/payments.md).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("ecp.payments")


@dataclass(frozen=True)
class Spooled:
    path: Path
    method: str
    raw_query: bytes
    raw_body: bytes
    source_ip: str
    received_at: dt.datetime


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    @property
    def failed_dir(self) -> Path:
        return self.directory / "failed"

    def put(
        self,
        *,
        method: str,
        raw_query: bytes,
        raw_body: bytes,
        source_ip: str,
        received_at: dt.datetime,
    ) -> Path:
        """Writes the notification durably; raises OSError when it cannot."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = received_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.directory / f"{stamp}-{secrets.token_hex(6)}.json"
        payload = json.dumps(
            {
                "method": method,
                "source_ip": source_ip,
                "received_at": received_at.isoformat(),
                "raw_query": base64.b64encode(raw_query).decode("ascii"),
                "raw_body": base64.b64encode(raw_body).decode("ascii"),
            }
        ).encode("utf-8")
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        _fsync_dir(self.directory)
        return path

    def done(self, path: Path) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass

    def set_aside(self, path: Path) -> None:
        """Keeps a notification that could not be recorded for a reason other than an outage."""
        self.failed_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            os.replace(path, self.failed_dir / path.name)
        except FileNotFoundError:
            pass

    def pending(self) -> list[Path]:
        """Spooled notifications, oldest first (the name starts with the time received)."""
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.glob("*.json") if p.is_file())

    def failed(self) -> list[Path]:
        if not self.failed_dir.is_dir():
            return []
        return sorted(self.failed_dir.glob("*.json"))

    def load(self, path: Path) -> Spooled | None:
        try:
            data = json.loads(path.read_bytes())
            return Spooled(
                path=path,
                method=data["method"],
                source_ip=data["source_ip"],
                received_at=dt.datetime.fromisoformat(data["received_at"]),
                raw_query=base64.b64decode(data["raw_query"]),
                raw_body=base64.b64decode(data["raw_body"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            log.error("unreadable spooled Paybox notification %s", path.name)
            return None
