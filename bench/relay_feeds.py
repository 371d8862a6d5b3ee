"""What the agency feeds cost the outbox relay: CPU per published entry, side by side.

    .venv/bin/python -m bench.relay_feeds --compare PYTHONPATH=/work/main:/work/main/services
    .venv/bin/python -m bench.relay_feeds --audience 0 --audience 2   # this checkout only

Each variant is a worker process of its own, all running at the same moment (timings on a
shared machine taken one after the other differ by a third). A worker publishes batches
of outbox entries as the relay does (``OutboxRelay._publish``: the entries' messages, the
feed copies included, in one ``publish_batch``, acks awaited) to the local broker, under
a topic prefix of its own (the feeds of its units created first, removed afterwards), and
prints this process's CPU per entry (``time.process_time``: our code and aiokafka's) and
the records produced per entry. The facts are routing's hand-over facts, each named for
``--audience`` units (0: no copy, the relay before feeds). No store: the relay's store
work (the outbox read and marks) is the same with or without feeds, one round trip each
per batch.

``--compare PYTHONPATH=<checkout>:<checkout>/services`` adds a worker running this file
against another checkout's ``shared`` (e.g. main, before feeds: its entries have no
audience), beside this checkout's workers.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

os.environ.setdefault("LT_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")  # the local broker
ROOT = Path(__file__).resolve().parent.parent
UNITS = ["001.21.31.H59", "000.00.31.H59", "000.00.09.H59", "001.22.31.H59"]


async def worker(audience: int, batches: int, batch_size: int, rounds: int) -> dict[str, Any]:
    from shared import testing
    from shared.clock import SystemClock
    from shared.events.dossier import DossierState
    from shared.events.handover import TransferRequested
    from shared.events.registry import make_envelope
    from shared.kafka.admin import delete_topics, ensure_topics
    from shared.kafka.publisher import kafka_publisher
    from shared.mongo import outbox as outbox_module
    from shared.mongo.relay import OutboxRelay
    from shared.settings import OutboxSettings
    from shared.testing import isolated_settings
    from shared.topics import ALL_TOPICS

    kafka, _ = isolated_settings()
    feeds = []
    if audience:
        from shared.topics import agency_events

        feeds = [agency_events(unit) for unit in UNITS[:audience]]
    await ensure_topics(kafka, (*ALL_TOPICS, *feeds))
    digest = hashlib.sha256(b"documents").hexdigest()

    def entry(n: int) -> Any:
        fact = TransferRequested(
            dossier_code=f"001.21.31.H59-260302-{n:06d}",
            state=DossierState.IN_TRANSFER,
            holding_unit=UNITS[0],
            transfer_id=f"t{n}",
            step_index=1,
            step_name="Thẩm định hồ sơ đất đai",
            from_unit=UNITS[0],
            to_unit=UNITS[1],
            requested_at=datetime.now(UTC),
            step_due_date=date(2026, 3, 12),
            documents_hash=digest,
        )
        envelope = make_envelope(fact, source="/lienthong/routing")
        headers = [("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]
        # Where the entry types live depends on the checkout measured (--compare).
        pending: Any = vars(outbox_module)["PendingEvent"]
        event = (
            pending(envelope, headers, tuple(UNITS[:audience]))
            if audience
            else pending(envelope, headers)
        )
        entry_type: Any = vars(outbox_module)["OutboxEntry"]
        return entry_type.of(event, 1)

    # Every feed exists: nothing is held. (A checkout from before held copies has none.)
    held_copies = [testing.MemoryFeedBacklog()] if hasattr(testing, "MemoryFeedBacklog") else []
    per_round: list[float] = []
    try:
        async with kafka_publisher(kafka, "relaybench") as publisher:
            relay = cast(Any, OutboxRelay)(  # the held copies' argument, if it has one
                cast(Any, None),
                cast(Any, None),
                publisher,
                OutboxSettings(),
                SystemClock(),
                "relaybench",
                cast(Any, None),
                *held_copies,
                kafka.topic_prefix,
            )
            n = 0
            for round_ in range(rounds + 1):  # the first warms up (metadata, feeds)
                entries = [[entry(n + i) for i in range(batch_size)] for _ in range(batches)]
                n += batches * batch_size
                began = time.process_time()
                for batch in entries:
                    await relay._publish(batch)
                if round_:
                    spent = time.process_time() - began
                    per_round.append(spent / (batches * batch_size) * 1e6)
    finally:
        await delete_topics(kafka)
    return {
        "audience": audience,
        "records_per_entry": 1 + audience,
        "cpu_us_per_entry_median": round(statistics.median(per_round), 1),
        "cpu_us_per_entry_rounds": [round(v, 1) for v in per_round],
    }


def spawn(env_extra: dict[str, str], audience: int, args: argparse.Namespace) -> Any:
    """A worker: this file run as a script from a folder of its own (``bench/`` holds
    modules named like the standard library's), importing ``shared`` from PYTHONPATH."""
    env = {**os.environ, **env_extra}
    script = Path(tempfile.mkdtemp(prefix="relay-feeds-")) / "relay_feeds_worker.py"
    shutil.copy(Path(__file__).resolve(), script)
    command = [
        sys.executable,
        str(script),
        "--worker",
        "--audience",
        str(audience),
        "--batches",
        str(args.batches),
        "--batch-size",
        str(args.batch_size),
        "--rounds",
        str(args.rounds),
    ]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.relay_feeds", description=__doc__)
    parser.add_argument("--audience", type=int, action="append", default=[])
    parser.add_argument("--compare", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        [audience] = args.audience
        result = asyncio.run(worker(audience, args.batches, args.batch_size, args.rounds))
        print(json.dumps(result))
        return
    audiences = args.audience or [0, 2]
    here = {"PYTHONPATH": f"{ROOT}:{ROOT / 'services'}"}
    variants = {f"this checkout, audience {a}": spawn(here, a, args) for a in audiences}
    if args.compare:
        other = dict(item.split("=", 1) for item in args.compare)
        variants[f"compared ({', '.join(args.compare)})"] = spawn(other, 0, args)
    for name, process in variants.items():
        out, _ = process.communicate(timeout=900)
        if process.returncode != 0:
            print(f"== {name}: failed ({process.returncode})")
            continue
        print(f"== {name}")
        print(out.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
