"""Two job runners on one database: each job once per period, hand-over when the holder dies."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

from ecp import clock
from ecp.jobs.tables import JobLease
from ecp.mail.outbox import queue_email
from ecp.mail.tables import OutboxEmail
from ecp.ops.jobs import Job, JobRunner
from ecp.ops import leases

PERIOD = 0.5
TTL = 1.5
TICK = 0.1


def _runner(settings, name, runs, holder, period=PERIOD):
    job_runs: list = []

    async def func(_settings, _now):
        start = time.monotonic()
        await asyncio.sleep(0.05)
        runs.append((holder, start, time.monotonic()))
        job_runs.append(start)

    return JobRunner(settings, [Job(name, period, func)], holder=holder, tick=TICK, ttl=TTL)


def _no_overlap(runs):
    ordered = sorted(runs, key=lambda r: r[1])
    for (_, _, end), (_, start, _) in zip(ordered, ordered[1:]):
        assert start >= end, "two runs of the same job overlapped"


async def test_two_runners_run_each_job_once_per_period(settings):
    runs: list = []
    a, b = _runner(settings, "tick", runs, "A"), _runner(settings, "tick", runs, "B")
    await a.start()
    await b.start()
    t0 = time.monotonic()
    await asyncio.sleep(3.0)
    await a.stop()
    await b.stop()
    elapsed = time.monotonic() - t0
    _no_overlap(runs)
    assert len({holder for holder, _, _ in runs}) == 1, "the lease holder alone runs the job"
    starts = sorted(start for _, start, _ in runs)
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:])]
    assert min(gaps) >= PERIOD - 0.15  # a second run within the period would be ~0
    assert len(runs) <= elapsed / PERIOD + 1
    assert len(runs) >= 3


async def test_killed_holder_hands_the_job_over_within_the_lease(settings):
    runs: list = []
    a, b = _runner(settings, "tick", runs, "A"), _runner(settings, "tick", runs, "B")
    await a.start()
    await asyncio.sleep(0.3)
    await b.start()
    await asyncio.sleep(1.0)
    assert {h for h, _, _ in runs} == {"A"}
    await a.stop(release=False)  # a crash: the lease stays until it expires
    killed = time.monotonic()
    while not any(h == "B" for h, _, _ in runs):
        assert time.monotonic() - killed < TTL + PERIOD + 3.0, "no hand-over"
        await asyncio.sleep(0.05)
    handed = next(start for h, start, _ in runs if h == "B") - killed
    await b.stop()
    assert handed >= TTL - 0.2 - PERIOD  # B waited for the dead holder's lease to expire
    _no_overlap(runs)
    row = await JobLease.select().where(JobLease.name == "tick").first()
    assert row["holder"] == ""  # B stopped cleanly and released


async def test_clean_stop_releases_at_once_and_schedule_survives_restart(settings):
    runs: list = []
    a = _runner(settings, "tick", runs, "A", period=2.0)
    assert await a.run_pending() == ["tick"]
    assert await a.run_pending() == []  # not due again within the period
    await a.stop()
    b = _runner(settings, "tick", runs, "B", period=2.0)
    assert await b.run_pending() == [], "a restart keeps last_run_at: no early second run"
    await asyncio.sleep(2.0)
    assert await b.run_pending() == ["tick"]
    assert [h for h, _, _ in runs] == ["A", "B"]


async def test_lease_is_exclusive_until_expiry(settings):
    await leases.ensure(["x"])
    ttl = dt.timedelta(seconds=0.4)
    assert await leases.acquire("x", "A", ttl) is not None
    assert await leases.acquire("x", "B", ttl) is None
    assert await leases.acquire("x", "A", ttl) is not None  # renewal
    await asyncio.sleep(0.5)
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
    process holding the lease dies in the middle of the queue."""
    for i in range(12):
        await queue_email(to=f"parent{i}@example.org", subject="Facture", text="…", kind="test")
    delivered: list[int] = []

    def make(holder):
        async def deliver(_settings, _now):
            # The sender's contract: claim a message with a conditional UPDATE before talking
            # to SMTP, so a crash between the two leaves it claimed (visible), never re-sent.
            rows = await OutboxEmail.select(OutboxEmail.id).where(
                OutboxEmail.status == "en_attente").order_by(OutboxEmail.id).limit(3)
            for row in rows:
                claimed = await OutboxEmail.update({OutboxEmail.status: "envoi"}).where(
                    (OutboxEmail.id == row["id"]) & (OutboxEmail.status == "en_attente")
                ).returning(OutboxEmail.id)
                if not claimed:
                    continue
                await asyncio.sleep(0.02)  # the SMTP conversation
                delivered.append(row["id"])
                await OutboxEmail.update({OutboxEmail.status: "envoye"}).where(
                    OutboxEmail.id == row["id"])
            return len(rows)

        return JobRunner(settings, [Job("mail", 0.2, deliver)], holder=holder, tick=TICK,
                         ttl=0.6)

    a, b = make("A"), make("B")
    await a.start()
    await b.start()
    await asyncio.sleep(0.5)
    await a.stop(release=False)
    deadline = time.monotonic() + 10
    while await OutboxEmail.count().where(OutboxEmail.status == "en_attente") and (
            time.monotonic() < deadline):
        await asyncio.sleep(0.1)
    await b.stop()
    assert sorted(delivered) == sorted(set(delivered)), "an e-mail was sent twice"
    interrupted = await OutboxEmail.count().where(OutboxEmail.status == "envoi")
    assert len(delivered) + interrupted == 12
    assert len(delivered) >= 11


async def test_a_clean_stop_lets_the_running_job_finish(settings):
    finished = []

    async def slow(_s, _n):
        await asyncio.sleep(0.5)
        finished.append(True)

    runner = JobRunner(settings, [Job("slow", 60, slow)], holder="A", tick=0.05, ttl=2)
    await runner.start()
    await asyncio.sleep(0.1)
    assert runner.current == "slow"
    t0 = time.monotonic()
    await runner.stop()
    assert finished == [True]
    assert time.monotonic() - t0 < 1.5
    row = await JobLease.select().where(JobLease.name == "slow").first()
    assert row["last_run_at"] is not None and row["holder"] == ""
