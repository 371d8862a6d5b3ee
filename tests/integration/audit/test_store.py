"""The log's store on the real database: idempotent, gap-free under concurrency, proofs right."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from audit.domain import format_log_time, sign_checkpoint
from audit.evidence import Evidence
from audit.export import export_from_mongo
from audit.handlers import append_event, append_events
from audit.keys import SigningKey
from audit.store import AuditStore
from audit.trust import PinnedKey, TrustPolicy
from audit.verify import main, verify_document
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.clock import ManualClock
from shared.envelope import Envelope
from shared.events import parse_data
from shared.mongo.client import Client, Session, mongo_client, run_in_transaction, service_database
from shared.runtime import CommonSettings
from shared.transparency import merkle
from tests.integration.audit.journey import journey

NOW = datetime(2026, 11, 26, 9, tzinfo=UTC)


@pytest.fixture
async def client(common_settings: CommonSettings) -> AsyncIterator[Client]:
    async with mongo_client(common_settings.mongo, "audit-tests") as client:
        yield client


@pytest.fixture
async def store(client: Client, common_settings: CommonSettings) -> AuditStore:
    store = AuditStore(service_database(client, common_settings.mongo, "audit"))
    await store.ensure_indexes()
    return store


async def append(client: Client, store: AuditStore, event: Envelope) -> int | None:
    """Append in a transaction of its own, as the consumer runner would (without its inbox)."""

    async def work(session: Session) -> int | None:
        return await append_event(
            event, parse_data(event), session, store=store, clock=ManualClock(NOW)
        )

    return await run_in_transaction(client, work)


async def sign(client: Client, store: AuditStore, key: SigningKey) -> int:
    """Sign the log as it is now (as the checkpoint task does); its size."""

    async def work(session: Session) -> int:
        head = await store.head(session)
        root = merkle.Frontier(head.peaks).root().hex()
        checkpoint = sign_checkpoint(key.signer("log"), head.size, root, format_log_time(NOW))
        await store.insert_checkpoint(checkpoint, NOW, session)
        return head.size

    return await run_in_transaction(client, work)


def events(count: int) -> list[Envelope]:
    found: list[Envelope] = []
    while len(found) < count:
        found.extend(journey(f"D-{len(found)}"))
    return found[:count]


async def test_the_same_event_is_appended_once_even_without_the_inbox(
    client: Client, store: AuditStore
) -> None:
    event = journey("I-1")[0]
    assert await append(client, store, event) == 0
    assert await append(client, store, event) is None
    assert (await store.head()).size == 1


async def test_concurrent_appends_get_gap_free_indices_and_one_chain(
    client: Client, store: AuditStore, common_settings: CommonSettings, tmp_path: Path
) -> None:
    batch = events(24)
    indices = await asyncio.gather(*(append(client, store, e) for e in batch))
    assert sorted(i for i in indices if i is not None) == list(range(len(batch)))
    key = SigningKey.of(Ed25519PrivateKey.generate())
    assert await sign(client, store, key) == len(batch)
    trust = TrustPolicy("log", (PinnedKey(key.verifier("log")),), (), 0)
    trust_file = tmp_path / "trust.json"
    trust_file.write_bytes(trust.file_bytes())
    database = f"{common_settings.mongo.database_prefix}audit"
    export = tmp_path / "log.json"
    args = [
        "--trust",
        str(trust_file),
        "--mongo-uri",
        common_settings.mongo.uri,
        "--database",
        database,
        "--export",
        str(export),
    ]
    assert await asyncio.to_thread(main, args) == 0
    # the saved export, offline
    assert await asyncio.to_thread(main, ["--trust", str(trust_file), str(export)]) == 0
    doc = await asyncio.to_thread(export_from_mongo, common_settings.mongo.uri, database)
    # Concurrent appends of one dossier's events still link each to the one before.
    assert verify_document(doc, trust).startswith(
        f"log log: {len(batch)} entries, chain and dossier links intact"
    )


async def test_proofs_from_stored_subtrees_equal_proofs_from_all_leaves(
    client: Client, store: AuditStore
) -> None:
    for event in events(37):
        await append(client, store, event)
    leaves = [bytes.fromhex(d["leaf_hash"]) for d in await store.find_entries(limit=100)]
    views = Evidence(store, "log", TrustPolicy("log", (), (), 0), ManualClock(NOW))
    for size in range(1, 38):
        assert await views.root_at(size) == merkle.root(leaves[:size])
        paths = await views.inclusion_paths(list(range(size)), size)
        assert paths == {i: merkle.inclusion_proof(leaves, i, size) for i in range(size)}
    for old in range(1, 38):
        proof = await views.consistency(old, 37)
        assert proof["proof"] == [h.hex() for h in merkle.consistency_proof(leaves, old, 37)]


async def test_a_batch_is_appended_in_order_once_each_with_chain_and_links_intact(
    client: Client, store: AuditStore, common_settings: CommonSettings
) -> None:
    batch = events(30)  # several dossiers' journeys: a batch holds each one's events in order
    assert await append(client, store, batch[3]) == 0  # logged before the batch arrives

    async def work(session: Session) -> list[int | None]:
        with_repeat = [*batch[:10], batch[5], *batch[10:]]  # one event twice in the batch
        return await append_events(with_repeat, session, store=store, clock=ManualClock(NOW))

    indices = await run_in_transaction(client, work)

    assert indices[3] is None and indices[10] is None  # logged already; repeated in the batch
    assert [i for i in indices if i is not None] == list(range(1, 30))  # gap-free, in order
    assert (await store.head()).size == 30
    logged = [d["event_id"] for d in await store.find_entries(limit=100)]
    assert logged == [batch[3].id] + [e.id for e in batch if e.id != batch[3].id]
    key = SigningKey.of(Ed25519PrivateKey.generate())
    assert await sign(client, store, key) == 30
    trust = TrustPolicy("log", (PinnedKey(key.verifier("log")),), (), 0)
    database = f"{common_settings.mongo.database_prefix}audit"
    doc = await asyncio.to_thread(export_from_mongo, common_settings.mongo.uri, database)
    assert verify_document(doc, trust).startswith("log log: 30 entries, chain and dossier links")
