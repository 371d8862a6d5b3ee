"""One applicant's journey, driven over the public HTTP APIs, and the mix of them.

A journey submits a dossier at a commune desk (intake), waits until routing has planned
its route (the ``dossier.route.planned.v1`` fact on Kafka), then acts as each unit in
turn over routing's HTTP API until the dossier is DONE, and finally waits until audit's
log holds the ``dossier.done.v1`` entry. Some journeys have a hand-over refused once, or
a supplement asked for and provided. Every moment is measured with the monotonic clock.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass, field
from typing import Any

from bench.http import BenchHttp, Reply
from bench.observe import AuditTail, EventTap
from shared.catalogue.configuration import Catalogue

PLANNED = "dossier.route.planned.v1"
TRANSFER_REQUESTED = "dossier.transfer.requested.v1"
DESKS = ("001.21.31.H59", "001.22.31.H59", "001.25.31.H59", "001.27.31.H59")


@dataclass(frozen=True)
class Kind:
    """A kind of journey: its procedures and its share of the mix."""

    name: str
    procedures: tuple[str, ...]
    weight: float


MIX = (
    Kind("commune only", ("1.001193", "1.000894"), 0.35),
    Kind("one level up", ("2.000720", "1.009994"), 0.30),
    Kind("two levels up and back", ("1.012815", "2.000488"), 0.35),
)
REFUSE_SHARE = 0.10  # the receiver refuses the first hand-over once
SUPPLEMENT_SHARE = 0.10  # a unit asks for a supplement, the desk provides it


@dataclass(frozen=True)
class Plan:
    """What one journey will do."""

    serial: int
    kind: str
    procedure: str
    desk: str
    refuse: bool
    supplement: bool


def plan(serial: int, rng: random.Random) -> Plan:
    kind = rng.choices(MIX, weights=[k.weight for k in MIX])[0]
    return Plan(
        serial=serial,
        kind=kind.name,
        procedure=rng.choice(kind.procedures),
        desk=DESKS[serial % len(DESKS)],
        refuse=rng.random() < REFUSE_SHARE,
        supplement=rng.random() < SUPPLEMENT_SHARE,
    )


@dataclass
class Journey:
    """Timings of one journey (seconds; None where it did not get that far)."""

    plan: Plan
    started: float
    code: str | None = None
    submit_http: float | None = None
    planned: float | None = None
    handovers: list[float] = field(default_factory=list)
    actions: int = 0
    action_http: list[float] = field(default_factory=list)
    done: float | None = None
    audited: float | None = None
    error: str | None = None

    def since_start(self, moment: float | None) -> float | None:
        return None if moment is None else moment - self.started


def _document(kind: str, serial: int) -> dict[str, Any]:
    return {
        "name": f"{kind}.pdf",
        "type": kind,
        "size_bytes": 100_000 + serial,
        "sha256": hashlib.sha256(f"{kind}/{serial}".encode()).hexdigest(),
    }


def submission(p: Plan, catalogue: Catalogue) -> dict[str, Any]:
    required = catalogue.procedure(p.procedure).required_documents
    return {
        "procedure_code": p.procedure,
        "receiving_unit": p.desk,
        "channel": "desk",
        "applicant": {
            "name": "Nguyễn Thị Tải",
            "identity_type": "citizen_id",
            "identity_number": f"0{p.serial:011d}",
            "email": f"applicant{p.serial}@example.vn",
            "phone": f"09{p.serial % 10**8:08d}",
            "channels": ["email", "sms"],
            "language": "vi",
        },
        "documents": [_document(doc.type, p.serial) for doc in required],
    }


@dataclass
class Driver:
    """Runs journeys against one platform."""

    client: BenchHttp
    intake: str
    routing: str
    tap: EventTap
    tail: AuditTail
    catalogue: Catalogue

    async def run(self, journey: Journey) -> None:
        try:
            await self._run(journey)
        except Exception as exc:  # recorded, counted and reported; the run goes on
            journey.error = f"{type(exc).__name__}: {exc}"[:300]

    async def _run(self, j: Journey) -> None:
        p = j.plan
        response = await self.client.post(
            f"{self.intake}/v1/dossiers", submission(p, self.catalogue)
        )
        j.submit_http = time.monotonic() - j.started
        _check(response, "submit")
        code = j.code = response.json()["code"]
        j.planned = await self.tap.wait(code, PLANNED)
        response = await self.client.get(f"{self.routing}/v1/dossiers/{code}")
        _check(response, "view")
        view = response.json()
        refused = supplemented = False
        handovers = 0
        while view["state"] != "DONE":
            if j.actions > 40:
                raise RuntimeError(f"{code} not done after {j.actions} actions")
            path, body = _next_action(view, p, refused, supplemented)
            refused = refused or path == "transfer/refuse"
            supplemented = supplemented or path == "supplement/provide"
            started = time.monotonic()
            response = await self.client.post(f"{self.routing}/v1/dossiers/{code}/{path}", body)
            j.action_http.append(time.monotonic() - started)
            j.actions += 1
            _check(response, path)
            result = response.json()
            view = result["dossier"]
            if TRANSFER_REQUESTED in result["events"]:
                handovers += 1
                seen = await self.tap.wait(code, TRANSFER_REQUESTED, handovers)
                j.handovers.append(seen - started)
        j.done = time.monotonic()
        j.audited = await self.tail.wait(code)


def _check(response: Reply, what: str) -> None:
    if response.status >= 400:
        raise RuntimeError(f"{what}: HTTP {response.status} {response.text[:200]}")


def _next_action(
    view: dict[str, Any], p: Plan, refused: bool, supplemented: bool
) -> tuple[str, dict[str, Any]]:
    """What the unit that must act does next, following the journey's plan."""
    unit, state, step = view["action_unit"], view["state"], view["current_step"]
    last = len(view["steps"]) - 1
    if state == "IN_TRANSFER":
        if p.refuse and not refused:
            return "transfer/refuse", {"unit": unit, "reason": "Thiếu bản sao giấy tờ"}
        return "transfer/accept", {"unit": unit}
    if state == "SUPPLEMENT_REQUESTED":
        documents = [_document("supplement_copy", p.serial)]
        return "supplement/provide", {"unit": view["holding_unit"], "documents": documents}
    if state == "RESULT_READY":
        return "result/hand-over", {"unit": unit}
    if step == last:
        return "result/return", {"unit": unit, "note": "Kết quả đã sẵn sàng"}
    if p.supplement and not supplemented and step > 0:
        return "supplement/request", {
            "unit": unit,
            "missing_documents": ["supplement_copy"],
            "reason": "Cần bổ sung bản sao",
        }
    return "step/complete", {"unit": unit, "outcome": "approve", "note": "Đạt yêu cầu"}
