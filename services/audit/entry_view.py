"""One log entry as the auditor's API and bundles show it: the event and every hash of
it, checked against its own hashes first; ``LogDamaged`` when the store's copy is
missing or no longer matches.
"""

from __future__ import annotations

import json
from typing import Any

from audit.domain import entry_problem, format_log_time
from shared.mongo.client import Document
from shared.refusals import Refused


class LogDamaged(Refused):
    """An entry the answer needs is missing from the store or does not match its hashes.

    Not the client's fault, but not an unexpected error either: the log itself reports
    the damage, with the index, so the auditor knows where to look.
    """

    def __init__(self, detail: str, *, index: int | None) -> None:
        super().__init__("log_damaged", detail, index=index)


def entry_view(doc: Document) -> dict[str, Any]:
    """An entry as the API and bundles show it: the event and every hash of it.

    LogDamaged if the stored entry is malformed or no longer matches its own hashes.
    """
    index = doc.get("_id")
    problem = entry_problem(doc)
    if problem is not None:
        raise LogDamaged(f"entry {index}: {problem}", index=index)
    view = {
        "index": int(doc["_id"]),
        "logged_at": format_log_time(doc["logged_at"]),
        "event_id": doc["event_id"],
        "event_type": doc["event_type"],
        "subject": doc["subject"],
        "event": json.loads(doc["canonical"]),
        "event_hash": doc["event_hash"],
        "leaf_hash": doc["leaf_hash"],
        "prev_hash": doc["prev_hash"],
        "chain_hash": doc["chain_hash"],
    }
    if "subject_count" in doc:
        view["subject_previous"] = doc["subject_previous"]
        view["subject_count"] = doc["subject_count"]
    return view
