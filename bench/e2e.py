"""The end-to-end benchmark: the system as processes under an open-loop load, step by step.

Each rate step starts journeys at the target rate (Poisson arrivals, whether or not the
earlier ones have finished), then gives the step's journeys a bounded time to finish.
It reports throughput, the latency table, CPU per journey of every process, the store's
write rate and the events' rate; the broker's and the store's raw rates are measured
in the same run, after the steps, with the run's message size.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform as host
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bench import calibrate, profile, raw, report
from bench.http import BenchHttp, bench_session
from bench.journeys import Driver, Journey, plan
from bench.observe import AuditTail, EventTap, Sampler
from bench.platform import SERVICES, Platform, running_platform
from shared.catalogue.loading import load_catalogue
from shared.mongo.client import mongo_client

OUT = Path(__file__).resolve().parent.parent / ".local" / "bench"


@dataclass
class Options:
    rates: list[float]
    step_seconds: float
    drain_seconds: float
    raw_count: int = 2000
    profile: bool = False
    stop_when_broken: bool = True
    out: Path = OUT
    seed: int = 11
    private_store: bool = True
    warmup_seconds: float = 20.0


@dataclass
class Run:
    """Everything a run observes, shared by the steps."""

    platform: Platform
    driver: Driver
    tap: EventTap
    tail: AuditTail
    sampler: Sampler
    options: Options
    work: Path
    journeys: list[Journey] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)


@dataclass(frozen=True)
class StoreCounts:
    """What the store holds and has done: documents per collection, operations by kind."""

    documents: dict[str, int]
    operations: dict[str, int]
    commands: dict[str, int]  # each service's round trips, "service collection:command"

    def since(self, before: StoreCounts) -> StoreCounts:
        def minus(now: dict[str, int], then: dict[str, int]) -> dict[str, int]:
            return {k: v - then.get(k, 0) for k, v in now.items() if v != then.get(k, 0)}

        return StoreCounts(
            minus(self.documents, before.documents),
            minus(self.operations, before.operations),
            minus(self.commands, before.commands),
        )


async def store_counts(http: BenchHttp, platform: Platform) -> StoreCounts:
    """Documents in the run's databases (the services insert far more than they update),
    the server's operation counters (every client's round trips, by kind) and each
    service's own count of its round trips."""
    documents: dict[str, int] = {}
    async with mongo_client(platform.mongo, "bench-count") as client:
        for name in await client.list_database_names():
            if name.startswith(platform.mongo.database_prefix):
                db = client[name]
                for collection in await db.list_collection_names():
                    key = f"{name.removeprefix(platform.mongo.database_prefix)}.{collection}"
                    documents[key] = await db[collection].estimated_document_count()
        status = await client.admin.command("serverStatus")
    operations = {k: int(v) for k, v in status.get("opcounters", {}).items()}
    return StoreCounts(documents, operations, await store_commands(http, platform))


def per_service(counts: dict[str, float]) -> dict[str, dict[str, float]]:
    """``{"service collection:command": n}`` as each service's total and its commands."""
    grouped: dict[str, dict[str, float]] = {}
    for key, value in counts.items():
        service, command = key.split(" ", 1)
        grouped.setdefault(service, {"total": 0.0})[command] = value
        grouped[service]["total"] = round(grouped[service]["total"] + value, 1)
    return grouped


async def store_commands(
    client: BenchHttp, platform: Platform, services: tuple[str, ...] = SERVICES
) -> dict[str, int]:
    """Each service's store round trips so far ("service collection:command"), from the
    ``lt_store_commands_total`` counters on its /metrics."""
    counts: dict[str, int] = {}
    for service in services:
        response = await client.get(f"{platform.urls[service]}/metrics", identity="monitoring")
        if response.status != 200:
            raise RuntimeError(f"{service} /metrics: HTTP {response.status}")
        for family in text_string_to_metric_families(response.text):
            if family.name != "lt_store_commands":
                continue
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    labels = sample.labels
                    key = f"{service} {labels['collection']}:{labels['command']}"
                    counts[key] = int(sample.value)
    return counts


def per_journey(counts: dict[str, int], done: int) -> dict[str, float]:
    """Counts divided by the journeys done, largest first."""
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    return {k: round(v / max(done, 1), 1) for k, v in ranked}


def _progress(run: Run, label: str, started: float, step: list[Journey]) -> str:
    done = sum(1 for j in step if j.done is not None)
    audited = sum(1 for j in step if j.audited is not None)
    failed = sum(1 for j in step if j.error is not None)
    last = run.sampler.samples[-1] if run.sampler.samples else None
    lag = " ".join(f"{k[:3]}={v}" for k, v in (last.lag if last else {}).items())
    behind = f"{last.audit_behind_s:.1f}s" if last else "-"
    load = f"{last.load1:.1f}" if last else "-"
    return (
        f"[bench] {label} t={time.monotonic() - started:5.0f}s submitted={len(step)} "
        f"done={done} audited={audited} failed={failed} lag[{lag}] audit-behind={behind} "
        f"load={load}"
    )


async def _show_progress(
    run: Run, label: str, started: float, step: list[Journey], stop: asyncio.Event
) -> None:
    tty = sys.stdout.isatty()
    every = 1.0 if tty else 10.0
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
        line = _progress(run, label, started, step)
        print(f"\r{line}\033[K" if tty else line, end="" if tty else "\n", flush=True)
    if tty:
        print(flush=True)


async def run_step(run: Run, index: int, rate: float) -> dict[str, Any]:
    """Offer ``rate`` journeys per second for the step's duration, then drain."""
    opts = run.options
    label = f"step {index + 1}/{len(opts.rates)} @{rate:g}/s"
    store_before, events_before = await store_counts(run.driver.client, run.platform), run.tap.count
    cpu_before = dict(run.sampler.cpu_seconds)
    overloaded_before = run.driver.client.overloaded
    step: list[Journey] = []
    tasks: set[asyncio.Task[None]] = set()
    started = time.monotonic()
    stop_progress = asyncio.Event()
    progress = asyncio.create_task(_show_progress(run, label, started, step, stop_progress))
    profiling = (
        profile.start(run.platform, run.work / "profiles" / f"step{index + 1}", opts.step_seconds)
        if opts.profile
        else None
    )
    await _offer(run, rate, started + opts.step_seconds, step, tasks)
    generated = time.monotonic()
    await _drain(tasks, step, opts.drain_seconds)
    ended = time.monotonic()
    stop_progress.set()
    await progress
    profiles = await profile.finish(profiling) if profiling is not None else None
    store = (await store_counts(run.driver.client, run.platform)).since(store_before)
    return _step_figures(
        run,
        rate,
        step,
        started,
        generated,
        ended,
        cpu_before,
        store,
        run.tap.count - events_before,
        run.driver.client.overloaded - overloaded_before,
        profiles,
    )


async def _offer(
    run: Run, rate: float, until: float, step: list[Journey], tasks: set[asyncio.Task[None]]
) -> None:
    """Start journeys at ``rate`` (Poisson arrivals) until ``until``, not waiting for them."""
    next_at = time.monotonic()
    while True:
        next_at += run.rng.expovariate(rate)
        if next_at > until:
            return
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        journey = Journey(plan(len(run.journeys), run.rng), started=time.monotonic())
        run.journeys.append(journey)
        step.append(journey)
        tasks.add(asyncio.create_task(run.driver.run(journey)))


async def _drain(tasks: set[asyncio.Task[None]], step: list[Journey], seconds: float) -> None:
    """Give the journeys ``seconds`` to finish; those that did not are failed."""
    _, unfinished = await asyncio.wait(tasks, timeout=seconds) if tasks else (set(), set())
    for task in unfinished:
        task.cancel()
    await asyncio.gather(*unfinished, return_exceptions=True)
    for journey in step:
        if journey.audited is None and journey.error is None:
            journey.error = "not audited within the drain time"


async def warm_up(run: Run, rate: float) -> dict[str, Any]:
    """Journeys at ``rate`` for the warm-up time, not measured: the first seconds of a
    fresh platform (connection pools, consumer group joins, a broker's JIT still
    compiling) cost more than the rest and would weigh on the first step alone."""
    seconds = run.options.warmup_seconds
    print(f"[bench] warming up: {rate:g}/s for {seconds:g} s, not measured", flush=True)
    journeys: list[Journey] = []
    tasks: set[asyncio.Task[None]] = set()
    await _offer(run, rate, time.monotonic() + seconds, journeys, tasks)
    await _drain(tasks, journeys, run.options.drain_seconds)
    failed = sum(1 for j in journeys if j.error is not None)
    print(f"[bench] warmed up: {len(journeys) - failed}/{len(journeys)} journeys", flush=True)
    return {"rate": rate, "seconds": seconds, "journeys": len(journeys), "failed": failed}


def _step_figures(
    run: Run,
    rate: float,
    step: list[Journey],
    started: float,
    generated: float,
    ended: float,
    cpu_before: dict[str, float],
    store: StoreCounts,
    events: int,
    overloaded: int,
    profiles: dict[str, Any] | None,
) -> dict[str, Any]:
    audited = [j for j in step if j.audited is not None]
    done = sum(1 for j in step if j.done is not None)
    warmup = min(10.0, (generated - started) / 4)
    window = max(generated - started - warmup, 1e-9)
    in_window = sum(
        1 for j in run.journeys if j.audited and started + warmup <= j.audited <= generated
    )
    cpu = {
        n: run.sampler.cpu_seconds.get(n, 0.0) - cpu_before.get(n, 0.0)
        for n in run.sampler.cpu_seconds
    }
    samples = [s for s in run.sampler.samples if started - run.sampler.started <= s.t]
    lat = report.latencies(step)
    return {
        "rate_offered": rate,
        "started_at_s": started - run.sampler.started,
        "seconds_generating": round(generated - started, 1),
        "seconds_draining": round(ended - generated, 1),
        "journeys_started": len(step),
        "journeys_done": done,
        "journeys_audited": len(audited),
        "journeys_failed": sum(1 for j in step if j.error is not None),
        "errors": report.errors(step),
        "http_refused_overloaded": overloaded,  # each sent again after its Retry-After
        "audited_per_s_while_loading": round(in_window / window, 2),
        "audited_per_s_whole_step": round(len(audited) / max(ended - started, 1e-9), 2),
        "latency_ms": lat,
        "audit_behind_max_s": round(max((s.audit_behind_s for s in samples), default=0.0), 2),
        "lag_max": {
            g: max((s.lag.get(g, 0) for s in samples), default=0) for g in run.platform.group_ids()
        },
        "load_average_1m": {
            "mean": round(sum(s.load1 for s in samples) / max(len(samples), 1), 2),
            "max": round(max((s.load1 for s in samples), default=0.0), 2),
        },
        "cpu_seconds": {n: round(v, 2) for n, v in cpu.items()},
        "cpu_seconds_per_done_journey": {n: round(v / max(done, 1), 4) for n, v in cpu.items()},
        "rss_mib_max": {
            n: round(max((s.rss_mib.get(n, 0.0) for s in samples), default=0.0), 1) for n in cpu
        },
        "store_documents_written_per_s": round(
            sum(store.documents.values()) / max(ended - started, 1e-9), 1
        ),
        "store_documents_per_done_journey": per_journey(store.documents, done),
        "store_operations_per_done_journey": per_journey(store.operations, done),
        "store_commands_per_done_journey": per_service(per_journey(store.commands, done)),
        "dossier_events_per_s": round(events / max(ended - started, 1e-9), 1),
        "profile": profiles,
    }


def broken(step: dict[str, Any]) -> str | None:
    """Why latency broke at this step (the target's bounds), if it did."""
    p99 = step["latency_ms"]["submit_to_audited"]["p99"]
    if step["journeys_failed"] > 0.02 * max(step["journeys_started"], 1):
        return f"{step['journeys_failed']} of {step['journeys_started']} journeys failed"
    if p99 is None or p99 > 2000:
        return f"p99 submit → audited {p99} ms > 2000 ms"
    if step["audit_behind_max_s"] > 2:
        return f"audit {step['audit_behind_max_s']} s behind"
    return None


def ratios(steps: list[dict[str, Any]], rates: raw.RawRates) -> None:
    """Each step's store and broker figures as fractions of the raw rates."""
    for step in steps:
        step["ratios"] = {
            "store_docs_vs_raw_batched": round(
                step["store_documents_written_per_s"] / rates.store_batch_docs, 3
            ),
            "store_docs_vs_raw_two_write_txn": round(
                step["store_documents_written_per_s"] / (2 * rates.store_txn_two_writes), 3
            ),
            "dossier_events_vs_raw_broker": round(
                step["dossier_events_per_s"] / rates.broker_produce_msgs, 4
            ),
        }


async def run_benchmark(opts: Options) -> dict[str, Any]:
    """Start the system, run the steps, measure the raw rates, write JSON and the plot."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    work = opts.out / f"run-{stamp}"
    reference_before = calibrate.reference_ms()  # the machine's speed, nothing started yet
    print(f"[bench] this machine: reference workload {reference_before} ms", flush=True)
    print(f"[bench] starting the platform (logs under {work})", flush=True)
    async with (
        running_platform(work, private_store=opts.private_store) as platform,
        # Real tokens from the local Keycloak: each unit's agency client for submissions
        # and actions, the auditor for the views and the audit log.
        bench_session() as session,
    ):
        client = BenchHttp(session)
        tap, tail = EventTap(platform), AuditTail(platform.urls["audit"])
        sampler = Sampler(platform, tap, tail)
        driver = Driver(
            client, platform.urls["intake"], platform.urls["routing"], tap, tail, load_catalogue()
        )
        run = Run(platform, driver, tap, tail, sampler, opts, work, rng=random.Random(opts.seed))
        stop = asyncio.Event()
        watchers = [
            asyncio.create_task(tap.run(stop)),
            asyncio.create_task(tail.run(stop, client)),
            asyncio.create_task(sampler.run(stop)),
        ]
        steps: list[dict[str, Any]] = []
        breaking: str | None = None
        warmed: dict[str, Any] | None = None
        try:
            if opts.warmup_seconds > 0 and opts.rates:
                warmed = await warm_up(run, opts.rates[0])
            for index, rate in enumerate(opts.rates):
                figures = await run_step(run, index, rate)
                figures["broken"] = broken(figures)
                steps.append(figures)
                _print_step(figures)
                if figures["broken"] and breaking is None:
                    breaking = f"{rate:g}/s: {figures['broken']}"
                    if opts.stop_when_broken and index + 1 < len(opts.rates):
                        print("[bench] latency broke; higher rates skipped", flush=True)
                        break
        finally:
            stop.set()
            await asyncio.gather(*watchers, return_exceptions=True)
        print("[bench] raw rates of the broker and the store (same run)", flush=True)
        rates = await raw.measure(platform.kafka, platform.mongo, tap.mean_size(), opts.raw_count)
        ratios(steps, rates)
        reference_after = calibrate.reference_ms()  # the system idle again
        result = {
            "at": stamp,
            "host": {
                "node": host.node(),
                "cpus": os.cpu_count(),
                "python": host.python_version(),
                "reference_ms": {"before": reference_before, "after": reference_after},
            },
            "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(opts).items()},
            "latency_breaks_at": breaking,
            "warmup": warmed,
            "raw": rates.as_dict(),
            "steps": steps,
            "samples": [asdict(s) for s in sampler.samples],
        }
        report.write_json(work / "result.json", result)
        report.write_json(opts.out / "latest.json", result)
        report.plot(work / "plot.png", sampler.samples, run.journeys, sampler.started, steps)
        print(f"[bench] raw: {rates.as_dict()}", flush=True)
        print(
            f"[bench] reference workload {reference_before} ms before, {reference_after} ms "
            "after (CPU per journey compares between runs whose references agree)",
            flush=True,
        )
        print(f"[bench] saved {work / 'result.json'} and {work / 'plot.png'}", flush=True)
        return result


def _print_step(step: dict[str, Any]) -> None:
    lat = step["latency_ms"]
    line = ", ".join(f"{k} p50/p99 {v['p50']}/{v['p99']} ms" for k, v in lat.items())
    print(
        f"[bench] @{step['rate_offered']:g}/s: audited {step['audited_per_s_while_loading']}/s "
        f"while loading, {step['journeys_audited']}/{step['journeys_started']} audited, "
        f"{step['journeys_failed']} failed, {step['http_refused_overloaded']} requests "
        f"refused as overloaded and sent again; {line}; audit behind max "
        f"{step['audit_behind_max_s']} s; load {step['load_average_1m']}; "
        f"{'BROKEN: ' + step['broken'] if step['broken'] else 'within bounds'}",
        flush=True,
    )
