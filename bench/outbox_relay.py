"""What relaying one event costs the store: the outbox's round trips per event.

    .venv/bin/python -m bench.outbox_relay                  # 40 subjects x 5 events, 20/s
    .venv/bin/python -m bench.outbox_relay --rate 50 --subjects 100

One service runtime (real broker and store, its own topic and database prefixes,
removed afterwards) writes facts through units of work at a steady rate, each subject's
events one after another as a dossier's are, until every entry is published and marked
sent. It prints the service's outbox commands (``lt_store_commands_total``, counted by
the store client's command listener) in all and per event. Everything except the
writers' own ``counters``/``outbox`` inserts is the relay's: reads of pending entries,
marks, the backlog gauges.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections import Counter
from datetime import UTC, datetime

from shared.events.dossier import DossierState
from shared.events.withdrawal import DossierWithdrawn
from shared.mongo.client import mongo_client, service_database
from shared.runtime import CommonSettings, ServiceRuntime, service_runtime
from shared.telemetry.metrics import STORE_COMMANDS
from shared.testing import drop_isolated, eventually, isolated_settings

SERVICE = "relaybench"
# The local broker is plaintext, as for the tests.
os.environ.setdefault("LT_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")


def outbox_commands() -> Counter[str]:
    """The benchmark service's commands on its outbox so far, by command name."""
    counts: Counter[str] = Counter()
    for metric in STORE_COMMANDS.collect():
        for sample in metric.samples:
            labels = sample.labels
            if (
                sample.name.endswith("_total")
                and labels["service"] == SERVICE
                and labels["collection"] == "outbox"
            ):
                counts[labels["command"]] += int(sample.value)
    return counts


async def write_subject(rt: ServiceRuntime, subject: str, events: int, gap_s: float) -> None:
    """One subject's events, one unit of work each, ``gap_s`` apart."""
    for step in range(events):
        async with rt.unit_of_work() as uow:
            uow.emit(
                DossierWithdrawn(
                    dossier_code=subject,
                    state=DossierState.WITHDRAWN,
                    holding_unit="U",
                    withdrawn_at=datetime.now(UTC),
                    reason=f"step {step}",
                )
            )
        await asyncio.sleep(gap_s)


async def measure(subjects: int, events: int, rate: float) -> dict[str, object]:
    kafka, mongo = isolated_settings()
    settings = CommonSettings(kafka=kafka, mongo=mongo)
    total = subjects * events
    try:
        async with (
            service_runtime(SERVICE, settings) as rt,
            mongo_client(mongo, "relaybench-probe") as probe_client,
        ):
            probe = service_database(probe_client, mongo, SERVICE)["outbox"]
            before = outbox_commands()
            began = time.monotonic()
            # Each subject writes every subjects/rate seconds, the subjects start 1/rate
            # apart: about `rate` events per second in all.
            gap_s = subjects / rate
            writers = []
            for index in range(subjects):
                writers.append(asyncio.create_task(write_subject(rt, f"S-{index}", events, gap_s)))
                await asyncio.sleep(1 / rate)
            await asyncio.gather(*writers)

            async def all_marked() -> bool:  # a probe on its own client: not counted
                return await probe.count_documents({"status": "pending"}) == 0

            await eventually(all_marked, timeout=120)
            elapsed = time.monotonic() - began
            spent = outbox_commands() - before
    finally:
        await drop_isolated(kafka, mongo)
    return {
        "events": total,
        "seconds": round(elapsed, 1),
        "outbox_commands": dict(spent),
        "per_event": {name: round(n / total, 3) for name, n in sorted(spent.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.outbox_relay")
    parser.add_argument("--subjects", type=int, default=40)
    parser.add_argument("--events", type=int, default=5, help="events per subject")
    parser.add_argument("--rate", type=float, default=20.0, help="events per second in all")
    args = parser.parse_args()
    result = asyncio.run(measure(args.subjects, args.events, args.rate))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
