"""What the benchmark watches while the load runs, without adding work to the services.

- ``EventTap`` reads ``dossier.events`` as an agency system would (no consumer group):
  when each fact became visible, per dossier, from the CloudEvents headers only.
- ``AuditTail`` follows the audit log's ``dossier.done.v1`` entries through audit's
  public API, with a cursor, so it costs one indexed query per poll.
- ``Sampler`` records once a second: CPU and memory of every process, each consumer
  group's lag, how far audit is behind, the load average.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import psutil
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench.http import BenchHttp
from bench.platform import Platform
from shared.topics import ALL_TOPICS, DOSSIER_EVENTS, topic_name

DONE = "dossier.done.v1"


class _Waiters:
    """Futures per dossier code, resolved when a condition on that code holds."""

    def __init__(self) -> None:
        self._by_code: dict[str, list[tuple[Any, asyncio.Future[float]]]] = defaultdict(list)

    def add(self, code: str, ready: Any) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._by_code[code].append((ready, future))
        return future

    def check(self, code: str) -> None:
        pending = self._by_code.get(code)
        if not pending:
            return
        still = []
        for ready, future in pending:
            moment = ready()
            if moment is None:
                still.append((ready, future))
            elif not future.done():
                future.set_result(moment)
        if still:
            self._by_code[code] = still
        else:
            del self._by_code[code]


@dataclass
class EventTap:
    """When each dossier fact appeared on ``dossier.events`` (monotonic seconds)."""

    platform: Platform
    seen: dict[str, list[tuple[str, float]]] = field(default_factory=lambda: defaultdict(list))
    per_second: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    done_at: dict[str, float] = field(default_factory=dict)
    bytes_total: int = 0
    count: int = 0
    _waiters: _Waiters = field(default_factory=_Waiters)

    def mean_size(self) -> int:
        return self.bytes_total // self.count if self.count else 1200

    def first(self, code: str, event_type: str, nth: int = 1) -> float | None:
        """When the ``nth`` event of this type for this dossier appeared, if it did."""
        times = [t for kind, t in self.seen.get(code, ()) if kind == event_type]
        return times[nth - 1] if len(times) >= nth else None

    async def wait(self, code: str, event_type: str, nth: int = 1) -> float:
        moment = self.first(code, event_type, nth)
        if moment is not None:
            return moment
        return await self._waiters.add(code, lambda: self.first(code, event_type, nth))

    async def run(self, stop: asyncio.Event) -> None:
        topic = topic_name(self.platform.kafka.topic_prefix, DOSSIER_EVENTS)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.platform.kafka.bootstrap_servers,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            consumer.assign([TopicPartition(topic, p) for p in range(DOSSIER_EVENTS.partitions)])
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=100, max_records=2000)
                now = time.monotonic()
                for records in batch.values():
                    for record in records:
                        self._record(record.key, dict(record.headers), len(record.value), now)
        finally:
            await consumer.stop()

    def _record(self, key: bytes | None, headers: dict[str, bytes], size: int, now: float) -> None:
        code = (key or b"").decode()
        event_type = headers.get("ce_type", b"").decode()
        self.seen[code].append((event_type, now))
        if event_type == DONE:
            self.done_at.setdefault(code, now)
        self.per_second[int(now)] += 1
        self.bytes_total += size
        self.count += 1
        self._waiters.check(code)


@dataclass
class AuditTail:
    """When audit's log first showed each dossier's ``dossier.done.v1`` (monotonic)."""

    url: str
    interval_s: float = 0.2  # a tenth of the 2 s target; each poll costs audit a query
    audited: dict[str, float] = field(default_factory=dict)
    _waiters: _Waiters = field(default_factory=_Waiters)

    async def wait(self, code: str) -> float:
        if code in self.audited:
            return self.audited[code]
        return await self._waiters.add(code, lambda: self.audited.get(code))

    async def run(self, stop: asyncio.Event, client: BenchHttp) -> None:
        after: int | None = None
        while not stop.is_set():
            params: dict[str, Any] = {"type": DONE, "limit": 500}
            if after is not None:
                params["after"] = after
            full = False
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                response = await client.get(f"{self.url}/v1/audit/entries", params=params)
                if response.status == 200:
                    items = response.json()["items"]
                    now = time.monotonic()
                    for item in items:
                        self.audited.setdefault(item["subject"], now)
                        self._waiters.check(item["subject"])
                        after = item["index"]
                    full = len(items) == params["limit"]
            if not full:
                await asyncio.sleep(self.interval_s)


@dataclass
class Sample:
    """One second of the run."""

    t: float
    load1: float
    cpu_percent: dict[str, float]
    rss_mib: dict[str, float]
    lag: dict[str, int]
    audit_behind_s: float


@dataclass
class Sampler:
    """CPU, memory, consumer lag and audit delay, once a second."""

    platform: Platform
    tap: EventTap
    tail: AuditTail
    started: float = field(default_factory=time.monotonic)
    samples: list[Sample] = field(default_factory=list)
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    async def run(self, stop: asyncio.Event) -> None:
        procs = {name: psutil.Process(pid) for name, pid in self.platform.pids().items()}
        last = {name: _cpu(p) for name, p in procs.items()}
        admin = AIOKafkaAdminClient(bootstrap_servers=self.platform.kafka.bootstrap_servers)
        ends = AIOKafkaConsumer(bootstrap_servers=self.platform.kafka.bootstrap_servers)
        await admin.start()
        await ends.start()
        tps = [
            TopicPartition(topic_name(self.platform.kafka.topic_prefix, spec), p)
            for spec in ALL_TOPICS
            for p in range(spec.partitions)
        ]
        try:
            tick = time.monotonic()
            while not stop.is_set():
                tick += 1.0
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=max(tick - time.monotonic(), 0))
                now = time.monotonic()
                cpu, rss = {}, {}
                for name, proc in procs.items():
                    with contextlib.suppress(psutil.Error):
                        used = _cpu(proc)
                        cpu[name] = (used - last[name]) * 100
                        self.cpu_seconds[name] = self.cpu_seconds.get(name, 0.0) + used - last[name]
                        last[name] = used
                        rss[name] = proc.memory_info().rss / 2**20
                lag = await _lags(admin, ends, tps, self.platform.group_ids())
                self.samples.append(
                    Sample(
                        now - self.started,
                        os.getloadavg()[0],
                        cpu,
                        rss,
                        lag,
                        self._audit_behind(now),
                    )
                )
        finally:
            await ends.stop()
            await admin.close()

    def _audit_behind(self, now: float) -> float:
        """How long the oldest DONE published on Kafka has waited for audit, now."""
        waiting = [t for code, t in self.tap.done_at.items() if code not in self.tail.audited]
        return now - min(waiting) if waiting else 0.0


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system + times.children_user + times.children_system)


async def _lags(
    admin: AIOKafkaAdminClient,
    ends: AIOKafkaConsumer,
    tps: list[TopicPartition],
    groups: dict[str, str],
) -> dict[str, int]:
    """Records each service's group has not yet committed, over the topics it reads."""
    end = await ends.end_offsets(tps)
    lags: dict[str, int] = {}
    for service, group in groups.items():
        committed = await admin.list_consumer_group_offsets(group)
        lags[service] = sum(
            max(end.get(tp, 0) - meta.offset, 0)
            for tp, meta in committed.items()
            if meta.offset >= 0
        )
    return lags
