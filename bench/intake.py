"""Scenario: submissions through intake's HTTP API, and the hop to routing.

Runs intake and routing in this process (ASGI, no network) against the real broker
and store: submissions per second at one desk and across desks, request latency, and
how long until routing has planned the route (received event → Kafka → routing).
"""

from __future__ import annotations

import asyncio
import time

import httpx
from intake.config import IntakeSettings
from intake.main import create_app as create_intake
from routing.config import RoutingSettings
from routing.main import create_app as create_routing

from bench.common import Report, Stopwatch, bench_settings, median, percentile, rate
from infra.demo import DEMO, submission
from shared.testing import eventually, running_app

SCENARIO = "intake → routing"
DESKS = ["001.21.31.H59", "001.22.31.H59", "001.25.31.H59", "001.27.31.H59"]


async def submit_all(
    client: httpx.AsyncClient, count: int, concurrency: int, desks: list[str]
) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    codes: list[str] = []
    todo = list(range(count))

    async def worker() -> None:
        while todo:
            n = todo.pop()
            body = submission(DEMO[0], n) | {"receiving_unit": desks[n % len(desks)]}
            started = time.perf_counter()
            response = await client.post("/v1/dossiers", json=body)
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()
            codes.append(response.json()["code"])

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, codes


async def run(report: Report, count: int = 300) -> None:
    async with bench_settings() as common:
        intake = create_intake(IntakeSettings(**common.model_dump()))
        routing = create_routing(RoutingSettings(**common.model_dump()))
        async with running_app(intake) as client, running_app(routing) as routing_client:
            for label, desks in (("one desk", DESKS[:1]), ("four desks", DESKS)):
                watch = Stopwatch()
                latencies, codes = await submit_all(client, count, 8, desks)
                report.add(
                    SCENARIO,
                    f"submissions/s, 8 concurrent, {label}",
                    rate(count, watch.seconds()),
                    "req/s",
                )
                report.add(
                    SCENARIO, f"submission p50 latency, {label}", median(latencies) * 1000, "ms"
                )
                report.add(
                    SCENARIO,
                    f"submission p95 latency, {label}",
                    percentile(latencies, 0.95) * 1000,
                    "ms",
                )
                await _wait_all_routed(routing_client, codes)
                report.add(
                    SCENARIO,
                    f"submitted → all routed, {label}",
                    rate(count, watch.seconds()),
                    "dossiers/s",
                )
            hop: list[float] = []
            for n in range(20):
                started = time.perf_counter()
                response = await client.post("/v1/dossiers", json=submission(DEMO[0], 10_000 + n))
                code = response.json()["code"]
                await _wait_all_routed(routing_client, [code], interval=0.005)
                hop.append(time.perf_counter() - started)
            report.add(SCENARIO, "submit → route planned, median (idle)", median(hop) * 1000, "ms")


async def _routed(client: httpx.AsyncClient, code: str) -> bool:
    return (await client.get(f"/v1/dossiers/{code}")).status_code == 200


async def _wait_all_routed(
    client: httpx.AsyncClient, codes: list[str], interval: float = 0.1
) -> None:
    """Poll routing until it knows every code (each code is asked for until it is there)."""
    waiting = set(codes)

    async def none_left() -> bool:
        for code in list(waiting):
            if await _routed(client, code):
                waiting.discard(code)
            else:
                return False
        return True

    await eventually(none_left, timeout=600, interval=interval)
