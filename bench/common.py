"""Helpers shared by the benchmark scenarios: isolated settings, timing, reporting."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from shared.kafka.admin import ensure_topics
from shared.runtime import CommonSettings
from shared.settings import ConsumerSettings, OutboxSettings
from shared.testing import drop_isolated, isolated_settings


@dataclass
class Result:
    """One measured figure."""

    scenario: str
    metric: str
    value: float
    unit: str


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)

    def add(self, scenario: str, metric: str, value: float, unit: str) -> None:
        self.results.append(Result(scenario, metric, value, unit))
        print(f"  {scenario:28} {metric:34} {value:12,.1f} {unit}", flush=True)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.started


@asynccontextmanager
async def bench_settings() -> AsyncIterator[CommonSettings]:
    """Fresh topics and databases for one scenario, removed afterwards."""
    kafka, mongo = isolated_settings()
    await ensure_topics(kafka)
    settings = CommonSettings(
        kafka=kafka,
        mongo=mongo,
        consumer=ConsumerSettings(max_poll_records=500),
        outbox=OutboxSettings(poll_interval_s=0.02, batch_size=500),
    )
    try:
        yield settings
    finally:
        await drop_isolated(kafka, mongo)
