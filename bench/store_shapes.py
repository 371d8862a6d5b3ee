"""Store CPU per command, by the shape of the services' commands, on a private store.

    .venv/bin/python -m bench.store_shapes                       # every shape, 400 times each
    .venv/bin/python -m bench.store_shapes dossier_save_version dossier_save_id
    .venv/bin/python -m bench.store_shapes --count 1000 -- --cache-size 2G   # server flags

It starts its own ``secantusd-rs`` on a free port over a temporary folder (stopped and
removed at the end; the shared store is never touched), fills collections with the
services' indexes and a few thousand documents of their size, then runs each shape
``--count`` times, one after the other, and prints the store's CPU (user + system, from
psutil) per operation and per command. Shapes come in pairs where a cheaper way to say
the same thing exists, so a change to a query or an update can be measured before it is
made. The figures move with the machine's load: compare shapes of one run, not runs.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
from pymongo import ASCENDING, AsyncMongoClient, ReturnDocument, UpdateOne, monitoring

from infra.store_server import rust_binary
from shared.testing import free_port

PREFILL = 3000
PENDING = 20
# A routing dossier document weighs about 4-5 kB: its model, history and hand-overs.
MODEL = {f"field_{i}": "v" * 40 for i in range(80)}
HANDOVERS = [{"transfer_id": f"T{i}", "from_unit": "U1", "to_unit": "U2"} for i in range(4)]
DOSSIER_INDEXES: list[list[tuple[str, int]]] = [
    [("action_unit", 1), ("state", 1), ("step_due_date", 1), ("_id", 1)],
    [("state", 1), ("step_overdue_raised", 1), ("step_due_date", 1)],
    [("state", 1), ("overdue_raised", 1), ("appointment_date", 1)],
    [("state", 1), ("step_due_soon_raised", 1), ("step_due_date", 1)],
    [("state", 1), ("step_due_date", 1)],
    [("state", 1), ("appointment_date", 1)],
    [("state", 1), ("holding_unit", 1)],
    [("updated_at", 1)],
    [("apologies", 1)],
    [("handovers.requested_at", 1)],
]
Doc = dict[str, Any]
Shape = Callable[[int], Awaitable[None]]


class CommandCount(monitoring.CommandListener):
    """How many commands the client sent."""

    def __init__(self) -> None:
        self.sent = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.sent += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


def now() -> datetime:
    return datetime.now(UTC)


def dossier(code: str) -> Doc:
    return {"_id": code, "version": 1, "state": "PROCESSING", "action_unit": "U1",
            "step_due_date": "2026-12-01", "updated_at": now(), "apologies": 0,
            "handovers": HANDOVERS, "model": MODEL}  # fmt: skip


def outbox_entry(subject: str, seq: int, status: str) -> Doc:
    entry = {"_id": str(uuid.uuid4()), "seq": seq, "topic": "dossier-events", "subject": subject,
             "type": "x.v1", "envelope": "e" * 700, "trace_headers": [], "status": status,
             "created_at": now()}  # fmt: skip
    return entry | ({"sent_at": now()} if status == "sent" else {})


async def prefill(db: Any) -> None:
    """The services' indexes (shared/mongo/outbox.py, inbox.py, routing/store.py)."""
    outbox = db.outbox
    await outbox.create_index([("status", 1), ("created_at", 1), ("_id", 1)])
    await outbox.create_index([("subject", 1), ("seq", 1)], unique=True)
    await outbox.create_index([("status", 1), ("subject", 1), ("seq", 1)])
    await outbox.create_index("sent_at", expireAfterSeconds=7 * 86400)
    await outbox.insert_many([outbox_entry(f"S{i % 500}", i, "sent") for i in range(PREFILL)])
    # What the relay leaves pending at a time when it keeps up.
    await outbox.insert_many([outbox_entry(f"P{i}", 0, "pending") for i in range(PENDING)])
    await db.inbox.create_index([("consumer", 1), ("event_id", 1)], unique=True)
    await db.inbox.create_index("processed_at", expireAfterSeconds=400 * 86400)
    processed = [{"consumer": "c", "event_id": str(uuid.uuid4()), "processed_at": now()}]
    await db.inbox.insert_many(
        [processed[0] | {"event_id": str(uuid.uuid4())} for _ in range(PREFILL)]
    )
    for keys in DOSSIER_INDEXES:
        await db.dossiers.create_index(keys)
    await db.dossiers.insert_many([dossier(f"D{i}") for i in range(PREFILL)])
    await db.counters.insert_many([{"_id": f"outbox:D{i}", "value": 1} for i in range(PREFILL)])
    await db.log_head.insert_one({"_id": "head", "size": 0, "chain_hash": "0"})
    await prefill_notifications(db.notifications)


async def prefill_notifications(notifications: Any) -> None:
    """notification/store.py's indexes; a dozen records pending, three to a millisecond."""
    keys = [("source_event_id", 1), ("recipient_ref", 1), ("channel", 1)]
    await notifications.create_index(keys, unique=True)
    for index in ([("status", 1), ("created_at", 1)], [("dossier_code", 1), ("created_at", 1)]):
        await notifications.create_index(index)
    start = now()

    def record(i: int, status: str, created_at: datetime) -> Doc:
        return {"_id": str(uuid.uuid4()), "source_event_id": str(uuid.uuid4()),
                "recipient_ref": "unit", "channel": "email", "status": status,
                "created_at": created_at, "dossier_code": f"D{i}", "body": "x" * 800}  # fmt: skip

    sent = [record(i, "sent", start - timedelta(seconds=i)) for i in range(PREFILL)]
    pending = [record(i, "pending", start + timedelta(milliseconds=i // 3)) for i in range(12)]
    await notifications.insert_many(sent + pending)


def shapes(db: Any) -> dict[str, Shape]:
    """Each shape: one operation as a service sends it (the file it comes from named)."""

    async def dossier_load(k: int) -> None:  # routing/store.py load
        await db.dossiers.find_one({"_id": f"D{k % PREFILL}"}, {"model": 1, "journey": 1})

    async def dossier_save_version(k: int) -> None:  # routing/store.py save
        code = f"D{k % PREFILL}"
        fields = {"version": k + 2, "updated_at": now(), "model": MODEL}
        await db.dossiers.update_one({"_id": code}, {"$set": {"version": k + 1}})
        await db.dossiers.update_one({"_id": code, "version": k + 1}, {"$set": fields})

    async def dossier_save_id(k: int) -> None:  # the same write without the version check
        code = f"D{k % PREFILL}"
        fields = {"version": k + 2, "updated_at": now(), "model": MODEL}
        await db.dossiers.update_one({"_id": code}, {"$set": {"version": k + 1}})
        await db.dossiers.update_one({"_id": code}, {"$set": fields})

    async def dossier_save_checked(k: int) -> None:  # by _id, the version read back
        code = f"D{k % PREFILL}"
        fields = {"version": k + 2, "updated_at": now(), "model": MODEL}
        await db.dossiers.update_one({"_id": code}, {"$set": {"version": k + 1}})
        before = await db.dossiers.find_one_and_update(
            {"_id": code}, {"$set": fields}, {"version": 1, "_id": 0}
        )
        assert before == {"version": k + 1}

    async def dossier_save_hinted(k: int) -> None:  # with hint="_id_": far slower
        code = f"D{k % PREFILL}"
        fields = {"version": k + 2, "updated_at": now(), "model": MODEL}
        await db.dossiers.update_one({"_id": code}, {"$set": {"version": k + 1}})
        await db.dossiers.update_one({"_id": code, "version": k + 1}, {"$set": fields}, hint="_id_")

    async def counter_find_and_modify(k: int) -> None:  # shared/mongo/sequences.py
        await db.counters.find_one_and_update(
            {"_id": f"outbox:D{k % PREFILL}"}, {"$inc": {"value": 1}},
            upsert=True, return_document=ReturnDocument.AFTER,
        )  # fmt: skip

    async def counter_update(k: int) -> None:  # the same without reading the value back
        await db.counters.update_one(
            {"_id": f"outbox:D{k % PREFILL}"}, {"$inc": {"value": 1}}, upsert=True
        )

    async def outbox_insert(k: int) -> None:  # shared/mongo/outbox.py add_all
        await db.outbox.insert_many(
            [outbox_entry(f"S{k}", 1_000_000 + j, "pending") for j in (0, 1)]
        )

    async def outbox_pending(k: int) -> None:  # outbox.py pending (few pending, many sent)
        by_subject = [("subject", ASCENDING), ("seq", ASCENDING)]
        await db.outbox.find({"status": "pending"}).sort(by_subject).limit(100).to_list()

    async def outbox_mark_sent(k: int) -> None:  # outbox.py mark_sent
        entries = [outbox_entry(f"M{k}", j, "pending") for j in (0, 1)]
        await db.outbox.insert_many(entries)
        ids = [e["_id"] for e in entries]
        update = {"$set": {"status": "sent", "sent_at": now()}}
        await db.outbox.update_many({"_id": {"$in": ids}, "status": "pending"}, update)

    async def outbox_mark_sent_by_id(k: int) -> None:  # one update_one by _id per entry
        entries = [outbox_entry(f"B{k}", j, "pending") for j in (0, 1)]
        await db.outbox.insert_many(entries)
        update = {"$set": {"status": "sent", "sent_at": now()}}
        await db.outbox.bulk_write([UpdateOne({"_id": e["_id"]}, update) for e in entries])

    async def outbox_count_pending(k: int) -> None:  # outbox.py count_pending
        await db.command("count", "outbox", query={"status": "pending"})

    async def outbox_count_documents(k: int) -> None:  # the same as an aggregation
        await db.outbox.count_documents({"status": "pending"})

    async def outbox_oldest_pending(k: int) -> None:  # outbox.py oldest_pending_at
        sort = [("created_at", ASCENDING), ("_id", ASCENDING)]
        await db.outbox.find_one({"status": "pending"}, {"created_at": 1}, sort=sort)

    async def outbox_oldest_pending_tied(k: int) -> None:  # sorted on created_at alone
        sort = [("created_at", ASCENDING)]
        await db.outbox.find_one({"status": "pending"}, {"created_at": 1}, sort=sort)

    async def inbox_claim(k: int) -> None:  # shared/mongo/inbox.py claim_all
        doc = {"consumer": "c", "event_id": str(uuid.uuid4()), "processed_at": now()}
        await db.inbox.insert_many([doc])

    async def inbox_processed_among(k: int) -> None:  # inbox.py processed_among
        ids = [str(uuid.uuid4()) for _ in range(3)]
        query = {"consumer": "c", "event_id": {"$in": ids}}
        await db.inbox.find(query, {"event_id": 1, "_id": 0}).to_list()

    async def audit_move_head(k: int) -> None:  # audit/store.py move_head (size, hash)
        head = {"_id": "head", "size": k, "chain_hash": str(k)}
        await db.log_head.replace_one({"_id": "head"}, head)
        moved = {"size": k + 1, "chain_hash": str(k + 1)}
        await db.log_head.update_one(
            {"_id": "head", "size": k, "chain_hash": str(k)}, {"$set": moved}
        )

    claimable = {
        "$or": [{"status": "pending"}, {"status": "sending", "lease_until": {"$lt": now()}}]
    }

    async def notification_claim_read(k: int) -> None:  # notification/store.py claim_batch
        oldest_first = [("created_at", ASCENDING), ("_id", ASCENDING)]
        await db.notifications.find(claimable).sort(oldest_first).limit(50).to_list()

    async def notification_claim_read_tied(k: int) -> None:  # the same sorted on created_at
        await db.notifications.find(claimable).sort("created_at", ASCENDING).limit(50).to_list()

    async def claim_writes(k: int, check: Callable[[Doc], Doc]) -> None:
        pending = await db.notifications.find({"status": "pending"}).limit(2).to_list()
        await db.notifications.bulk_write(
            [UpdateOne({"_id": d["_id"], **check(d)}, {"$set": {"claim": k}}) for d in pending]
        )

    async def notification_claim_write(k: int) -> None:  # notification/store.py claim_batch
        await claim_writes(k, lambda d: {"lease_until": d.get("lease_until"), **claimable})

    def as_read(d: Doc) -> Doc:
        return {"lease_until": d.get("lease_until"), "status": d["status"]}

    async def notification_claim_write_as_read(k: int) -> None:  # status as read, no $or
        await claim_writes(k, as_read)

    async def notification_claim_write_id(k: int) -> None:  # by _id alone (no check)
        await claim_writes(k, lambda d: {})

    def new_record(k: int) -> Doc:
        return {"_id": f"N{k}", "source_event_id": f"E{k}", "recipient_ref": "unit",
                "channel": "email", "status": "pending", "created_at": now(),
                "dossier_code": f"D{k}", "body": "x" * 800}  # fmt: skip

    async def notification_record_by_key(k: int) -> None:  # notification/store.py record_all
        keys = ("source_event_id", "recipient_ref", "channel")
        docs = [new_record(2 * k + 10**6), new_record(2 * k + 1 + 10**6)]
        await db.notifications.bulk_write(
            [UpdateOne({f: d[f] for f in keys}, {"$setOnInsert": d}, upsert=True) for d in docs]
        )

    async def notification_record_by_id(k: int) -> None:  # the same upserts by _id
        docs = [new_record(2 * k + 10**7), new_record(2 * k + 1 + 10**7)]
        await db.notifications.bulk_write(
            [UpdateOne({"_id": d["_id"]}, {"$setOnInsert": d}, upsert=True) for d in docs]
        )

    async def counter_update_in_transaction(k: int) -> None:  # counter_update, committed
        async with db.client.start_session() as session, await session.start_transaction():
            await counter_update_with(k, session)

    async def counter_update_with(k: int, session: Any = None) -> None:
        await db.counters.update_one(
            {"_id": f"outbox:D{k % PREFILL}"}, {"$inc": {"value": 1}}, session=session
        )

    async def counter_updates_in_transaction(k: int) -> None:  # ten of them, one commit
        async with db.client.start_session() as session, await session.start_transaction():
            for j in range(10):
                await counter_update_with(10 * k + j, session)

    named = [dossier_load, dossier_save_version, dossier_save_id, dossier_save_checked,
             dossier_save_hinted, counter_find_and_modify, counter_update, inbox_claim,
             inbox_processed_among, audit_move_head, notification_claim_read,
             notification_claim_read_tied, outbox_pending, outbox_count_pending,
             outbox_count_documents, outbox_oldest_pending, outbox_oldest_pending_tied,
             outbox_mark_sent, outbox_mark_sent_by_id, outbox_insert, notification_claim_write,
             notification_claim_write_as_read, notification_claim_write_id,
             notification_record_by_key, notification_record_by_id,
             counter_update_in_transaction, counter_updates_in_transaction]  # fmt: skip
    return {shape.__name__: shape for shape in named}


def start_store(flags: list[str]) -> tuple[subprocess.Popen[bytes], int, Path]:
    """A private store on a free port over a temporary folder, ready for commands."""
    port, folder = free_port(), Path(tempfile.mkdtemp(prefix="lt-store-shapes-"))
    argv = [str(rust_binary()), "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--storage-path", str(folder), "--log-level", "WARNING", *flags]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return process, port, folder
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit(f"the store did not listen on {port} within 30 s")


async def relay(db: Any) -> None:
    """Between turns, not measured: mark sent what the shapes left pending, as the relay
    would, so the outbox keeps only its usual few pending entries."""
    mine = {"status": "pending", "subject": {"$not": {"$regex": "^P"}}}
    await db.outbox.update_many(mine, {"$set": {"status": "sent", "sent_at": now()}})


ROUNDS = 10  # the shapes take turns, so a change in the machine's load hits all alike


async def measure(
    store: psutil.Process, port: int, count: int, only: list[str]
) -> list[tuple[str, float, float]]:
    """(shape, store CPU ms per operation, commands per operation) for each shape."""
    counter = CommandCount()
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    client: AsyncMongoClient[Doc] = AsyncMongoClient(uri, tz_aware=True, event_listeners=[counter])
    try:
        db = client.shapes
        await prefill(db)
        chosen = {name: shape for name, shape in shapes(db).items() if not only or name in only}
        cpu = dict.fromkeys(chosen, 0.0)
        sent = dict.fromkeys(chosen, 0)
        for shape in chosen.values():
            for k in range(-20, 0):  # warm up: the first calls open cursors and tables
                await shape(k)
        rounds = max(1, min(ROUNDS, count))
        for turn in range(rounds):
            for name, shape in chosen.items():
                cpu_before, sent_before = sum(store.cpu_times()[:2]), counter.sent
                for k in range(turn * count // rounds, (turn + 1) * count // rounds):
                    await shape(k)
                cpu[name] += sum(store.cpu_times()[:2]) - cpu_before
                sent[name] += counter.sent - sent_before
                await relay(db)
    finally:
        await client.close()
    results = [(name, 1e3 * cpu[name] / count, sent[name] / count) for name in chosen]
    for name, cpu_ms, commands in results:
        print(f"  {name:26} {cpu_ms:7.3f} ms/op  {commands:4.1f} commands/op", flush=True)
    return results


def run(count: int, only: list[str], flags: list[str]) -> list[tuple[str, float, float]]:
    """Measure on a private store started with ``flags``; it is stopped and removed after."""
    process, port, folder = start_store(flags)
    try:
        return asyncio.run(measure(psutil.Process(process.pid), port, count, only))
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.store_shapes", description=__doc__)
    parser.add_argument("shapes", nargs="*", help="only these shapes (default: all)")
    parser.add_argument("--count", type=int, default=400, help="operations per shape")
    parser.add_argument("--cache-size", default="512M", help="the store's --cache-size")
    ours, server_flags = split_server_flags(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(ours)
    known = shapes(None)
    if unknown := sorted(set(args.shapes) - set(known)):
        parser.error(f"unknown shape {', '.join(unknown)}; known: {', '.join(known)}")
    flags = ["--cache-size", args.cache_size, *server_flags]
    print(f"store CPU per operation, secantusd-rs {' '.join(flags)}", flush=True)
    run(args.count, args.shapes, flags)


def split_server_flags(argv: list[str]) -> tuple[list[str], list[str]]:
    """The words before ``--`` (ours) and after it (the store's flags, passed as given):
    argparse alone would take ``-- --cache-size 2G`` for shape names."""
    if "--" not in argv:
        return argv, []
    at = argv.index("--")
    return argv[:at], argv[at + 1 :]


if __name__ == "__main__":
    main()
