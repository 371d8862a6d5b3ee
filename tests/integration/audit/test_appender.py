"""The appender on the real store: two writes per run, and a stale tail never forks the log.

The appender remembers the log's tail (head, dossier links, dossier keys) between runs.
These tests count its round trips, and make the tail stale in each way it can be (another
writer appended, the last append was rolled back, an erased key) to show that the log
stays one gap-free chain with intact dossier links either way.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from audit import personal
from audit.appender import LogAppender, PersonalData
from audit.domain import format_log_time, sign_checkpoint
from audit.dossier_keys import DossierKeys
from audit.export import export_from_mongo
from audit.key_wrapping import KeyWrapping
from audit.keys import SigningKey
from audit.store import AuditStore
from audit.trust import PinnedKey, TrustPolicy
from audit.verify import verify_document
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pymongo import AsyncMongoClient, monitoring

from shared.clock import ManualClock
from shared.envelope import Envelope
from shared.events.registry import make_envelope, parse_data
from shared.mongo.client import Client, Session, credentials, run_in_transaction
from shared.runtime import CommonSettings
from shared.transparency import merkle
from tests.integration.audit.journey import journey

NOW = datetime(2026, 11, 26, 9, tzinfo=UTC)
PATHS = ["data.note"]
WRAPPING = KeyWrapping(bytes(range(32)))


class Commands(monitoring.CommandListener):
    """The client's commands as ``collection:command``, in order."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        self.seen.append(f"{target if isinstance(target, str) else ''}:{event.command_name}")

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None

    def since(self, mark: int) -> Counter[str]:
        return Counter(self.seen[mark:])


class RolledBack(Exception):
    """Raised inside a transaction to drop it after the append."""


@pytest.fixture
def commands() -> Commands:
    return Commands()


@pytest.fixture
async def client(common_settings: CommonSettings, commands: Commands) -> AsyncIterator[Client]:
    settings = common_settings.mongo
    client: Client = AsyncMongoClient(
        settings.uri, tz_aware=True, event_listeners=[commands], **credentials(settings)
    )
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def database(common_settings: CommonSettings) -> str:
    return f"{common_settings.mongo.database_prefix}audit"


@pytest.fixture
async def store(client: Client, database: str) -> AuditStore:
    store = AuditStore(client[database])
    await store.ensure_indexes()
    return store


@pytest.fixture
def appender(client: Client, database: str, store: AuditStore) -> LogAppender:
    return LogAppender(
        store, ManualClock(NOW), PersonalData(DossierKeys(client[database], WRAPPING), PATHS)
    )


async def append(client: Client, appender: LogAppender, events: list[Envelope]) -> list[int | None]:
    async def work(session: Session) -> list[int | None]:
        return await appender.append(events, session)

    return await run_in_transaction(client, work)


def with_note(event: Envelope) -> Envelope:
    """The event with a personal note (sealed under its dossier's key in the log)."""
    data = parse_data(event).model_copy(update={"note": "ghi chú riêng"})
    return make_envelope(data, source=event.source, time=event.time, event_id=event.id)


async def verified(client: Client, store: AuditStore, uri: str, database: str) -> str:
    """The whole log signed as it is, then checked by the offline verifier: every hash,
    chain and dossier link."""
    key = SigningKey.of(Ed25519PrivateKey.generate())

    async def sign(session: Session) -> None:
        head = await store.head(session)
        root = merkle.Frontier(head.peaks).root().hex()
        checkpoint = sign_checkpoint(key.signer("log"), head.size, root, format_log_time(NOW))
        await store.insert_checkpoint(checkpoint, NOW, session)

    await run_in_transaction(client, sign)
    doc = await asyncio.to_thread(export_from_mongo, uri, database)
    return verify_document(doc, TrustPolicy("log", (PinnedKey(key.verifier("log")),), (), 0))


async def test_a_run_on_a_warm_tail_moves_the_head_and_inserts_its_entries_nothing_else(
    client: Client, appender: LogAppender, commands: Commands, store: AuditStore, database: str
) -> None:
    db = client[database]
    a, b = journey("W-1"), journey("W-2")
    await append(client, appender, [a[0], b[0]])  # the first: reads the head and links

    mark = len(commands.seen)
    assert await append(client, appender, [a[1], b[1], a[2], a[3]]) == [2, 3, 4, 5]
    assert commands.since(mark) == Counter(
        {"log_head:update": 1, "entries:insert": 1, ":commitTransaction": 1}
    )

    # A new dossier: its link is read once. A dossier the tail has seen from its first
    # entry has no key until its first personal event, which makes one (no read); later
    # ones seal with the key remembered.
    mark = len(commands.seen)
    c = journey("W-3")
    assert await append(client, appender, [c[0], with_note(a[4])]) == [6, 7]
    assert commands.since(mark) == Counter(
        {
            "entries:aggregate": 1,
            "dossier_keys:insert": 1,
            "log_head:update": 1,
            "entries:insert": 1,
            ":commitTransaction": 1,
        }
    )
    mark = len(commands.seen)
    assert await append(client, appender, [with_note(a[5])]) == [8]
    assert "dossier_keys:find" not in commands.since(mark)

    # After a restart the tail knows nothing: the dossier's key is read, once.
    restarted = LogAppender(store, ManualClock(NOW), PersonalData(DossierKeys(db, WRAPPING), PATHS))
    mark = len(commands.seen)
    assert await append(client, restarted, [with_note(c[4])]) == [9]
    assert commands.since(mark)["dossier_keys:find"] == 1


async def sealed_key_id(store: AuditStore, index: int) -> str:
    """The id of the key the entry's note is sealed under."""
    logged = json.loads((await store.entry(index) or {})["canonical"])
    return str(logged["data"]["note"]["key"])


async def test_after_an_erasure_here_or_by_another_instance_a_new_key_seals(
    client: Client, appender: LogAppender, store: AuditStore, database: str
) -> None:
    keys = DossierKeys(client[database], WRAPPING)
    other = LogAppender(store, ManualClock(NOW), PersonalData(keys, PATHS))
    events = journey("E-1")

    async def erase(by: LogAppender, record: Envelope) -> None:
        async def work(session: Session) -> None:
            assert await keys.erase("E-1", NOW, session) is not None
            by.forget_key("E-1")
            await by.append([record], session)  # the erasure is logged with it

        await run_in_transaction(client, work)

    async def live_key_id() -> str:
        key = (await keys.keys({"E-1"}))["E-1"]
        assert key is not None
        return personal.key_id(key)

    assert await append(client, appender, [with_note(events[0])]) == [0]
    first = await live_key_id()
    await erase(appender, events[1])
    assert await append(client, appender, [with_note(events[4])]) == [2]
    second = await live_key_id()
    await erase(other, events[2])
    assert await append(client, appender, [with_note(events[5])]) == [4]
    third = await live_key_id()

    assert len({first, second, third}) == 3
    assert [await sealed_key_id(store, i) for i in (0, 2, 4)] == [first, second, third]


async def test_another_writer_makes_the_tail_stale_and_the_chain_and_links_stay_intact(
    client: Client,
    appender: LogAppender,
    store: AuditStore,
    common_settings: CommonSettings,
    database: str,
) -> None:
    events = journey("O-1")
    other = LogAppender(store, ManualClock(NOW))  # another instance of the service
    assert await append(client, appender, events[:2]) == [0, 1]
    assert await append(client, other, events[2:4]) == [2, 3]
    assert await append(client, appender, events[4:6]) == [4, 5]
    assert await append(client, other, events[6:]) == list(range(6, len(events)))

    assert (await store.head()).size == len(events)
    assert (await verified(client, store, common_settings.mongo.uri, database)).startswith(
        f"log log: {len(events)} entries, chain and dossier links intact"
    )
    entries = await store.find_entries(subject="O-1")
    assert [e["subject_count"] for e in entries] == list(range(1, len(events) + 1))


async def test_a_rolled_back_append_is_not_remembered(
    client: Client,
    appender: LogAppender,
    store: AuditStore,
    common_settings: CommonSettings,
    database: str,
) -> None:
    events = journey("B-1")
    run = [with_note(events[4]), events[5]]
    assert await append(client, appender, events[:4]) == [0, 1, 2, 3]

    async def dropped(session: Session) -> None:
        await appender.append(run, session)
        raise RolledBack

    with pytest.raises(RolledBack):
        await run_in_transaction(client, dropped)

    assert await append(client, appender, run) == [4, 5]
    assert [e["event_id"] for e in await store.find_entries()] == [e.id for e in events[:6]]
    assert (await verified(client, store, common_settings.mongo.uri, database)).startswith(
        "log log: 6 entries, chain and dossier links intact"
    )
    # Sealed under the key the store keeps, not under the one made in the dropped append.
    key = (await DossierKeys(client[database], WRAPPING).keys({"B-1"}))["B-1"]
    logged = json.loads((await store.entry(4) or {})["canonical"])
    assert personal.unseal(logged, key) == {"data.note": "ghi chú riêng"}


async def test_an_event_already_logged_fails_its_run_and_the_retry_leaves_it_out(
    client: Client, appender: LogAppender, store: AuditStore
) -> None:
    events = journey("L-1")
    assert await append(client, appender, events[:2]) == [0, 1]
    fresh = LogAppender(store, ManualClock(NOW))  # knows nothing: after a restart

    with pytest.raises(Exception, match="duplicate key"):
        await append(client, fresh, [events[1], events[2]])  # the inbox forgot events[1]
    assert await append(client, fresh, [events[1], events[2]]) == [None, 2]
    assert [e["event_id"] for e in await store.find_entries()] == [e.id for e in events[:3]]
