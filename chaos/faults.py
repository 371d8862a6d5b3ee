"""The faults of the matrix, one per scenario, injected while journeys are under way.

Each fault returns when it is over (the process restarted, the broker or store back,
the store fast again, the receivers fixed) and notes what it observed; a broken
expectation during the fault (a service that should be ready but is not) is noted as
a ``violation`` and fails the scenario like a lost dossier.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from unittest.mock import patch

import httpx
from aiokafka import AIOKafkaProducer

from chaos.servers import LatencyProxy, PrivateInfra, WebhookReceiver
from chaos.system import SERVICES, System
from shared.events.dossier import DossierState
from shared.events.registry import make_envelope
from shared.events.withdrawal import DossierWithdrawn
from shared.mongo import outbox_entry
from shared.mongo.client import Session, mongo_client, run_in_transaction, service_database
from shared.mongo.outbox import Outbox
from shared.settings import MongoSettings
from shared.topics import ALL_TOPICS, DEAD_LETTERS, topic_name

POISON = b"\x00\xffnot an envelope {"
POISON_KEY, OVERSIZED_KEY = "CHAOS-POISON", "CHAOS-OVERSIZED"
# Dead letters these faults cause on purpose, by key: never unexpected, even when late.
FAULT_KEYS = frozenset({POISON_KEY, OVERSIZED_KEY})
OVERSIZED_BYTES = 1_200_000  # over the producer's and the broker's 1 MB record limit


@dataclass
class Stage:
    """What a fault may touch, and what it noticed."""

    system: System
    store: MongoSettings  # the store as the harness reaches it (never through the proxy)
    proxy: LatencyProxy | None = None
    broker: PrivateInfra | None = None
    private_store: PrivateInfra | None = None
    receivers: dict[str, WebhookReceiver] = field(default_factory=dict)
    progress: Callable[[], int] = lambda: 0  # routing actions done so far in the scenario
    notes: list[str] = field(default_factory=list)
    killed: set[str] = field(default_factory=set)  # services killed with -9
    violations: list[str] = field(default_factory=list)
    expected_dead_letters: int = 0  # with the key below
    dead_letter_key: str | None = None

    def kill(self, name: str) -> None:
        """``kill -9`` a service's process, remembered for the checks (its crash window)."""
        self.system.kill(name)
        self.killed.add(name)


Fault = Callable[[Stage], Awaitable[None]]


async def mid_stream(stage: Stage, actions: int = 6, timeout_s: float = 60) -> None:
    """Wait until the journeys are really under way (bounded)."""
    deadline = time.monotonic() + timeout_s
    start = stage.progress()
    # Polls the driver's counter (another task's progress), bounded by the deadline.
    while stage.progress() - start < actions and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)


async def nothing(stage: Stage) -> None:
    """The control row: the same stream with no fault."""
    await mid_stream(stage)


def kill_and_restart(*names: str) -> Fault:
    async def fault(stage: Stage) -> None:
        await mid_stream(stage)
        for name in names:
            stage.kill(name)
        stage.notes.append(f"kill -9 {', '.join(names)}")
        await asyncio.sleep(1)  # a supervisor's restart delay
        for name in names:
            stage.system.start(name)

    fault.__name__ = f"kill_{'_'.join(names)}"
    return fault


async def broker_outage(stage: Stage) -> None:
    assert stage.broker is not None
    await mid_stream(stage)
    await stage.broker.stop()
    stage.notes.append("broker stopped")
    await asyncio.sleep(3)
    code, status = await _readiness(stage, "intake")
    if (code, status) != (200, "degraded"):
        stage.violations.append(f"intake readiness during the broker outage: {code} {status}")
    else:
        stage.notes.append("intake ready (degraded) without the broker")
    await asyncio.sleep(4)
    await stage.broker.start()


async def store_outage(stage: Stage) -> None:
    assert stage.private_store is not None
    await mid_stream(stage)
    await stage.private_store.stop()
    stage.notes.append("store stopped")
    await asyncio.sleep(4)
    for service in SERVICES:
        code, _ = await _readiness(stage, service)
        if code != 503:
            stage.violations.append(f"{service} answered {code} on /readyz without the store")
        if not stage.system[service].alive():
            stage.violations.append(f"{service} died during the store outage")
    stage.notes.append("every service up and not ready without the store")
    await asyncio.sleep(3)
    await stage.private_store.start()


async def poison_every_topic(stage: Stage) -> None:
    await mid_stream(stage, actions=3)
    kafka = stage.system.kafka
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()
    # Every topic but the dead letters themselves. The agency commands topics exist only
    # on a secured broker; on this plaintext one routing reads the shared dossier.commands.
    poisoned = [spec for spec in ALL_TOPICS if spec != DEAD_LETTERS]
    try:
        for spec in poisoned:
            await producer.send_and_wait(
                topic_name(kafka.topic_prefix, spec), POISON, key=POISON_KEY.encode()
            )
    finally:
        await producer.stop()
    # Each group reading a topic dead-letters it once: dossier.events (intake, routing,
    # notification, audit), dossier.commands (routing),
    # notification.events (notification, audit), applicant.contacts (notification),
    # operations.events (notification, audit); no service reads audit.events. Routing
    # answers a broken command with a refusal event, but only one whose envelope it can
    # read: the poison is not JSON at all, so it is dead-lettered there too.
    stage.expected_dead_letters, stage.dead_letter_key = 10, POISON_KEY
    stage.notes.append(f"poison on {', '.join(spec.name for spec in poisoned)}")


async def rebalance(stage: Stage) -> None:
    system = stage.system
    for service in ("routing", "audit"):
        twin = system.instance(service, f"{service}-2")
        system.start(twin.name)
    await system.wait_ready(["routing-2", "audit-2"])
    stage.notes.append("second routing and audit instance joined their groups")
    await mid_stream(stage)
    stage.kill("routing")
    stage.kill("audit")
    stage.notes.append("kill -9 the first routing and audit instance")
    await asyncio.sleep(4)  # the group notices and hands the partitions to the twins
    system.start("routing")
    system.start("audit")
    await system.wait_ready(["routing", "audit"])
    for name in ("routing-2", "audit-2"):
        took = system.terminate(name)
        stage.notes.append(f"{name} stopped gracefully in {took:.1f} s")


async def webhooks_misbehave(stage: Stage) -> None:
    hanging, flaky = stage.receivers["hanging"], stage.receivers["flaky"]
    hanging.hang_s, flaky.fail_next = 4.0, 6
    await mid_stream(stage)
    await asyncio.sleep(6)
    hanging.hang_s = 0.0
    stage.notes.append(
        f"hanging receiver got {hanging.requests} requests, flaky answered 500 "
        f"{6 - flaky.fail_next} times"
    )
    flaky.fail_next = 0


async def oversized_outbox_entry(stage: Stage) -> None:
    await mid_stream(stage, actions=3)
    mongo = stage.store.model_copy(update={"database_prefix": stage.system.mongo.database_prefix})
    async with mongo_client(mongo, "chaos") as client:
        outbox = Outbox(service_database(client, mongo, "routing"))
        event = make_envelope(
            DossierWithdrawn(
                dossier_code=OVERSIZED_KEY,
                state=DossierState.WITHDRAWN,
                holding_unit="001.21.31.H59",
                withdrawn_at=datetime.now(UTC),
                reason="x" * OVERSIZED_BYTES,
            ),
            source="/lienthong/routing",
        )

        async def write(session: Session) -> None:
            await outbox.add(event, session, datetime.now(UTC))

        # The outbox refuses such an event before writing it; the relay must still cope
        # with one the broker refuses (a topic's smaller limit, an entry of an older
        # version): written here with the outbox's own bound set aside.
        with patch.object(outbox_entry, "MAX_EVENT_BYTES", 10 * OVERSIZED_BYTES):
            await run_in_transaction(client, write)
        stage.notes.append("a 1.2 MB entry put in routing's outbox")
        stage.expected_dead_letters, stage.dead_letter_key = 1, OVERSIZED_KEY
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            entries = await outbox.entries_for(OVERSIZED_KEY)
            if entries and entries[0]["status"] == "quarantined":
                stage.notes.append("quarantined: " + str(entries[0]["reason"])[:60])
                return
            await asyncio.sleep(0.3)
    stage.violations.append("the oversized entry was never quarantined")


async def slow_store(stage: Stage) -> None:
    assert stage.proxy is not None
    await mid_stream(stage)
    stage.proxy.delay_s = 2.5
    stage.notes.append("store replies delayed 2.5 s each (transactions time out at 8 s)")
    await asyncio.sleep(10)
    stage.proxy.delay_s = 0.0


async def _readiness(stage: Stage, name: str) -> tuple[int, str]:
    async with httpx.AsyncClient() as client:
        return await stage.system.readiness(client, name)
