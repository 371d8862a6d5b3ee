"""The audit log's format and rules: canonical bytes, entry hashes, the chain, checkpoints.

Pure: no I/O. It imports only the standard library, ``rfc8785`` and the pure
``shared.transparency`` mechanisms, so the offline verifier (``audit.verify``) shares
these definitions without depending on the service's runtime. docs/audit.md states
the same rules in prose.

- canonical bytes ``C`` of an event: RFC 8785 (JCS) of the envelope's JSON;
- ``event_hash = SHA-256(C)``;
- leaf input: JCS of ``{"event_hash": hex, "index": i, "logged_at": "…Z",
  "subject_count": n, "subject_previous": j|null}``, so a leaf binds the event, its
  position, the time it was logged and its place among its dossier's entries;
- ``leaf_hash = SHA-256(0x00 || leaf input)`` (RFC 6962 leaf);
- ``chain_hash(i) = SHA-256(chain_hash(i-1) || leaf_hash(i))``, ``chain_hash(-1)`` = 32 zero bytes;
- a checkpoint is a C2SP signed note (tlog-checkpoint) signed with Ed25519; its
  extension lines are ``time <log time>`` and ``dossiers <leaves> <base64 root>`` (the
  dossier index, ``audit.dossier_index``; checkpoints signed before it have none).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import rfc8785

from shared.transparency import merkle
from shared.transparency.checkpoint import CheckpointBody, parse_checkpoint
from shared.transparency.log_time import TIME_EXTENSION as TIME_EXTENSION
from shared.transparency.log_time import format_log_time as format_log_time
from shared.transparency.log_time import log_time as log_time
from shared.transparency.log_time import parse_log_time as parse_log_time
from shared.transparency.note import NoteError, Signer, Verifier, parse_note, sign_note

GENESIS_HASH = bytes(32)
"""The chain hash "before" entry 0."""
KEY_ROTATED = "audit.key.rotated.v1"
"""The type of the log's own entry that states a key rotation (signed by the old key)."""


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical JSON bytes of a JSON value."""
    return rfc8785.dumps(value)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


@dataclass(frozen=True)
class SubjectLink:
    """Where an entry stands in its subject's (dossier's) own sequence of entries.

    ``previous`` is the index of the subject's entry before this one (None for its first),
    ``count`` how many entries the subject has with this one. Committed in the leaf, so a
    bundle that drops one of a dossier's entries breaks the links of the next.
    """

    previous: int | None
    count: int

    def following(self, index: int) -> SubjectLink:
        """The link of the subject's next entry, after this one at ``index``."""
        return SubjectLink(previous=index, count=self.count + 1)


FIRST_OF_SUBJECT = SubjectLink(previous=None, count=1)


def leaf_input(
    index: int, logged_at: str, event_hash_hex: str, link: SubjectLink | None = None
) -> bytes:
    """The bytes a Merkle leaf commits to: the event's hash, its index, its log time and
    its place among its subject's entries (entries logged before links existed have none).
    """
    fields: dict[str, Any] = {"event_hash": event_hash_hex, "index": index, "logged_at": logged_at}
    if link is not None:
        fields["subject_count"] = link.count
        fields["subject_previous"] = link.previous
    return canonical_json(fields)


def entry_leaf_hash(
    index: int, logged_at: str, event_hash_hex: str, link: SubjectLink | None = None
) -> bytes:
    """The entry's Merkle leaf hash (also called the entry hash)."""
    return merkle.leaf_hash(leaf_input(index, logged_at, event_hash_hex, link))


def chain_hash(prev_hash: bytes, leaf: bytes) -> bytes:
    """The link of an entry to the one before it."""
    return sha256(prev_hash + leaf)


@dataclass(frozen=True)
class SealedEntry:
    """An event fixed at its position: every hash the log stores for it."""

    index: int
    logged_at: datetime
    canonical: bytes
    event_hash: bytes
    link: SubjectLink
    leaf_hash: bytes
    prev_hash: bytes
    chain_hash: bytes


def seal_entry(
    index: int, logged_at: datetime, canonical: bytes, prev_hash: bytes, link: SubjectLink
) -> SealedEntry:
    """Compute the hashes of the entry at ``index`` that follows ``prev_hash``."""
    logged_at = log_time(logged_at)
    digest = sha256(canonical)
    leaf = entry_leaf_hash(index, format_log_time(logged_at), digest.hex(), link)
    return SealedEntry(
        index=index,
        logged_at=logged_at,
        canonical=canonical,
        event_hash=digest,
        link=link,
        leaf_hash=leaf,
        prev_hash=prev_hash,
        chain_hash=chain_hash(prev_hash, leaf),
    )


def entry_problem(doc: dict[str, Any]) -> str | None:
    """What is wrong with a stored entry (``_id``, ``canonical`` and its hashes), or None."""
    try:
        canonical = str(doc["canonical"]).encode()
        if not isinstance(json.loads(canonical), dict):
            return "the stored event is not a JSON object"
        link = (
            SubjectLink(doc["subject_previous"], int(doc["subject_count"]))
            if "subject_count" in doc
            else None
        )
        event_hash = sha256(canonical).hex()
        if event_hash != doc["event_hash"]:
            return "altered: the stored event does not match its event hash"
        logged_at = format_log_time(doc["logged_at"])
        leaf = entry_leaf_hash(int(doc["_id"]), logged_at, event_hash, link)
        if leaf.hex() != doc["leaf_hash"]:
            return "altered: index, log time, dossier link or event hash do not match the leaf"
        if chain_hash(bytes.fromhex(doc["prev_hash"]), leaf).hex() != doc["chain_hash"]:
            return "altered: the chain hash does not match"
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return f"malformed: {type(exc).__name__}: {exc}"
    return None


# -- Checkpoints -----------------------------------------------------------------------

DOSSIERS_EXTENSION = "dossiers"
"""The checkpoint extension line ``dossiers <leaves> <base64 root>``: its dossier index."""


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: the log ``log_id`` had ``tree_size`` entries with this root.

    Its authoritative form is ``note``, a C2SP signed note whose text is a tlog-checkpoint
    (origin = ``log_id``, size, base64 root, then the extension line ``time <timestamp>``),
    signed by the log's key and by any witnesses that cosigned it. The other fields are a
    convenience view derived from it. ``dossiers`` is the value of the ``dossiers``
    extension line (the dossier index's leaf count and base64 root), None on checkpoints
    signed before the index existed.
    """

    log_id: str
    tree_size: int
    root_hash: str  # hex
    timestamp: str  # as the note writes it: RFC 3339 (the log writes format_log_time)
    key_id: str  # the signed-note key ID of the log key, 8 hex digits
    note: str
    dossiers: str | None = None

    @property
    def signed_at(self) -> datetime:
        """The instant of the ``time`` line (``read_checkpoint`` checked its form)."""
        return parse_log_time(self.timestamp)

    @property
    def text(self) -> str:
        return checkpoint_text(
            self.log_id, self.tree_size, self.root_hash, self.timestamp, self.dossiers
        )

    def with_cosignatures(self, lines: str) -> Checkpoint:
        """This checkpoint with witnesses' cosignature lines added to its note."""
        note = parse_note(self.note).with_signatures(lines)
        return replace(self, note=note.encode())

    def log_signature(self) -> str:
        """Base64 of the log's own Ed25519 signature (the note's first signature line)."""
        return base64.b64encode(parse_note(self.note).signatures[0].signature).decode()

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def checkpoint_text(
    log_id: str, tree_size: int, root_hash_hex: str, timestamp: str, dossiers: str | None = None
) -> str:
    """The note text of a checkpoint (tlog-checkpoint, with the ``time`` extension line and,
    when given, the ``dossiers`` line of its dossier index)."""
    extensions = [f"{TIME_EXTENSION} {timestamp}"]
    if dossiers is not None:
        extensions.append(f"{DOSSIERS_EXTENSION} {dossiers}")
    return CheckpointBody(log_id, tree_size, bytes.fromhex(root_hash_hex), tuple(extensions)).text()


def sign_checkpoint(
    signer: Signer,
    tree_size: int,
    root_hash_hex: str,
    timestamp: str,
    dossiers: str | None = None,
) -> Checkpoint:
    """The log's checkpoint, signed by its key (whose name is the log's origin)."""
    text = checkpoint_text(signer.name, tree_size, root_hash_hex, timestamp, dossiers)
    return Checkpoint(
        log_id=signer.name,
        tree_size=tree_size,
        root_hash=root_hash_hex,
        timestamp=timestamp,
        key_id=signer.verifier.key_hash,
        note=sign_note(text, [signer]),
        dossiers=dossiers,
    )


def read_checkpoint(note_text: str, log_key: Verifier | None = None) -> Checkpoint:
    """The checkpoint a signed note states (signature not checked); NoteError if malformed.

    ``key_id`` is that of ``log_key`` when given, else of the first signature line.
    """
    note = parse_note(note_text)
    body = parse_checkpoint(note.text)
    timestamp = body.extension(TIME_EXTENSION)
    if timestamp is None:
        raise NoteError("the checkpoint has no time line")
    try:
        parse_log_time(timestamp)
    except ValueError as exc:
        raise NoteError(f"the checkpoint's time line: {exc}") from None
    if not note.signatures:
        raise NoteError("the checkpoint has no signature")
    key_id = log_key.key_hash if log_key is not None else note.signatures[0].key_id.hex()
    return Checkpoint(
        log_id=body.origin,
        tree_size=body.size,
        root_hash=body.root_hash.hex(),
        timestamp=timestamp,
        key_id=key_id,
        note=note_text,
        dossiers=body.extension(DOSSIERS_EXTENSION),
    )


def checkpoint_due(
    *,
    tree_size: int,
    checkpointed_size: int,
    oldest_unsigned_at: datetime | None,
    now: datetime,
    every: int,
    max_age: timedelta,
) -> bool:
    """Whether to sign now: ``every`` unsigned entries, or the oldest one is ``max_age`` old.

    Bounds both how many entries and how long an entry stays without a signed checkpoint.
    Nothing new means no checkpoint.
    """
    unsigned = tree_size - checkpointed_size
    if unsigned <= 0:
        return False
    if unsigned >= every:
        return True
    return oldest_unsigned_at is not None and now - oldest_unsigned_at >= max_age
