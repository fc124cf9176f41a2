"""The in-app job runner: no extra daemon, each job in one process at a time through a lease.

Every process runs a JobRunner (started by the app's lifespan). Each tick, for each job, it
tries to take or renew the job's lease; only the holder runs the job, and only when the period
has elapsed since `last_run_at`, which is stored on the lease row and so survives restarts and
hand-overs. While a job runs a heartbeat renews the lease; a process that dies stops renewing
and another takes the job over once the lease has expired (ttl, 30 s by default).

The runner's time comes from one object (`SystemClock` unless another is given): the instants
it compares with the lease rows, the loop's ticks and the heartbeat's waits. Tests hand it a
manual clock and move time forward instead of sleeping through it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from ecp import clock
from ecp.db import aware
from ecp.ops import leases
from ecp.web.metrics import REGISTRY

log = structlog.get_logger("ecp.jobs")

JobFunc = Callable[[Any, dt.datetime], Awaitable[Any]]


@dataclass(frozen=True)
class Job:
    name: str
    period: float  # seconds between two starts
    func: JobFunc  # async func(settings, now) -> anything (a count is logged)


class RunnerClock(Protocol):
    def now(self) -> dt.datetime: ...  # an aware instant, what the lease rows hold

    def monotonic(self) -> float: ...  # seconds, for the loop's own ages

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The app's clock (ecp.clock, which tests may freeze) and the event loop's sleep.

    The lease functions read ecp.clock themselves: a clock given to the runner must agree with
    it, as the tests' manual clock does by setting ecp.clock as it moves."""

    def now(self) -> dt.datetime:
        return clock.now()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def holder_id() -> str:
    """Unique per process start: a restarted process must not inherit a dead one's lease."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


class JobRunner:
    def __init__(
        self,
        settings,
        jobs: list[Job],
        *,
        holder: str | None = None,
        tick: float | None = None,
        ttl: float | None = None,
        clock: RunnerClock | None = None,
    ) -> None:
        self.settings = settings
        self.jobs = list(jobs)
        self.holder = holder or holder_id()
        self.tick = tick if tick is not None else getattr(settings, "job_tick_seconds", 5.0)
        ttl = ttl if ttl is not None else getattr(settings, "job_lease_seconds", 30)
        self.ttl = dt.timedelta(seconds=ttl)
        self.clock = clock or SystemClock()
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._idle = False  # between two passes, waiting for the next tick
        self.last_tick: float | None = None  # clock.monotonic() of the last completed pass
        self.held: set[str] = set()
        self.current: str | None = None  # the job running now, if any
        self._ensured = False

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def task(self) -> asyncio.Task | None:
        return self._task

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name=f"ecp-jobs-{self.holder}")
        log.info("job_runner_started", holder=self.holder, jobs=[j.name for j in self.jobs])

    async def stop(self, *, release: bool = True, grace: float = 10.0) -> None:
        """Stop the loop, letting a running job finish (up to `grace` seconds) so that a
        message is not cut off mid-send. release=False imitates a crash: cancelled at once, the
        leases left to expire."""
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            # Waiting for the next tick, the loop has nothing to finish: cancelled at once.
            if release and not self._idle:
                try:
                    await asyncio.wait_for(asyncio.shield(task), timeout=grace)
                except (TimeoutError, Exception):  # noqa: BLE001 - stopping anyway
                    pass
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - stopping anyway
                pass
        if release:
            try:
                await leases.release([j.name for j in self.jobs], self.holder)
            except Exception:  # noqa: BLE001 - the leases expire by themselves
                log.warning("job_lease_release_failed", holder=self.holder)
        self.held.clear()
        log.info("job_runner_stopped", holder=self.holder, released=release)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def status(self) -> dict:
        """For /healthz: is the loop alive and has it ticked recently?"""
        if not self.running:
            return {"status": "arrete"}
        age = None if self.last_tick is None else self.clock.monotonic() - self.last_tick
        # A long job (its lease kept alive by the heartbeat) is not a stuck loop.
        stale = self.current is None and age is not None and age > max(60.0, self.tick * 6)
        return {
            "status": "en_retard" if stale else "ok",
            "jobs": len(self.jobs),
            "leases": sorted(self.held),
            "en_cours": self.current,
        }

    # ---- work ------------------------------------------------------------------------------

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                await self.run_pending()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a database blip must not kill the runner
                self._ensured = False
                log.exception("job_runner_pass_failed", holder=self.holder)
            self.last_tick = self.clock.monotonic()
            if self._stopping:
                break
            # stop() cancels this sleep rather than waiting for it (see _idle).
            self._idle = True
            try:
                await self.clock.sleep(self.tick)
            finally:
                self._idle = False

    async def run_pending(self) -> list[str]:
        """One pass over the jobs; returns the names of the jobs this process ran."""
        if not self._ensured:  # rows are created once, not written every tick
            await leases.ensure([j.name for j in self.jobs])
            self._ensured = True
        ran = []
        for job in self.jobs:
            if self._stopping:
                break
            row = await leases.acquire(job.name, self.holder, self.ttl)
            if row is None:
                self.held.discard(job.name)
                continue
            self.held.add(job.name)
            last = aware(row["last_run_at"])
            now = self.clock.now()
            if last is not None and (now - last).total_seconds() < job.period:
                continue
            await self._run(job, now)
            ran.append(job.name)
        return ran

    async def _run(self, job: Job, started: dt.datetime) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(job.name))
        t0 = time.perf_counter()
        error = ""
        self.current = job.name
        try:
            result = await job.func(self.settings, started)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - recorded on the lease row and in the metrics
            error = f"{type(exc).__name__}"
            log.exception("job_failed", job=job.name)
            REGISTRY.inc("ecp_job_failures_total", job=job.name)
            result = None
        finally:
            heartbeat.cancel()
            self.current = None
        elapsed = time.perf_counter() - t0
        REGISTRY.inc("ecp_job_runs_total", job=job.name)
        REGISTRY.observe("ecp_job_duration_seconds", elapsed, job=job.name)
        # Recorded even after a failure: a failing job retries next period, not in a tight loop.
        await leases.record_run(job.name, self.holder, started, error)
        if not error:
            log.info(
                "job_done",
                job=job.name,
                duration_ms=round(elapsed * 1000),
                result=result if isinstance(result, (int, str, type(None))) else "ok",
            )

    async def _heartbeat(self, name: str) -> None:
        interval = max(self.ttl.total_seconds() / 3, 0.05)
        while True:
            await self.clock.sleep(interval)
            if not await leases.renew(name, self.holder, self.ttl):
                log.warning("job_lease_lost", job=name, holder=self.holder)
                return


# ---- the app's jobs ------------------------------------------------------------------------


async def send_mail(settings, now: dt.datetime):
    from ecp.mail.sender import deliver_due

    return await deliver_due(settings)


async def send_reminders(settings, now: dt.datetime):
    from ecp.ops.reminders import queue_reminders

    return await queue_reminders(settings, now)


async def apply_retention(settings, now: dt.datetime):
    from ecp.accounts.retention import anonymise_inactive

    return await anonymise_inactive(settings, now)


async def clean_expired(settings, now: dt.datetime):
    from ecp.ops.cleanup import delete_expired

    return await delete_expired(settings, now)


# An attempt expires 2 h after its payment window (ecp.payments.services.EXPIRY_GRACE): a pass
# every ten minutes closes it within 2 h 10 and costs one indexed UPDATE.
PAYMENT_EXPIRY_SECONDS = 600


async def expire_payments(settings, now: dt.datetime):
    from ecp.payments.services import expire_abandoned_attempts

    return await expire_abandoned_attempts(now)


# Notifications kept while the database was unavailable (ecp.payments.spool): an empty spool
# costs one directory listing, and a family waits at most this long once the database is back.
PAYBOX_SPOOL_SECONDS = 15


async def replay_paybox_spool(settings, now: dt.datetime):
    from ecp.payments.config import paybox_config
    from ecp.payments.notifications import replay_spool

    return await replay_spool(paybox_config(settings), now)


def default_jobs(settings) -> list[Job]:
    return [
        Job("mail", settings.job_mail_seconds, send_mail),
        Job("reminders", settings.job_reminders_seconds, send_reminders),
        Job("retention", settings.job_retention_seconds, apply_retention),
        Job("cleanup", settings.job_cleanup_seconds, clean_expired),
        Job("payment_expiry", PAYMENT_EXPIRY_SECONDS, expire_payments),
        Job("paybox_spool", PAYBOX_SPOOL_SECONDS, replay_paybox_spool),
    ]
