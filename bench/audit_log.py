"""Scenario: the audit log against the local store: appends, proofs, verification.

    .venv/bin/python -m bench.audit_log [--events 2000] [--concurrency 1]

Appends run as the consumer runs them: one transaction per event with the inbox
claim, the log head and the entry, each appender remembering the log's tail
(``--concurrency`` > 1 adds competing appenders, as several instances would, each of
which then finds its tail stale). It then times inclusion proofs and roots served from
the stored subtrees, and the offline verifier over the whole log. A scratch
database is created and dropped. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from datetime import UTC, datetime

from audit.appender import LogAppender
from audit.domain import format_log_time, sign_checkpoint
from audit.dossier_heads import index_at
from audit.dossier_index import DossierIndex
from audit.evidence import Evidence
from audit.export import export_from_mongo
from audit.keys import SigningKey
from audit.store import AuditStore
from audit.trust import PinnedKey, TrustPolicy
from audit.verify import verify_document
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.common import Report
from shared.clock import SystemClock
from shared.envelope import Envelope
from shared.events.dossier import DossierState, StepOutcome
from shared.events.handover import StepCompleted
from shared.events.registry import make_envelope
from shared.mongo.client import Session, mongo_client, run_in_transaction
from shared.mongo.inbox import Inbox
from shared.settings import MongoSettings


def sample_event(i: int) -> Envelope:
    data = StepCompleted(
        dossier_code=f"000.00.01.H59-261126-{i % 500:04d}",
        state=DossierState.PROCESSING,
        holding_unit="000.00.20.H59",
        step_index=1,
        unit="000.00.20.H59",
        outcome=StepOutcome.APPROVE,
        completed_at=datetime(2026, 11, 26, 9, tzinfo=UTC),
    )
    return make_envelope(data, source="/lienthong/bench")


SCENARIO = "audit log"


async def run(report: Report, events: int = 1000, concurrency: int = 1) -> None:
    """Append ``events`` with ``concurrency`` appenders, then time proofs and verification."""
    await measure(report, events, concurrency, MongoSettings())


async def measure(report: Report, events: int, concurrency: int, settings: MongoSettings) -> None:
    name = f"bench_audit_{uuid.uuid4().hex[:8]}"
    clock = SystemClock()
    async with mongo_client(settings, "audit-bench") as client:
        db = client[name]
        store, inbox = AuditStore(db), Inbox(db)
        await store.ensure_indexes()
        await inbox.ensure_indexes()
        queue = [sample_event(i) for i in range(events)]

        async def appender() -> None:
            log = LogAppender(store, clock)
            while queue:
                event = queue.pop()

                async def work(session: Session, event: Envelope = event) -> None:
                    await inbox.claim("bench", event, session, clock.now())
                    await log.append([event], session)

                await run_in_transaction(client, work)

        try:
            started = time.perf_counter()
            await asyncio.gather(*(appender() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
            report.add(
                SCENARIO, f"appends ({concurrency} appender(s))", events / elapsed, "entries/s"
            )

            key = SigningKey.of(Ed25519PrivateKey.generate())
            trust = TrustPolicy("bench", (PinnedKey(key.verifier("bench")),), (), 0)
            views = Evidence(store, "bench", trust, clock)
            picks = [random.randrange(events) for _ in range(200)]
            started = time.perf_counter()
            for index in picks:
                await views.inclusion_paths([index], events)
            per_proof = (time.perf_counter() - started) / len(picks) * 1000
            report.add(SCENARIO, f"inclusion proof at size {events}", per_proof, "ms")

            async def sign(session: Session) -> None:  # the verifier reads up to a checkpoint
                root = (await views.root_at(events)).hex()
                index = await index_at(DossierIndex(), store, events, session)
                signed = sign_checkpoint(
                    key.signer("bench"),
                    events,
                    root,
                    format_log_time(clock.now()),
                    index.commitment().value(),
                )
                await store.insert_checkpoint(signed, clock.now(), session)

            started = time.perf_counter()
            await run_in_transaction(client, sign)
            report.add(
                SCENARIO,
                f"sign a checkpoint with its dossier index built from {events} entries",
                (time.perf_counter() - started) * 1000,
                "ms",
            )
            started = time.perf_counter()
            doc = await asyncio.to_thread(export_from_mongo, settings.uri, name)
            read = time.perf_counter() - started
            started = time.perf_counter()
            verify_document(doc, trust)  # raises at the first problem
            checked = time.perf_counter() - started
            report.add(SCENARIO, f"export {events} entries for the verifier", read * 1000, "ms")
            report.add(SCENARIO, f"offline verification of {events} entries", checked * 1000, "ms")
        finally:
            await client.drop_database(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(run(Report(), args.events, args.concurrency))


if __name__ == "__main__":
    main()
