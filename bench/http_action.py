"""What one HTTP action costs routing, and one submission intake, in CPU seconds.

    .venv/bin/python -m bench.http_action                        # 40 journeys, 8 at a time
    .venv/bin/python -m bench.http_action --journeys 80 --profile  # py-spy of each phase
    .venv/bin/python -m bench.http_action --compare LT_ROUTING_RECENT_DOSSIERS=0

Intake and routing run as their own processes, as ``make run`` starts them, on the shared
broker and store with a topic and database prefix of their own (removed afterwards).
Phase 1 submits the journeys' dossiers to intake (the load driver's mix) and waits until
routing planned each; phase 2 drives every one to DONE over routing's HTTP API as the
load driver does: one GET, then each action as the unit that must act. A phase ends once
its facts are all published (the outboxes hold nothing pending). It prints each
process's CPU seconds per submission and per request, and routing's store round trips
per action by collection and command (``lt_store_commands_total``). With ``--profile``,
py-spy samples intake in phase 1 and routing in phase 2; the summary and the raw stacks
go under ``.local/bench/http-action/``. ``--compare LT_NAME=VALUE`` runs a second pair of
services with that setting beside the first, at the same moment (the figures of runs
taken one after the other differ by a third on a shared machine; side by side, both
pairs see the same load).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from bench.e2e import store_commands
from bench.http import BenchHttp, Reply
from bench.journeys import Plan, _next_action, plan, submission
from bench.observe import EventTap
from bench.platform import Platform
from bench.profile import summarise
from infra.launcher import isolated_fleet
from shared.catalogue.loading import load_catalogue
from shared.kafka.admin import ensure_topics
from shared.mongo.client import mongo_client, service_database
from shared.testing import drop_isolated, free_port, isolated_settings

OUT = Path(".local/bench/http-action")
PLANNED = "dossier.route.planned.v1"
SERVICES = ("intake", "routing")
os.environ.setdefault("LT_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")  # the local broker


@dataclass
class Phase:
    """What one phase asked of the services and what it cost them."""

    name: str
    requests: int = 0
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    commands: dict[str, int] = field(default_factory=dict)
    profile: dict[str, Any] | None = None


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User plus system CPU seconds of each process (and its threads) so far."""
    return {name: sum(psutil.Process(pid).cpu_times()[:2]) for name, pid in pids.items()}


class Spy:
    """A py-spy recorder on one process until ``stop`` (SIGINT makes it write its file)."""

    def __init__(self, pid: int, out: Path) -> None:
        exe = shutil.which("py-spy", path=str(Path(sys.executable).parent))
        self.out = out
        self.proc = None
        if exe is None:
            print("[http-action] py-spy not installed: no profile", flush=True)
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        argv = [exe, "record", "--pid", str(pid), "--rate", "100", "--format", "raw"]
        self.proc = subprocess.Popen(
            [*argv, "--nonblocking", "--output", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=out.with_suffix(".log").open("wb"),
        )

    async def stop(self) -> dict[str, Any] | None:
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGINT)
        await asyncio.to_thread(self.proc.wait)
        return summarise(self.out, top=25) if self.out.exists() else None


@dataclass
class Bench:
    """The two services, the driver's client and a tap on ``dossier.events``."""

    platform: Platform
    http: BenchHttp
    tap: EventTap
    concurrency: int
    profile: Path | None  # where py-spy's stacks go, if sampled

    async def measure(self, name: str, spied: str, work: Callable[[], Awaitable[int]]) -> Phase:
        """Run ``work`` (it returns how many requests it made), then wait until nothing is
        pending in the outboxes; what the services' processes spent meanwhile."""
        pids = self.platform.fleet.pids()
        phase = Phase(name)
        spy = None
        if self.profile is not None:
            spy = Spy(pids[spied], self.profile / f"{name}-{spied}.collapsed.txt")
        before_cpu, before_cmd = cpu_seconds(pids), await store_commands_of(self)
        began = time.monotonic()
        phase.requests = await work()
        await self.drained()
        phase.seconds = time.monotonic() - began
        after_cpu, after_cmd = cpu_seconds(pids), await store_commands_of(self)
        phase.cpu = {n: after_cpu[n] - before_cpu[n] for n in pids}
        phase.commands = {
            k: v - before_cmd.get(k, 0) for k, v in after_cmd.items() if v != before_cmd.get(k, 0)
        }
        if spy is not None:
            phase.profile = await spy.stop()
        return phase

    async def drained(self) -> None:
        """Until both services' outboxes hold nothing pending (their facts are published)."""
        mongo = self.platform.mongo
        async with mongo_client(mongo, "bench-drain") as client:
            outboxes = [service_database(client, mongo, s)["outbox"] for s in SERVICES]
            while True:
                pending = [await o.count_documents({"status": "pending"}) for o in outboxes]
                if not any(pending):
                    return
                await asyncio.sleep(0.1)

    async def each(self, items: list[Any], job: Callable[[Any], Awaitable[int]]) -> int:
        """Run ``job`` on every item, ``concurrency`` at a time; the requests they made."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(item: Any) -> int:
            async with gate:
                return await job(item)

        return sum(await asyncio.gather(*(one(item) for item in items)))

    async def submit(self, p: Plan, catalogue: Any) -> str:
        intake = self.platform.urls["intake"]
        reply = await self.http.post(f"{intake}/v1/dossiers", submission(p, catalogue))
        code: str = checked(reply, "submit").json()["code"]
        await self.tap.wait(code, PLANNED)
        return code

    async def journey(self, code: str, p: Plan) -> int:
        """Drive one dossier to DONE as the load driver does; the requests made."""
        routing = self.platform.urls["routing"]
        view = checked(await self.http.get(f"{routing}/v1/dossiers/{code}"), "view").json()
        requests, refused, supplemented = 1, False, False
        while view["state"] != "DONE":
            if requests > 40:
                raise RuntimeError(f"{code} not done after {requests} requests")
            path, body = _next_action(view, p, refused, supplemented)
            refused = refused or path == "transfer/refuse"
            supplemented = supplemented or path == "supplement/provide"
            reply = await self.http.post(f"{routing}/v1/dossiers/{code}/{path}", body)
            view = checked(reply, path).json()["dossier"]
            requests += 1
        return requests


async def store_commands_of(bench: Bench) -> dict[str, int]:
    """The two services' store round trips so far ("service collection:command")."""
    counts = await store_commands(bench.http, bench.platform, services=SERVICES)
    return counts


def checked(reply: Reply, what: str) -> Reply:
    if reply.status >= 400:
        raise RuntimeError(f"{what}: HTTP {reply.status} {reply.text[:300]}")
    return reply


@asynccontextmanager
async def running(work: Path, settings: dict[str, str]) -> AsyncIterator[Platform]:
    """Intake and routing as processes on free ports; stopped and their data dropped after."""
    kafka, mongo = isolated_settings()
    kafka = kafka.model_copy(update={"topic_prefix": f"bench-{kafka.topic_prefix}"})
    mongo = mongo.model_copy(update={"database_prefix": f"bench_{mongo.database_prefix}"})
    await ensure_topics(kafka)
    env = {"LT_TELEMETRY_LOG_LEVEL": "WARNING", **settings}
    fleet = isolated_fleet(kafka, mongo, work, free_port(), services=SERVICES, env=env)
    try:
        async with fleet.running():
            yield Platform(fleet.urls(), kafka, mongo, work, fleet)
    finally:
        await drop_isolated(kafka, mongo)


async def run(
    journeys: int,
    concurrency: int,
    *,
    profile: bool = False,
    seed: int = 11,
    out: Path = OUT,
    variants: dict[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Both phases on ``journeys`` dossiers for each variant (its settings), the variants
    side by side at the same moment, so that they share the machine's state; the figures
    by variant, also written to ``out``."""
    variants = variants or {"base": {}}
    catalogue = load_catalogue()
    rng = random.Random(seed)
    plans = [plan(serial, rng) for serial in range(1, journeys + 1)]
    stop = asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        benches: dict[str, Bench] = {}
        for name, settings in variants.items():
            platform = await stack.enter_async_context(running(out / name, settings))
            session = await stack.enter_async_context(
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency * 2))
            )
            spied = out / name if profile else None
            bench = Bench(platform, BenchHttp(session), EventTap(platform), concurrency, spied)
            benches[name] = bench
        taps = [asyncio.create_task(bench.tap.run(stop)) for bench in benches.values()]
        try:
            phases = await asyncio.gather(
                *(both_phases(bench, plans, catalogue) for bench in benches.values())
            )
        finally:
            stop.set()
            await asyncio.gather(*taps)
    result = {
        "journeys": journeys,
        "variants": {
            name: {"settings": variants[name], **report(submitted, acted, journeys)}
            for name, (submitted, acted) in zip(benches, phases, strict=True)
        },
    }
    await asyncio.to_thread(write, out / "result.json", result)
    return result


def write(path: Path, result: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))


async def both_phases(bench: Bench, plans: list[Plan], catalogue: Any) -> tuple[Phase, Phase]:
    """Submit every journey's dossier, then drive them all to DONE."""
    codes: dict[int, str] = {}

    async def submit(p: Plan) -> int:
        codes[p.serial] = await bench.submit(p, catalogue)
        return 1

    async def drive(p: Plan) -> int:
        return await bench.journey(codes[p.serial], p)

    print(f"[http-action] submitting {len(plans)} dossiers", flush=True)
    submitted = await bench.measure("submit", "intake", lambda: bench.each(plans, submit))
    print(f"[http-action] driving them to DONE, {bench.concurrency} at a time", flush=True)
    acted = await bench.measure("act", "routing", lambda: bench.each(plans, drive))
    return submitted, acted


def report(submitted: Phase, acted: Phase, journeys: int) -> dict[str, Any]:
    """Per request figures of both phases (the GETs are 1 of every journey's requests)."""
    actions = acted.requests - journeys
    return {
        "submit": {
            "requests": submitted.requests,
            "seconds": round(submitted.seconds, 2),
            "cpu_s_per_submission": per(submitted.cpu, submitted.requests),
            "round_trips_per_submission": per(submitted.commands, submitted.requests, 2),
            "profile": submitted.profile,
        },
        "act": {
            "actions": actions,
            "gets": journeys,
            "seconds": round(acted.seconds, 2),
            "cpu_s_per_action": per(acted.cpu, actions),
            "round_trips_per_action": per(acted.commands, actions, 2),
            "profile": acted.profile,
        },
    }


def per(values: dict[str, float] | dict[str, int], count: int, digits: int = 4) -> dict[str, Any]:
    ranked = sorted(values.items(), key=lambda kv: -kv[1])
    return {k: round(v / max(count, 1), digits) for k, v in ranked}


def show(result: dict[str, Any], out: Path) -> None:
    for name, variant in result["variants"].items():
        submit, act = variant["submit"], variant["act"]
        print(f"== {name} {variant['settings'] or ''}")
        print(
            f"journeys {result['journeys']}: {submit['requests']} submissions, "
            f"{act['actions']} actions + {act['gets']} GETs"
        )
        for phase in (submit, act):
            if phase["profile"]:
                print("profile:", json.dumps(phase["profile"], indent=1, ensure_ascii=False))
        print("CPU s per submission:", submit["cpu_s_per_submission"])
        print("CPU s per action (its GET share included):", act["cpu_s_per_action"])
        print("round trips per action:", act["round_trips_per_action"])
    print(f"written to {out / 'result.json'}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.http_action", description=__doc__)
    parser.add_argument("--journeys", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--profile", action="store_true", help="py-spy samples of each phase")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="LT_NAME=VALUE",
        help="a setting for both services",
    )
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="LT_NAME=VALUE",
        help="run a second pair of services beside, at the same time, with this setting too",
    )
    args = parser.parse_args()
    base = dict(item.split("=", 1) for item in args.set)
    variants = {"base": base}
    if args.compare:
        variants["compared"] = {**base, **dict(item.split("=", 1) for item in args.compare)}
    figures = run(
        args.journeys,
        args.concurrency,
        profile=args.profile,
        seed=args.seed,
        out=args.out,
        variants=variants,
    )
    show(asyncio.run(figures), args.out)


if __name__ == "__main__":
    main()
