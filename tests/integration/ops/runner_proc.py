"""A stand-alone app process for the hand-over test: runs the job runner with one short job and
prints a JSON line per run. Usage: python -m tests.integration.ops.runner_proc HOLDER"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from ecp import db
from ecp.ops.jobs import Job, JobRunner
from ecp.settings import Settings

PERIOD, TTL, TICK = 1.0, 3.0, 0.2


async def main(holder: str) -> None:
    async def tick(_settings, _now):
        print(json.dumps({"holder": holder, "start": time.time()}), flush=True)
        await asyncio.sleep(0.05)

    async with db.pool(min_size=1, max_size=2):
        runner = JobRunner(
            Settings.from_env(), [Job("tick", PERIOD, tick)], holder=holder, tick=TICK, ttl=TTL
        )
        await runner.start()
        print(json.dumps({"holder": holder, "ready": True}), flush=True)
        await asyncio.Event().wait()  # until the test kills this process


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
