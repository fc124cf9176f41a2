"""A clock for the job runner that moves only when a test moves it.

`advance(seconds)` wakes the sleepers whose time has come one at a time, in deadline order,
and after each waits until every task it knows (those that ever slept on it, and those given to
`watch`) is asleep on it again or finished: whatever a woken runner does (database, SMTP) is
over before time moves on. ecp.clock is frozen at the same instant, so the lease functions and
the jobs, which read ecp.clock, see the time the runner sees.

The only real-time bound is `settle`'s timeout, for a task stuck elsewhere: the test then fails
instead of hanging.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import itertools

from ecp import clock

START = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


class ManualClock:
    def __init__(self, start: dt.datetime = START) -> None:
        self.start = start
        self._elapsed = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future, asyncio.Task]] = []
        self._order = itertools.count()
        self._known: set[asyncio.Task] = set()
        self._changed = asyncio.Event()
        clock.set_now(start)

    # ---- what the runner calls -------------------------------------------------------------

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        return self._elapsed

    async def sleep(self, seconds: float) -> None:
        self._know(asyncio.current_task())
        woken = asyncio.get_running_loop().create_future()
        heapq.heappush(
            self._sleepers,
            (self._elapsed + max(seconds, 0.0), next(self._order), woken, asyncio.current_task()),
        )
        self._changed.set()
        await woken  # a cancelled sleeper cancels its future, which advance() then skips

    # ---- what the test calls ---------------------------------------------------------------

    def watch(self, *tasks: asyncio.Task | None) -> None:
        """Tasks whose first steps (before they first sleep) `advance` must wait for."""
        for task in tasks:
            if task is not None:
                self._know(task)

    async def settle(self, timeout: float = 20.0) -> None:
        """Until every known task is asleep on this clock or finished."""

        async def quiet() -> None:
            while not self._settled():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(quiet(), timeout)

    async def advance(self, seconds: float) -> None:
        await self.settle()
        target = self._elapsed + seconds
        while True:
            while self._sleepers and self._sleepers[0][2].done():
                heapq.heappop(self._sleepers)
            if not self._sleepers or self._sleepers[0][0] > target:
                break
            deadline, _, woken, _ = heapq.heappop(self._sleepers)
            self._set(max(deadline, self._elapsed))
            woken.set_result(None)
            await self.settle()
        self._set(target)

    # ---- inside ------------------------------------------------------------------------------

    def _set(self, elapsed: float) -> None:
        self._elapsed = elapsed
        clock.set_now(self.now())

    def _know(self, task: asyncio.Task | None) -> None:
        if task is not None and task not in self._known:
            self._known.add(task)
            task.add_done_callback(lambda _task: self._changed.set())

    def _settled(self) -> bool:
        asleep = {task for _, _, woken, task in self._sleepers if not woken.done()}
        return all(task.done() or task in asleep for task in self._known)
