"""A witness's own state: one JSON file, written atomically, never the log's store.

It holds, per log origin, the latest checkpoint cosigned, and the refused checkpoints
that prove a fork or a rewrite (the evidence, kept for whoever asks). A lock file held
for the process's life keeps a second witness process off the same state.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
from pathlib import Path
from typing import IO, Any

from witness.domain import Cosigned

MAX_EVIDENCE = 100


class StateInUse(RuntimeError):
    """Another process holds this witness state."""


class WitnessState:
    """The state file of one witness."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock: IO[bytes] | None = None
        self._doc: dict[str, Any] = {"logs": {}, "refused": []}

    def open(self) -> None:
        """Take the state (exclusively) and read it."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(self._path.with_suffix(".lock"), "wb")  # noqa: SIM115 - held until close
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise StateInUse(f"{self._path} is used by another witness process") from None
        self._lock = lock
        if self._path.exists():
            self._doc = json.loads(self._path.read_text())

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def latest(self, origin: str) -> Cosigned | None:
        found = self._doc["logs"].get(origin)
        if found is None:
            return None
        return Cosigned(found["size"], base64.b64decode(found["root_hash"]), found["note"])

    def cosigned(self, origin: str, latest: Cosigned) -> None:
        """Record the new latest checkpoint of a log (persisted before the witness answers)."""
        self._doc["logs"][origin] = {
            "size": latest.size,
            "root_hash": base64.b64encode(latest.root_hash).decode(),
            "note": latest.note,
        }
        self._write()

    def refused(self, evidence: dict[str, Any]) -> None:
        """Keep a refused checkpoint that shows misbehaviour, up to 100 records. Once full,
        a new record replaces the oldest rewrite; a fork or a time the log signed is never
        replaced. A rewrite is a consistency proof that failed, and whoever submits
        (the log's own client) can make one fail at will, as often as it likes: were the
        latest 100 kept, a log that forked could then push the fork's evidence out with
        100 bad proofs of one genuine checkpoint. A fork or a false time is a statement
        the log signed; the earliest ones stay, and a new one beyond 100 is only logged."""
        kept = list(self._doc["refused"])
        if len(kept) >= MAX_EVIDENCE:
            rewrites = [i for i, record in enumerate(kept) if _unproven(record)]
            if not rewrites:
                return
            del kept[rewrites[0]]
        self._doc["refused"] = [*kept, evidence]
        self._write()

    def view(self) -> dict[str, Any]:
        copied: dict[str, Any] = json.loads(json.dumps(self._doc))
        return copied

    def _write(self) -> None:
        draft = self._path.with_suffix(".tmp")
        with open(draft, "w") as out:
            json.dump(self._doc, out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(draft, self._path)


def _unproven(record: dict[str, Any]) -> bool:
    """A rewrite: a consistency proof that failed, not a statement the log signed
    (records from before ``code`` was kept are told by their reason)."""
    code = record.get("code")
    if code is None:
        return str(record.get("reason", "")).startswith("REWRITE")
    return bool(code == "log_rewrite")
