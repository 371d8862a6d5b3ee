"""Journeys that survive faults: every request retried until it is answered, acting once.

Reuses the benchmark's journeys (bench.journeys: procedures, submissions, the next
action of each unit) and adds what faults need: each request carries an
``Idempotency-Key``, so a retry after a lost answer (the service killed between its
commit and its reply) returns the first outcome instead of acting twice; transport
errors and 5xx answers are retried with backoff; routing's view is polled until it
has the dossier.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.journeys import Plan, _next_action, submission
from shared.catalogue.configuration import Catalogue

DESKS = ("001.21.31.H59", "001.22.31.H59", "001.25.31.H59", "001.27.31.H59")
PROCEDURES = ("1.001193", "2.000720", "1.012815", "1.000894", "2.000488", "1.009994")
RETRY_FOR_S = 240.0  # longer than any fault of the matrix lasts


def chaos_plan(serial: int) -> Plan:
    """Deterministic mix: every third refuses a hand-over once, every third asks a supplement."""
    return Plan(
        serial=serial,
        kind="chaos",
        procedure=PROCEDURES[serial % len(PROCEDURES)],
        desk=DESKS[serial % len(DESKS)],
        refuse=serial % 3 == 1,
        supplement=serial % 3 == 2,
    )


@dataclass
class Journey:
    """One dossier's trip and what the harness learnt of it."""

    plan: Plan
    denied: bool
    code: str | None = None
    token: str | None = None
    actions: list[str] = field(default_factory=list)
    retries: int = 0
    finished_at: float | None = None
    error: str | None = None

    @property
    def expected_state(self) -> str:
        return "DENIED" if self.denied else "DONE"


@dataclass
class Driver:
    """Drives journeys over the public HTTP APIs, whatever happens to the services."""

    client: httpx.AsyncClient
    urls: dict[str, str]
    catalogue: Catalogue

    async def run(self, journey: Journey) -> None:
        try:
            await self._run(journey)
            journey.finished_at = time.monotonic()
        except Exception as exc:  # counted as lost by the checks, reported with the reason
            journey.error = f"{type(exc).__name__}: {exc}"[:300]

    async def _run(self, j: Journey) -> None:
        body = submission(j.plan, self.catalogue)
        body["applicant"]["email"] = f"chaos{j.plan.serial}@example.vn"
        if j.denied:  # a desk refusal at intake: the dossier gets a code, DENIED
            body.pop("channel", None)
            body["reason"] = "Thiếu giấy tờ theo quy định"
            receipt = await self.send(j, "POST", f"{self.urls['intake']}/v1/dossiers/denials", body)
        else:
            receipt = await self.send(j, "POST", f"{self.urls['intake']}/v1/dossiers", body)
        j.code, j.token = receipt["code"], receipt.get("lookup_token")
        if j.denied:
            return
        view = await self.routing_view(j)
        refused = supplemented = False
        while view["state"] != "DONE":
            if len(j.actions) > 40:
                raise RuntimeError(f"{j.code} not done after {len(j.actions)} actions")
            path, action = _next_action(view, j.plan, refused, supplemented)
            refused = refused or path == "transfer/refuse"
            supplemented = supplemented or path == "supplement/provide"
            result = await self.send(
                j, "POST", f"{self.urls['routing']}/v1/dossiers/{j.code}/{path}", action
            )
            j.actions.append(path)
            view = result["dossier"]

    async def routing_view(self, j: Journey) -> dict[str, Any]:
        """Routing learns of the dossier from Kafka: poll until it has planned the route."""
        deadline = time.monotonic() + RETRY_FOR_S
        while time.monotonic() < deadline:
            try:
                response = await self.client.get(f"{self.urls['routing']}/v1/dossiers/{j.code}")
                if response.status_code == 200 and response.json().get("action_unit"):
                    view: dict[str, Any] = response.json()
                    return view
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.3)
        raise RuntimeError(f"routing never planned {j.code}")

    async def send(self, j: Journey, method: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
        """One request, retried with the same Idempotency-Key until answered (not 5xx)."""
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        deadline = time.monotonic() + RETRY_FOR_S
        pause = 0.2
        while True:
            try:
                response = await self.client.request(
                    method, url, json=body, headers=headers, timeout=15
                )
                if response.status_code < 500:
                    if response.status_code >= 400:
                        raise RuntimeError(f"{url}: HTTP {response.status_code} {response.text}")
                    answer: dict[str, Any] = response.json()
                    return answer
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url}: no answer within {RETRY_FOR_S:.0f}s")
            j.retries += 1
            await asyncio.sleep(pause)
            pause = min(pause * 2, 3.0)
