"""How fast this machine runs our kind of Python right now: a fixed workload, timed.

CPU seconds per journey compare only between runs on a machine of the same speed, and
a shared virtual machine's speed varies over a day: the same code measured 0.139 and
0.159 CPU-s per journey at 12/s a day apart, every process slower by 15-40 %, the
load driver and the broker included. The benchmark times this workload on its own
process before the system starts and again once the steps are over, and reports both
(``host.reference_ms``): runs whose figures differ by as much as their references do
measured the machine, not the code.

The workload is what the services spend their CPU on, minus I/O: envelopes encoded and
decoded as JSON, and validated into pydantic models. Its CPU time (not wall time) is
taken, the best of a few repeats, so a neighbour's burst does not count, but a slower
core does.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from pydantic import BaseModel

ROUNDS = 2000  # about 0.1 s on the 2-core machine


class _Step(BaseModel):
    unit: str
    action: str
    at: datetime
    note: str | None = None


class _Dossier(BaseModel):
    code: str
    state: str
    version: int
    steps: list[_Step]
    data: dict[str, str]


def _sample(n: int) -> dict[str, object]:
    at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC).isoformat()
    return {
        "code": f"001.21.31.H59-261130-{n:04d}",
        "state": "IN_PROGRESS",
        "version": n,
        "steps": [{"unit": f"U{i}", "action": "forward", "at": at} for i in range(6)],
        "data": {f"field{i}": "Nguyễn Văn An" for i in range(12)},
    }


def reference_workload(rounds: int = ROUNDS) -> int:
    """Encode, decode and validate ``rounds`` dossier-sized documents; a checksum of the
    work (so that none of it can be skipped)."""
    total = 0
    for n in range(rounds):
        encoded = json.dumps(_sample(n), ensure_ascii=False)
        model = _Dossier.model_validate(json.loads(encoded))
        total += model.version + len(model.model_dump_json())
    return total


def reference_ms(repeats: int = 3, rounds: int = ROUNDS) -> float:
    """CPU milliseconds of the workload on this process, the best of ``repeats``."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        reference_workload(rounds)
        best = min(best, time.process_time() - started)
    return round(best * 1000, 1)
