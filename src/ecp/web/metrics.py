"""Process-local metrics in the Prometheus text format (version 0.0.4), with no extra dependency.

Counters and histograms live in this process; business gauges (bookings, payments, outbox
backlog) are read from the database at scrape time, so every process reports the same values.
"""

from __future__ import annotations

import threading
from collections import defaultdict

# Seconds; a page should answer well under a second, a login hashes for ~0.3 s.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.01, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0)


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    if not pairs:
        return ""
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)
    return "{" + body + "}"


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: dict[str, dict[tuple, float]] = defaultdict(lambda: defaultdict(float))
        self.histograms: dict[str, dict[tuple, list]] = defaultdict(dict)
        self.help: dict[str, tuple[str, str]] = {}
        self.buckets: dict[str, tuple[float, ...]] = {}

    def describe(self, name: str, kind: str, text: str, buckets: tuple[float, ...] = ()) -> None:
        self.help[name] = (kind, text)
        if buckets:
            self.buckets[name] = buckets

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self.counters[name][key] += amount

    def observe(self, name: str, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        buckets = self.buckets[name]
        with self._lock:
            state = self.histograms[name].get(key)
            if state is None:
                state = [[0] * len(buckets), 0, 0.0]  # per-bucket counts, count, sum
                self.histograms[name][key] = state
            for i, bound in enumerate(buckets):
                if value <= bound:
                    state[0][i] += 1
            state[1] += 1
            state[2] += value

    def value(self, name: str, **labels: str) -> float:
        return self.counters[name].get(tuple(sorted(labels.items())), 0.0)

    def render(self, gauges: dict[str, tuple[str, list[tuple[dict, float]]]] | None = None) -> str:
        lines: list[str] = []
        with self._lock:
            for name, series in sorted(self.counters.items()):
                kind, text = self.help.get(name, ("counter", name))
                lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
                for key, amount in sorted(series.items()):
                    lines.append(f"{name}{_labels(key)} {amount:g}")
            for name, series in sorted(self.histograms.items()):
                kind, text = self.help.get(name, ("histogram", name))
                lines += [f"# HELP {name} {text}", f"# TYPE {name} histogram"]
                for key, (counts, count, total) in sorted(series.items()):
                    for bound, n in zip(self.buckets[name], counts):
                        lines.append(f"{name}_bucket{_labels(key + (('le', f'{bound:g}'),))} {n}")
                    lines.append(f"{name}_bucket{_labels(key + (('le', '+Inf'),))} {count}")
                    lines.append(f"{name}_count{_labels(key)} {count}")
                    lines.append(f"{name}_sum{_labels(key)} {total:.6f}")
        for name, (text, samples) in sorted((gauges or {}).items()):
            lines += [f"# HELP {name} {text}", f"# TYPE {name} gauge"]
            for labels, value in samples:
                lines.append(f"{name}{_labels(tuple(sorted(labels.items())))} {value:g}")
        return "\n".join(lines) + "\n"


REGISTRY = Registry()
REGISTRY.describe("ecp_http_requests_total", "counter", "HTTP requests by route and status.")
REGISTRY.describe(
    "ecp_http_request_duration_seconds",
    "histogram",
    "HTTP request latency by route.",
    LATENCY_BUCKETS,
)
REGISTRY.describe("ecp_job_runs_total", "counter", "Background job runs in this process.")
REGISTRY.describe("ecp_job_failures_total", "counter", "Background job runs that raised.")
REGISTRY.describe("ecp_job_duration_seconds", "histogram", "Background job run time.", JOB_BUCKETS)
REGISTRY.describe("ecp_logins_total", "counter", "Login attempts by kind and outcome.")
