"""Figures of a benchmark run: latency percentiles per step, the JSON file and the plot."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench.journeys import Journey
from bench.observe import Sample


def percentiles(values: Iterable[float]) -> dict[str, float | int | None]:
    """p50, p95, p99 and max in milliseconds (nearest rank), with the count."""
    ordered = sorted(values)
    if not ordered:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}

    def rank(q: float) -> float:
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000, 1)

    return {
        "n": len(ordered),
        "p50": rank(0.50),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "max": round(ordered[-1] * 1000, 1),
    }


def latencies(journeys: list[Journey]) -> dict[str, dict[str, float | int | None]]:
    """The latency table of a step's journeys."""

    def each(pick: Any) -> list[float]:
        return [v for j in journeys if (v := pick(j)) is not None]

    return {
        "http_submit": percentiles(each(lambda j: j.submit_http)),
        "http_action": percentiles(v for j in journeys for v in j.action_http),
        "submit_to_route_planned": percentiles(each(lambda j: j.since_start(j.planned))),
        "action_to_next_unit_inbox": percentiles(v for j in journeys for v in j.handovers),
        "done_to_audited": percentiles(
            each(lambda j: None if j.audited is None or j.done is None else j.audited - j.done)
        ),
        "submit_to_audited": percentiles(each(lambda j: j.since_start(j.audited))),
    }


def errors(journeys: list[Journey]) -> dict[str, int]:
    """How many journeys failed, by the first words of their error."""
    counted: dict[str, int] = defaultdict(int)
    for j in journeys:
        if j.error is not None:
            counted[j.error.split(" {")[0][:120]] += 1
    return dict(counted)


def write_json(path: Path, result: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str))


def plot(
    path: Path,
    samples: list[Sample],
    journeys: list[Journey],
    origin: float,
    steps: list[dict[str, Any]],
) -> None:
    """Throughput, latency and lag over time, one panel each, step boundaries marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (thr, lat, lag) = plt.subplots(3, 1, figsize=(11, 10), sharex=True)
    submitted: dict[int, int] = defaultdict(int)
    audited: dict[int, int] = defaultdict(int)
    by_second: dict[int, list[float]] = defaultdict(list)
    for j in journeys:
        submitted[int(j.started - origin)] += 1
        if j.audited is not None:
            second = int(j.audited - origin)
            audited[second] += 1
            by_second[second].append(j.audited - j.started)
    end = int(max([s.t for s in samples] + [0])) + 1
    xs = list(range(end))
    thr.plot(xs, [submitted.get(x, 0) for x in xs], label="submitted/s", lw=1)
    thr.plot(xs, [audited.get(x, 0) for x in xs], label="audited/s", lw=1)
    thr.set_ylabel("journeys per second")
    secs = sorted(by_second)
    for q, label in ((0.5, "p50"), (0.99, "p99")):
        values = [sorted(by_second[s])[max(0, math.ceil(q * len(by_second[s])) - 1)] for s in secs]
        lat.plot(secs, values, label=f"submit → audited {label}", lw=1)
    lat.set_ylabel("seconds")
    lat.set_yscale("log")
    times = [s.t for s in samples]
    for group in sorted({g for s in samples for g in s.lag}):
        lag.plot(times, [s.lag.get(group, 0) for s in samples], label=f"lag {group}", lw=1)
    lag.set_ylabel("records behind")
    behind = lag.twinx()
    behind.plot(times, [s.audit_behind_s for s in samples], "k--", label="audit behind (s)", lw=1)
    behind.set_ylabel("audit behind, seconds")
    lag.set_ylim(bottom=0)
    behind.set_ylim(bottom=0)
    for axis in (thr, lat, lag):
        for step in steps:
            axis.axvline(step["started_at_s"], color="grey", lw=0.5)
        axis.legend(loc="upper left", fontsize=7)
        axis.grid(alpha=0.3)
    behind.legend(loc="upper right", fontsize=7)
    lag.set_xlabel("seconds since the first step")
    fig.suptitle("make bench: journeys end to end")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
