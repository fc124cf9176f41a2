"""Two job runners on one database: each job once per period, hand-over when the holder dies."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from ecp import clock
from ecp.db import aware
from ecp.jobs.tables import JobLease
from ecp.mail.outbox import queue_email
from ecp.mail.tables import OutboxEmail
from ecp.ops import leases
from ecp.ops.jobs import Job, JobRunner
from tests.manual_clock import ManualClock

PERIOD = 0.5
TTL = 1.5
TICK = 0.1
WORK = 0.05  # how long the test job takes, on the manual clock


def _runner(settings, name, runs, holder, mc, period=PERIOD, work=WORK):
    """A runner of one job that records (holder, start, end) of each run, in clock seconds."""

    async def func(_settings, _now):
        start = mc.monotonic()
        if work:
            await mc.sleep(work)
        runs.append((holder, start, mc.monotonic()))

    return JobRunner(
        settings, [Job(name, period, func)], holder=holder, tick=TICK, ttl=TTL, clock=mc
    )


async def _start(mc, *runners):
    """Each runner's first pass is over (lease taken or refused) before the next starts."""
    for runner in runners:
        await runner.start()
        mc.watch(runner.task)
        await mc.settle()


def _no_overlap(runs):
    ordered = sorted(runs, key=lambda r: r[1])
    for (_, _, end), (_, start, _) in zip(ordered, ordered[1:]):
        assert start >= end, "two runs of the same job overlapped"


async def test_two_runners_run_each_job_once_per_period(settings):
    mc = ManualClock()
    runs: list = []
    a, b = _runner(settings, "tick", runs, "A", mc), _runner(settings, "tick", runs, "B", mc)
    await _start(mc, a, b)
    await mc.advance(3.0)
    await a.stop()
    await b.stop()
    _no_overlap(runs)
    assert {holder for holder, _, _ in runs} == {"A"}, "the lease holder alone runs the job"
    # Due again once PERIOD has passed since the last start, and run at the first tick after:
    # 0, then every WORK + 5 ticks (the pass that ends a run starts the tick count).
    starts = [start for _, start, _ in runs]
    assert starts == pytest.approx([0.0, 0.55, 1.1, 1.65, 2.2, 2.75], abs=1e-6)


async def test_killed_holder_hands_the_job_over_within_the_lease(settings):
    mc = ManualClock()
    runs: list = []
    a, b = _runner(settings, "tick", runs, "A", mc), _runner(settings, "tick", runs, "B", mc)
    await _start(mc, a)
    await mc.advance(0.3)
    await _start(mc, b)
    await mc.advance(1.0)
    assert {h for h, _, _ in runs} == {"A"}
    await a.stop(release=False)  # a crash: the lease stays until it expires
    left = aware((await JobLease.select().where(JobLease.name == "tick").first())["lease_until"])
    expires = (left - mc.start).total_seconds()
    assert expires > mc.monotonic(), "the dead holder's lease is still running"
    await mc.advance(TTL + PERIOD)
    taken = [start for h, start, _ in runs if h == "B"]
    assert taken, "no hand-over"
    # B waited for the dead holder's lease to expire, and took the job at its next tick.
    assert expires < taken[0] <= expires + TICK + 1e-6
    await b.stop()
    _no_overlap(runs)
    row = await JobLease.select().where(JobLease.name == "tick").first()
    assert row["holder"] == ""  # B stopped cleanly and released


async def test_clean_stop_releases_at_once_and_schedule_survives_restart(settings):
    mc = ManualClock()
    runs: list = []
    a = _runner(settings, "tick", runs, "A", mc, period=2.0, work=0)
    assert await a.run_pending() == ["tick"]
    assert await a.run_pending() == []  # not due again within the period
    await a.stop()
    b = _runner(settings, "tick", runs, "B", mc, period=2.0, work=0)
    assert await b.run_pending() == [], "a restart keeps last_run_at: no early second run"
    await mc.advance(1.9)
    assert await b.run_pending() == []
    await mc.advance(0.1)
    assert await b.run_pending() == ["tick"]
    assert [h for h, _, _ in runs] == ["A", "B"]


async def test_lease_is_exclusive_until_expiry(settings):
    mc = ManualClock()
    await leases.ensure(["x"])
    ttl = dt.timedelta(seconds=0.4)
    assert await leases.acquire("x", "A", ttl) is not None
    assert await leases.acquire("x", "B", ttl) is None
    assert await leases.acquire("x", "A", ttl) is not None  # renewal
    await mc.advance(0.4)
    assert await leases.acquire("x", "B", ttl) is None  # expiry is strict
    await mc.advance(0.001)
    assert await leases.acquire("x", "B", ttl) is not None
    assert await leases.renew("x", "A", ttl) is False


async def test_failing_job_is_recorded_and_retried_next_period(settings):
    calls = []

    async def boom(_s, _n):
        calls.append(1)
        raise RuntimeError("smtp down")

    runner = JobRunner(settings, [Job("boom", 60, boom)], holder="A", tick=TICK, ttl=TTL)
    assert await runner.run_pending() == ["boom"]
    assert await runner.run_pending() == []
    row = await JobLease.select().where(JobLease.name == "boom").first()
    assert row["last_error"] == "RuntimeError"
    assert len(calls) == 1
    clock.set_now(clock.now() + dt.timedelta(seconds=61))  # the next period
    assert await runner.run_pending() == ["boom"]
    assert len(calls) == 2


async def test_no_email_is_sent_twice_when_the_sender_moves(settings):
    """The sender job's runs never overlap, so a message is handed to SMTP once, even when the
    process holding the lease dies in the middle of the queue, during an SMTP conversation."""
    mc = ManualClock()
    for i in range(12):
        await queue_email(to=f"parent{i}@example.org", subject="Facture", text="…", kind="test")
    delivered: list[tuple[str, int]] = []
    talking: set[str] = set()

    def make(holder):
        async def deliver(_settings, _now):
            # The sender's contract: claim a message with a conditional UPDATE before talking
            # to SMTP, so a crash between the two leaves it claimed (visible), never re-sent.
            rows = (
                await OutboxEmail.select(OutboxEmail.id)
                .where(OutboxEmail.status == "en_attente")
                .order_by(OutboxEmail.id)
                .limit(3)
            )
            for row in rows:
                claimed = (
                    await OutboxEmail.update({OutboxEmail.status: "envoi"})
                    .where((OutboxEmail.id == row["id"]) & (OutboxEmail.status == "en_attente"))
                    .returning(OutboxEmail.id)
                )
                if not claimed:
                    continue
                talking.add(holder)
                await mc.sleep(0.02)  # the SMTP conversation
                talking.discard(holder)
                delivered.append((holder, row["id"]))
                await OutboxEmail.update({OutboxEmail.status: "envoye"}).where(
                    OutboxEmail.id == row["id"]
                )
            return len(rows)

        return JobRunner(
            settings, [Job("mail", 0.2, deliver)], holder=holder, tick=TICK, ttl=0.6, clock=mc
        )

    a, b = make("A"), make("B")
    await _start(mc, a, b)
    # A dies while talking to the SMTP server about its fifth message.
    while not ("A" in talking and len(delivered) == 4):
        assert mc.monotonic() < 5, "A never reached its fifth message"
        await mc.advance(0.01)
    await a.stop(release=False)
    while await OutboxEmail.count().where(OutboxEmail.status == "en_attente"):
        assert mc.monotonic() < 10, "B never took the queue over"
        await mc.advance(0.1)
    await b.stop()
    ids = [message for _, message in delivered]
    assert sorted(ids) == sorted(set(ids)), "an e-mail was sent twice"
    interrupted = await OutboxEmail.count().where(OutboxEmail.status == "envoi")
    assert interrupted == 1  # the one A was sending when it died: claimed, never re-sent
    assert len(delivered) == 11
    assert [h for h, _ in delivered] == ["A"] * 4 + ["B"] * 7


async def test_a_clean_stop_lets_the_running_job_finish(settings):
    mc = ManualClock()
    finished = []

    async def slow(_s, _n):
        await mc.sleep(0.5)
        finished.append(mc.monotonic())

    runner = JobRunner(settings, [Job("slow", 60, slow)], holder="A", tick=0.05, ttl=2, clock=mc)
    await _start(mc, runner)
    assert runner.current == "slow"
    stopping = asyncio.create_task(runner.stop())
    await asyncio.sleep(0)  # one turn of the loop: stop() is now waiting for the job
    assert not stopping.done() and finished == []
    await mc.advance(0.5)
    await asyncio.wait_for(stopping, timeout=10)
    assert finished == [0.5]  # the job ran to its end, then stop() returned
    row = await JobLease.select().where(JobLease.name == "slow").first()
    assert row["last_run_at"] is not None and row["holder"] == ""


async def test_stopping_between_two_passes_does_not_wait_for_the_tick(settings):
    mc = ManualClock()
    runs: list = []
    runner = JobRunner(
        settings,
        [Job("tick", 60, lambda _s, _n: _record(runs))],
        holder="A",
        tick=3600,
        ttl=TTL,
        clock=mc,
    )
    await _start(mc, runner)
    assert runs == [1] and not runner.current
    await asyncio.wait_for(runner.stop(), timeout=10)  # the tick is an hour of clock time
    assert not runner.running and mc.monotonic() == 0
    row = await JobLease.select().where(JobLease.name == "tick").first()
    assert row["holder"] == ""


async def _record(runs):
    runs.append(1)
