"""What moving an event through Kafka costs: our publisher and consumer runner, and the broker.

    .venv/bin/python -m bench.kafka_path                        # 200 events/s for 30 s, 3 groups
    .venv/bin/python -m bench.kafka_path --rate 400 --seconds 20 --groups 4
    .venv/bin/python -m bench.kafka_path --mode ignored         # no store work at all
    .venv/bin/python -m bench.kafka_path --vary "" --vary kafka.linger_ms=20   # compare

One process writes dossier facts at a steady rate over many dossiers, in units of work
of one to three events arriving at random times, and publishes them as the outbox relay
does (``KafkaPublisher.publish_batch`` with whatever was handed over meanwhile); it
consumes them in ``--groups`` consumer groups through ``ConsumerRunner`` (as three or four
services read every dossier event). ``--mode noop``: a batch handler that does nothing,
so each run still claims its inbox records in one transaction (the store's share is in
the figures); ``--mode ignored``: a screen passes over every event, so only Kafka, the
decoding and the runner's bookkeeping are left. It runs on a broker of its own and
prints CPU milliseconds per published event of this process, of the broker and of the
store (found by the port they listen on): during the load, and beyond their CPU with the
run's clients connected and idle; and publish → handled latency per consumed event.
``--vary`` measures variants of the settings one after another on the same broker.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import psutil
import uvloop

from chaos.servers import PrivateInfra
from shared.envelope import Envelope
from shared.events.dossier import DossierState
from shared.events.handover import HandoverReceipt, TransferAccepted, TransferRequested
from shared.events.registry import EventData, make_envelope
from shared.handlers import HandlerRegistry
from shared.kafka.publisher import Outgoing
from shared.runtime import CommonSettings, ServiceRuntime, service_runtime
from shared.settings import KafkaSettings, MongoSettings
from shared.testing import drop_isolated, eventually, isolated_settings
from shared.topics import DOSSIER_EVENTS
from shared.unit_of_work import UnitOfWork

SERVICE = "kafkapath"
os.environ.setdefault("LT_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")  # the local broker, as tests
FACTS: list[type[EventData]] = [TransferRequested, TransferAccepted]


@dataclass
class Arrivals:
    """Publish → handled delays (seconds) of every consumed event, per group."""

    delays: list[float] = field(default_factory=list)
    count: int = 0

    def record(self, envelopes: list[Envelope]) -> None:
        now = datetime.now(UTC)
        self.count += len(envelopes)
        self.delays.extend((now - envelope.time).total_seconds() for envelope in envelopes)


def registry_for(mode: str, arrivals: Arrivals) -> HandlerRegistry:
    """``noop``: a batch handler that does nothing (the inbox still claims each event);
    ``ignored``: a screen that records each event and passes over it (no store work)."""
    registry = HandlerRegistry()
    if mode == "ignored":

        async def screen(events: list[tuple[Envelope, EventData]]) -> list[bool]:
            arrivals.record([envelope for envelope, _ in events])
            return [False] * len(events)

        async def never(data: EventData, uow: UnitOfWork) -> None:
            raise AssertionError("screened out")

        return registry.on_each(FACTS, never).screened_by(screen)

    async def noop(events: list[tuple[Envelope, EventData]], uow: UnitOfWork) -> None:
        arrivals.record([envelope for envelope, _ in events])

    return registry.on_batch(FACTS, noop)


COMMUNE, DISTRICT = "001.21.31.H59", "000.06.31.H59"
DOCUMENTS_HASH = hashlib.sha256(b"documents").hexdigest()


def hand_over(code: str, accepted: bool) -> EventData:
    """A hand-over's request or acceptance: the commonest dossier facts, of their usual size."""
    now = datetime.now(UTC)
    if not accepted:
        return TransferRequested(
            dossier_code=code,
            state=DossierState.IN_TRANSFER,
            holding_unit=COMMUNE,
            transfer_id=f"tr-{code}",
            step_index=1,
            step_name="Thẩm định hồ sơ đất đai",
            from_unit=COMMUNE,
            to_unit=DISTRICT,
            requested_at=now,
            step_due_date=date(2026, 12, 4),
            documents_hash=DOCUMENTS_HASH,
        )
    return TransferAccepted(
        dossier_code=code,
        state=DossierState.PROCESSING,
        holding_unit=DISTRICT,
        transfer_id=f"tr-{code}",
        step_index=1,
        from_unit=COMMUNE,
        to_unit=DISTRICT,
        accepted_at=now,
        receipt=HandoverReceipt(
            receipt_id=f"rc-{code}",
            dossier_code=code,
            step_index=1,
            from_unit=COMMUNE,
            to_unit=DISTRICT,
            accepted_at=now,
            documents_hash=DOCUMENTS_HASH,
        ),
    )


@dataclass
class Relaying:
    """Publishes like the outbox relay: what was handed over meanwhile, in one call each."""

    rt: ServiceRuntime
    waiting: list[Outgoing] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    calls: int = 0  # publish_batch calls (each about one produce request)

    async def run(self, writing: asyncio.Task[int]) -> None:
        while not writing.done() or self.waiting:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=0.1)
            self.wake.clear()
            batch, self.waiting = self.waiting, []
            if batch:
                await self.rt.publisher.publish_batch(batch)
                self.calls += 1


async def write_steadily(relaying: Relaying, rate: float, seconds: float) -> int:
    """Hand over ``rate`` events per second over 500 dossiers, in units of work of one
    to three events arriving at random (Poisson) times; returns how many."""
    sent, started = 0, time.monotonic()
    source = f"urn:lienthong:{SERVICE}"
    while time.monotonic() - started < seconds:
        count = random.randint(1, 3)
        for n in range(sent, sent + count):
            fact = hand_over(f"{COMMUNE}-261126-{n % 500:04d}", accepted=(n // 500) % 2 == 1)
            relaying.waiting.append((make_envelope(fact, source=source), DOSSIER_EVENTS, []))
        relaying.wake.set()
        sent += count
        await asyncio.sleep(random.expovariate(rate / 2))
    return sent


async def publish_steadily(rt: ServiceRuntime, rate: float, seconds: float) -> tuple[int, int]:
    """Events written and handed over to a relay at ``rate`` per second, all published;
    returns how many, and in how many publish calls."""
    relaying = Relaying(rt)
    writing = asyncio.create_task(write_steadily(relaying, rate, seconds))
    await relaying.run(writing)
    return writing.result(), relaying.calls


def _listening_pid(port: int) -> int | None:
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            return int(conn.pid)
    return None


def _cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


async def measure(args: argparse.Namespace) -> list[dict[str, object]]:
    """Each variant in turn on one broker of the run's own (its CPU is then the run's
    alone, and the variants meet the same broker), unless ``--shared-broker``."""
    variants = args.vary or [""]
    if args.shared_broker:
        return [await measure_on(args, isolated_settings(), v) for v in variants]
    with tempfile.TemporaryDirectory(prefix="kafka-path-") as local:
        broker = PrivateInfra("kafka", Path(local), timeout_s=180)
        await broker.start()
        try:
            results = []
            for variant in variants:
                kafka, mongo = isolated_settings()
                kafka = kafka.model_copy(update={"bootstrap_servers": f"127.0.0.1:{broker.port}"})
                results.append(await measure_on(args, (kafka, mongo), variant))
            return results
        finally:
            await broker.stop()


def varied(settings: CommonSettings, variant: str) -> CommonSettings:
    """``settings`` with a variant's changes, e.g. ``kafka.linger_ms=20,consumer.x=1``."""
    changes: dict[str, dict[str, str]] = {}
    for change in filter(None, variant.split(",")):
        path, value = change.split("=", 1)
        group, name = path.strip().split(".", 1)
        changes.setdefault(group, {})[name] = value.strip()
    parts = {
        group: type(getattr(settings, group)).model_validate(
            {**getattr(settings, group).model_dump(), **fields}
        )
        for group, fields in changes.items()
    }
    return settings.model_copy(update=parts)


async def measure_on(
    args: argparse.Namespace, isolated: tuple[KafkaSettings, MongoSettings], variant: str
) -> dict[str, object]:
    kafka, mongo = isolated
    settings = varied(CommonSettings(kafka=kafka, mongo=mongo), variant)
    procs = {
        "broker": _listening_pid(int(kafka.bootstrap_servers.rsplit(":", 1)[1])),
        "store": _listening_pid(int(mongo.uri.split("//", 1)[1].split("/")[0].rsplit(":", 1)[1])),
    }
    groups = [Arrivals() for _ in range(args.groups)]
    try:
        async with service_runtime(SERVICE, settings) as rt:
            for i, arrivals in enumerate(groups):
                group = f"{kafka.topic_prefix}{SERVICE}-{i}"
                rt.add_consumer([DOSSIER_EVENTS], registry_for(args.mode, arrivals), group)
            await rt.start_workers()
            # Warm up (the broker's JIT too): every group joined and reading.
            warm, _ = await publish_steadily(rt, args.rate, args.warm_up)
            await eventually(lambda: _all_got(groups, warm), timeout=60)
            for arrivals in groups:
                arrivals.delays.clear()
            # The broker's and the store's CPU with this run's clients connected, idle.
            idle = {name: _cpu(pid) for name, pid in procs.items()}
            await asyncio.sleep(args.seconds / 3)
            idle = {k: (_cpu(procs[k]) - v) * 3 / args.seconds for k, v in idle.items()}
            wall, own = time.monotonic(), time.process_time()
            before = {name: _cpu(pid) for name, pid in procs.items()}
            base = [a.count for a in groups]
            sent, calls = await publish_steadily(rt, args.rate, args.seconds)
            await eventually(lambda: _all_got(groups, sent, base), timeout=120)
            wall = time.monotonic() - wall
            own = time.process_time() - own
            used = {name: _cpu(pid) - before[name] for name, pid in procs.items()}
    finally:
        await drop_isolated(kafka, mongo)
    delays = [d for a in groups for d in a.delays]
    return {
        "variant": variant or "defaults",
        "mode": args.mode,
        "rate": args.rate,
        "groups": args.groups,
        "events": sent,
        "events_per_publish_call": round(sent / calls, 2),
        "wall_s": round(wall, 2),
        # Beyond the idle CPU (the idle share is a cost of the settings too: see idle).
        "cpu_ms_per_event": {
            "bench_process": round(own / sent * 1000, 3),
            **{k: round(max(used[k] - idle[k] * wall, 0.0) / sent * 1000, 3) for k in used},
        },
        # All of their CPU during the load (the idle share is noisy on a shared machine).
        "gross_cpu_ms_per_event": {k: round(v / sent * 1000, 3) for k, v in used.items()},
        "idle_cpu_per_s": {k: round(v, 4) for k, v in idle.items()},
        "latency_ms": {
            "p50": round(_percentile(delays, 0.5) * 1000, 1),
            "p99": round(_percentile(delays, 0.99) * 1000, 1),
            "mean": round(statistics.fmean(delays) * 1000, 1) if delays else None,
        },
    }


async def _all_got(groups: list[Arrivals], count: int, base: list[int] | None = None) -> bool:
    """Whether every group has handled ``count`` events since ``base``."""
    base = base or [0] * len(groups)
    return all(a.count - b >= count for a, b in zip(groups, base, strict=True))


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.kafka_path", description=__doc__)
    parser.add_argument("--rate", type=float, default=200, help="events published per second")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--groups", type=int, default=3, help="consumer groups reading each")
    parser.add_argument("--warm-up", type=float, default=10, help="seconds of load first")
    parser.add_argument("--shared-broker", action="store_true", help="use the one on 9092")
    parser.add_argument("--mode", choices=["noop", "ignored"], default="noop")
    parser.add_argument(
        "--vary",
        action="append",
        help="a variant of the settings, measured in turn on the same broker "
        "(e.g. kafka.linger_ms=20,consumer.fetch_max_wait_ms=50); repeatable",
    )
    return parser.parse_args(argv)


def main() -> None:
    for result in uvloop.run(measure(arguments())):
        print(json.dumps(result))


if __name__ == "__main__":
    main()
