"""What the auditor's API serves: entries, roots, proofs, dossier histories, bundles, keys.

Proof hashes are computed from the perfect subtree hashes stored with the entries
(``AuditStore.perfect_hashes``), never by rereading the log. Every document here is
plain JSON in the formats docs/audit.md describes and ``audit.verify`` checks.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from audit import personal
from audit.appender import PersonalData
from audit.domain import KEY_ROTATED, Checkpoint, format_log_time
from audit.dossier_heads import index_at
from audit.dossier_index import DossierIndex
from audit.entry_view import LogDamaged, entry_view
from audit.key_wrapping import DossierKeyUnreadable
from audit.store import AuditStore
from audit.trust import TrustPolicy
from shared.clock import Clock
from shared.events.handover import TransferAccepted
from shared.mongo.client import Document
from shared.refusals import Refused
from shared.transparency import merkle

BUNDLE_FORMAT = "lienthong-audit-bundle/3"
INCLUSION_FORMAT = "lienthong-audit-inclusion/2"
CONSISTENCY_FORMAT = "lienthong-audit-consistency/2"
MAX_DOSSIER_ENTRIES = 10_000
log = logging.getLogger(__name__)


class KeyUnreadable(Refused):
    """A dossier key the service cannot unwrap (no wrapping key it was wrapped under, or
    altered): said as such, never served as erased fields."""

    def __init__(self, detail: str) -> None:
        super().__init__("dossier_key_unreadable", detail)


class InvalidTreeSize(Refused):
    """A proof asked about sizes or entries the log does not have."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__("invalid_tree_size", detail, field=field)


def _hex(hashes: list[bytes]) -> list[str]:
    return [h.hex() for h in hashes]


@dataclass
class Evidence:
    """Read-only views of one log."""

    store: AuditStore
    log_id: str
    trust: TrustPolicy
    clock: Clock
    personal_data: PersonalData | None = None
    _index: DossierIndex = field(default_factory=DossierIndex)
    _index_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def entry_views(self, docs: list[Document]) -> list[dict[str, Any]]:
        """Entries as served, each with its personal fields in clear while the dossier key
        lives (``personal_data``: path -> value, or ``{"erased": true}``); not hashed."""
        views = [entry_view(doc) for doc in docs]
        if self.personal_data is None:
            return views
        sealed = {v["subject"] for v in views if any(personal.sealed_fields(v["event"]))}
        try:
            keys = await self.personal_data.keys.keys(sealed) if sealed else {}
        except DossierKeyUnreadable as exc:
            log.error("dossier key unreadable", extra={"error": str(exc)})
            raise KeyUnreadable(str(exc)) from exc
        for view in views:
            if view["subject"] in keys:
                unsealed = personal.unseal(view["event"], keys[view["subject"]])
                if unsealed:
                    view["personal_data"] = unsealed
        return views

    # -- Keys ----------------------------------------------------------------------------

    async def keys(self) -> list[dict[str, Any]]:
        """Every key that signs or signed checkpoints of this log, with validity (informative:
        verifiers trust only their pinned trust file and logged rotations)."""
        return [
            {
                "key_id": doc["key_id"],
                "vkey": doc["vkey"],
                "valid_from": _time(doc.get("valid_from")),
                "valid_until": _time(doc.get("valid_until")),
                "status": "retired" if doc.get("valid_until") else "current",
                "rotation_entry": doc.get("rotation_entry"),
            }
            for doc in await self.store.signing_keys()
        ]

    async def key_rotations(self, size: int) -> list[dict[str, Any]]:
        """The logged key rotations in the tree of ``size``, each with its inclusion proof."""
        docs = await self.store.find_entries(
            event_type=KEY_ROTATED, below=size, limit=MAX_DOSSIER_ENTRIES
        )
        return await self._with_proofs(docs, size)

    async def _with_proofs(self, docs: list[Document], size: int) -> list[dict[str, Any]]:
        views = await self.entry_views(docs)
        paths = await self.inclusion_paths([v["index"] for v in views], size)
        return [{**v, "inclusion_proof": _hex(paths[v["index"]])} for v in views]

    async def latest_witnessed(self) -> Checkpoint | None:
        """The latest checkpoint cosigned by a quorum of the witnesses (what evidence uses)."""
        return await self.store.latest_checkpoint(cosigners=self.trust.quorum)

    # -- Roots and proofs ----------------------------------------------------------------

    async def dossier_head(self, code: str, checkpoint: Checkpoint) -> dict[str, Any] | None:
        """The dossier's leaf in the checkpoint's dossier index, with its inclusion proof
        (None under a checkpoint signed before dossier indexes). LogDamaged if the entries
        no longer give the index the checkpoint signed."""
        if checkpoint.dossiers is None:
            return None
        async with self._index_lock:
            try:
                self._index = await index_at(self._index, self.store, checkpoint.tree_size)
            except LookupError as missing:
                raise LogDamaged(str(missing.args[0]), index=missing.args[1]) from None
            if self._index.commitment().value() != checkpoint.dossiers:
                raise LogDamaged(
                    f"the entries below tree size {checkpoint.tree_size} do not give the "
                    "dossier index its checkpoint signed",
                    index=None,
                )
            head = self._index.head(code)
        return None if head is None else head.as_json()

    async def _range_hashes(self, ranges: list[merkle.Range]) -> dict[merkle.Range, bytes]:
        try:
            perfect = await self.store.perfect_hashes(merkle.blocks_needed(ranges))
        except LookupError as missing:
            index = missing.args[1] if len(missing.args) > 1 else None
            raise LogDamaged(str(missing.args[0]), index=index) from None
        return {(s, e): merkle.range_hash(s, e, perfect) for s, e in ranges}

    async def root_at(self, size: int) -> bytes:
        """The root hash of the first ``size`` entries."""
        return (await self._range_hashes([(0, size)]))[(0, size)] if size else merkle.EMPTY_ROOT

    async def inclusion_paths(self, indices: list[int], size: int) -> dict[int, list[bytes]]:
        """Inclusion proofs of several entries in the tree of ``size`` (one store read)."""
        paths = {i: merkle.inclusion_ranges(i, size) for i in indices}
        hashes = await self._range_hashes([r for rs in paths.values() for r in rs])
        return {i: [hashes[r] for r in rs] for i, rs in paths.items()}

    async def _checked_size(self, size: int, field: str) -> None:
        head = await self.store.head()
        if not 1 <= size <= head.size:
            raise InvalidTreeSize(f"the log has {head.size} entries, not {size}", field=field)

    async def _size_or_latest(self, size: int | None) -> tuple[int, Checkpoint | None]:
        if size is None:
            latest = await self.latest_witnessed()
            if latest is None:
                raise Refused("no_checkpoint", "no checkpoint signed yet")
            return latest.tree_size, latest
        await self._checked_size(size, "size")
        return size, await self.store.checkpoint(size)

    async def inclusion(self, index: int, size: int | None) -> dict[str, Any]:
        """Proof that entry ``index`` is in the tree of ``size`` (default: latest checkpoint)."""
        tree_size, checkpoint = await self._size_or_latest(size)
        if not 0 <= index < tree_size:
            raise InvalidTreeSize(f"entry {index} is not in a tree of {tree_size}", field="entry")
        doc = await self.store.entry(index)
        if doc is None:
            raise Refused("not_found", f"entry {index} not found", field="entry")
        path = (await self.inclusion_paths([index], tree_size))[index]
        return {
            "format": INCLUSION_FORMAT,
            "log_id": self.log_id,
            "tree_size": tree_size,
            "root_hash": (await self.root_at(tree_size)).hex(),
            "entry": {**(await self.entry_views([doc]))[0], "inclusion_proof": _hex(path)},
            "checkpoint": checkpoint.as_json() if checkpoint else None,
            "key_rotations": await self.key_rotations(tree_size),
        }

    async def consistency(self, old_size: int, new_size: int) -> dict[str, Any]:
        """Proof that the tree of ``new_size`` extends the tree of ``old_size``."""
        await self._checked_size(old_size, "from")
        await self._checked_size(new_size, "to")
        if old_size > new_size:
            raise InvalidTreeSize("'from' must not exceed 'to'", field="from")
        ranges = merkle.consistency_ranges(old_size, new_size)
        hashes = await self._range_hashes([*ranges, (0, old_size), (0, new_size)])
        old_cp, new_cp = (
            await self.store.checkpoint(old_size),
            await self.store.checkpoint(new_size),
        )
        return {
            "format": CONSISTENCY_FORMAT,
            "log_id": self.log_id,
            "from_size": old_size,
            "to_size": new_size,
            "from_root": hashes[(0, old_size)].hex(),
            "to_root": hashes[(0, new_size)].hex(),
            "proof": [hashes[r].hex() for r in ranges],
            "from_checkpoint": old_cp.as_json() if old_cp else None,
            "to_checkpoint": new_cp.as_json() if new_cp else None,
            "key_rotations": await self.key_rotations(new_size),
        }

    # -- Dossiers ------------------------------------------------------------------------

    async def _dossier_entries(self, code: str) -> list[Document]:
        docs = await self.store.find_entries(subject=code, limit=MAX_DOSSIER_ENTRIES)
        if not docs:
            raise Refused("not_found", f"no entries for dossier {code}", field="code")
        return docs

    async def dossier_history(self, code: str) -> dict[str, Any]:
        """The dossier's entries in order, and each hand-over receipt with its inclusion proof."""
        docs = await self._dossier_entries(code)
        checkpoint = await self.latest_witnessed()
        size = checkpoint.tree_size if checkpoint else 0
        entries = await self.entry_views(docs)
        handovers = [e for e in entries if e["event_type"] == TransferAccepted.EVENT_TYPE]
        paths = await self.inclusion_paths(
            [e["index"] for e in handovers if e["index"] < size], size
        )
        receipts = [
            {
                "entry_index": e["index"],
                "event_id": e["event_id"],
                "receipt": e["event"]["data"]["receipt"],
                "leaf_hash": e["leaf_hash"],
                "tree_size": size if e["index"] in paths else None,
                "inclusion_proof": _hex(paths[e["index"]]) if e["index"] in paths else None,
            }
            for e in handovers
        ]
        return {
            "dossier_code": code,
            "entries": entries,
            "receipts": receipts,
            "checkpoint": checkpoint.as_json() if checkpoint else None,
        }

    async def bundle(self, code: str) -> dict[str, Any]:
        """Evidence for one dossier that verifies offline against a pinned trust file."""
        docs = await self._dossier_entries(code)
        checkpoint = await self.latest_witnessed()
        covered = [doc for doc in docs if checkpoint and int(doc["_id"]) < checkpoint.tree_size]
        if checkpoint is None or not covered:
            raise Refused(
                "not_checkpointed_yet",
                f"no signed and witnessed checkpoint covers dossier {code} yet; retry shortly",
            )
        return {
            "format": BUNDLE_FORMAT,
            "log_id": self.log_id,
            "dossier_code": code,
            "generated_at": format_log_time(self.clock.now()),
            "checkpoint": checkpoint.as_json(),
            "entries": await self._with_proofs(covered, checkpoint.tree_size),
            "dossier_head": await self.dossier_head(code, checkpoint),
            "key_rotations": await self.key_rotations(checkpoint.tree_size),
            "pending_entries": len(docs) - len(covered),
        }


def _time(value: Any) -> str | None:
    return format_log_time(value) if value is not None else None
