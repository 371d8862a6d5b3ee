"""The whole log read from the store, up to a signed checkpoint read first (``--mongo-uri``).

Appends may run meanwhile: the export reads the latest checkpoint first, then only the
entries it covers (``_id`` below its size, all committed before it was signed) and the
checkpoints up to it, then the head, which may only have moved on. So a live log
verifies without false alarms, and entries newer than that checkpoint are left for the
next run (they are protected by the chain alone until a checkpoint covers them).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from audit.domain import format_log_time

Doc = dict[str, Any]
LOG_FORMAT = "lienthong-audit-log/1"


def export_from_mongo(uri: str, database: str) -> Doc:
    """The log up to its latest checkpoint as a ``lienthong-audit-log/1`` document;
    OSError if the store cannot be reached or read."""
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    try:
        return _export(MongoClient(uri, tz_aware=True), database)
    except PyMongoError as exc:
        raise OSError(f"cannot read the audit store: {type(exc).__name__}: {exc}") from None


def _export(client: Any, database: str) -> Doc:
    with client:
        db = client[database]
        latest = db["checkpoints"].find_one({}, sort=[("_id", -1)])
        size = 0 if latest is None else int(latest["_id"])
        entries = [
            entry_from_store(doc)
            for doc in db["entries"].find({"_id": {"$lt": size}}, {"subtrees": 0}).sort("_id")
        ]
        checkpoints = [
            {k: v for k, v in doc.items() if k not in ("_id", "signed_at")}
            for doc in db["checkpoints"].find({"_id": {"$lte": size}}).sort("_id")
        ]
        head = db["log_head"].find_one({"_id": "head"})
    return {
        "format": LOG_FORMAT,
        "entries": entries,
        "checkpoints": checkpoints,
        "head": None if head is None else {"size": head["size"], "chain_hash": head["chain_hash"]},
    }


def entry_from_store(doc: Doc) -> Doc:
    """A stored entry in the verifier's JSON form (the canonical event parsed)."""
    entry = {k: v for k, v in doc.items() if k not in ("_id", "canonical", "subtrees")}
    entry["index"] = doc["_id"]
    logged_at = doc.get("logged_at")
    entry["logged_at"] = (
        format_log_time(logged_at) if isinstance(logged_at, datetime) else str(logged_at)
    )
    try:
        entry["event"] = json.loads(doc.get("canonical", ""))
    except ValueError:
        entry["event"] = doc.get("canonical")  # reported as "not a JSON object"
    return entry
