"""Driving the server with wrk: one generated Lua script per target, cycling through sessions.

Each wrk thread takes its own slice of the request list (so a booking cell is only ever tapped by
one thread, and tapped again only after the whole slice went round: book, then cancel, never two
at once). `done()` prints the latency distribution and status counts as one JSON line.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

LUA = r"""
local reqs = {
%(entries)s
}
local nthreads = %(threads)d
local created = 0
local threads = {}

function setup(thread)
  thread:set("tid", created)
  created = created + 1
  table.insert(threads, thread)
end

function init(args)
  idx = tid
  visits = {}
  s2, s3, s4, s5, s409 = 0, 0, 0, 0, 0
  s403, s404, s422, s429 = 0, 0, 0, 0
end

function request()
  local r = reqs[(idx %% #reqs) + 1]
  idx = idx + nthreads
  local body = r.b
  if r.b2 then
    local v = visits[r] or 0
    visits[r] = v + 1
    if v %% 2 == 1 then body = r.b2 end
  end
  return wrk.format(r.m, r.p, r.h, body)
end

local think = %(think)d
if think > 0 then
  -- Each connection is a family that waits between two taps: an open, paced load.
  function delay()
    return math.random(math.floor(think / 2), think + math.floor(think / 2))
  end
end

function response(status, headers, body)
  if status < 300 then s2 = s2 + 1
  elseif status < 400 then s3 = s3 + 1
  elseif status < 500 then
    s4 = s4 + 1
    if status == 409 then s409 = s409 + 1
    elseif status == 403 then s403 = s403 + 1
    elseif status == 404 then s404 = s404 + 1
    elseif status == 422 then s422 = s422 + 1
    elseif status == 429 then s429 = s429 + 1 end
  else s5 = s5 + 1 end
end

function done(summary, latency, requests)
  local c = {s2 = 0, s3 = 0, s4 = 0, s5 = 0, s409 = 0, s403 = 0, s404 = 0, s422 = 0, s429 = 0}
  for _, t in ipairs(threads) do
    for k, _ in pairs(c) do c[k] = c[k] + (t:get(k) or 0) end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, "p50_us": %%d, ' ..
    '"p95_us": %%d, "p99_us": %%d, "max_us": %%d, "mean_us": %%f, "connect_errors": %%d, ' ..
    '"read_errors": %%d, "write_errors": %%d, "timeouts": %%d, "non_2xx_3xx": %%d, ' ..
    '"s2xx": %%d, "s3xx": %%d, "s4xx": %%d, "s5xx": %%d, "s409": %%d, "s403": %%d, ' ..
    '"s404": %%d, "s422": %%d, "s429": %%d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(95), latency:percentile(99), latency.max, latency.mean, e.connect,
    e.read, e.write, e.timeout, e.status, c.s2, c.s3, c.s4, c.s5, c.s409, c.s403, c.s404,
    c.s422, c.s429))
end
"""


def _lua_string(value: str) -> str:
    level = "=" * 3
    while f"]{level}]" in value:
        level += "="
    return f"[{level}[{value}]{level}]"


def lua_entry(method: str, path: str, headers: dict, body: str | None, alt: str | None) -> str:
    # "[ [==[...]==] ]": a space, or "[[" would open a long string.
    h = ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items())
    parts = [f"m = {_lua_string(method)}", f"p = {_lua_string(path)}", f"h = {{{h}}}"]
    if body is not None:
        parts.append(f"b = {_lua_string(body)}")
    if alt is not None:
        parts.append(f"b2 = {_lua_string(alt)}")
    return "  {" + ", ".join(parts) + "},"


def script(entries: list[str], threads: int, think_ms: int = 0) -> str:
    return LUA % {"entries": "\n".join(entries), "threads": threads, "think": think_ms}


def available() -> str | None:
    return shutil.which("wrk")


def run(
    url: str, lua: str, workdir: Path, name: str, *, duration: float, connections: int, threads: int
) -> dict:
    path = workdir / f"{name}.lua"
    path.write_text(lua, encoding="utf-8")
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(path),
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    match = re.search(r"^BENCHJSON (.*)$", done.stdout, re.M)
    if not match:
        return {"error": (done.stderr or done.stdout)[-500:]}
    result = json.loads(match.group(1))
    seconds = result["duration_us"] / 1e6 or 1
    result["rps"] = round(result["requests"] / seconds, 1)
    for key in ("p50", "p95", "p99", "max"):
        result[f"{key}_ms"] = round(result.pop(f"{key}_us") / 1000, 1)
    result["mean_ms"] = round(result.pop("mean_us") / 1000, 1)
    return result
