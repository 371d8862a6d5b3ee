"""What an auditor trusts: the pinned keys of the log and its witnesses, and the quorum.

The *trust file* is a JSON document the auditor obtains once, out of band, checks
against its published fingerprint, and keeps::

    {"format": "lienthong-audit-trust/1",
     "log": {"origin": "lienthong-audit-log",
             "keys": [{"vkey": "lienthong-audit-log+1a2b3c4d+AQ…", "valid_from": null,
                       "valid_until": null}]},
     "witnesses": [{"vkey": "witness-1+5e6f7a8b+BA…", "valid_from": null,
                    "valid_until": null}, …],
     "quorum": 2}

Its fingerprint is ``sha256:`` and the hex SHA-256 of its RFC 8785 canonical bytes (the
API serves exactly those bytes, so ``sha256sum trust.json`` shows the same digest).

A checkpoint is trusted only if a log key that is pinned here, or reached from a pinned
key through key-rotation statements logged in the log, signed it at a time inside that
key's validity window, and at least ``quorum`` of the pinned witnesses cosigned it, each
at a time (the cosignature's own timestamp) inside that witness key's window; a
cosignature of a pinned witness outside its window fails the checkpoint outright (the
key was not yet, or no longer, that witness's). The checkpoint's time must be a valid
RFC 3339 time; windows are compared as instants. A cosignature counts towards the quorum
only if it was made before the log key's window ended, plus ``COSIGNATURE_GRACE`` (a
checkpoint signed just before a rotation may be cosigned just after it): a key retired
and then stolen cannot sign a backdated checkpoint and have it cosigned now. A signature
line of a known key (a log key or a pinned witness, by name and key ID) that does not
verify rejects the whole note (c2sp.org/signed-note's SHOULD). Keys a bundle or the API
carries are never trusted. The key chain (``audit.key_chain``) applies these rules as it
reads the log. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from audit.domain import canonical_json, format_log_time, parse_log_time
from shared.transparency.note import COSIGNATURE_V1, ED25519, Verifier, parse_vkey

TRUST_FORMAT = "lienthong-audit-trust/1"
COSIGNATURE_GRACE = timedelta(minutes=10)
"""How long after a log key's window ends a witness may still cosign a checkpoint that
key signed inside it: the log offers only its latest checkpoint, so the last one the old
key signed is cosigned late only until the new key signs the next (the rotation entry
itself is due within ``LT_AUDIT_CHECKPOINT_SECONDS``, 30 s by default), or while a
witness is briefly unreachable. Later cosignatures are not counted."""


class TrustError(ValueError):
    """A checkpoint or statement the trust file does not let the auditor accept."""


def normal_time(value: Any) -> str | None:
    """A validity bound in the log's fixed time form (comparable as text), or None."""
    if value is None:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"validity time {value!r} has no timezone")
    try:
        return format_log_time(moment)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        raise ValueError(f"validity time {value!r} is out of range") from None


@dataclass(frozen=True)
class PinnedKey:
    """A key of the log or of a witness, and the window ``[valid_from, valid_until)`` in
    which it may sign (bounds in the log's time form; None = unbounded)."""

    verifier: Verifier
    valid_from: str | None = None
    valid_until: str | None = None

    @property
    def starts(self) -> datetime | None:
        return None if self.valid_from is None else parse_log_time(self.valid_from)

    @property
    def ends(self) -> datetime | None:
        return None if self.valid_until is None else parse_log_time(self.valid_until)

    def covers(self, moment: datetime) -> bool:
        """Whether the instant lies in ``[valid_from, valid_until)``."""
        starts, ends = self.starts, self.ends
        return (starts is None or starts <= moment) and (ends is None or moment < ends)

    def window(self) -> str:
        return f"[{self.valid_from or '-∞'}, {self.valid_until or '+∞'})"

    def as_json(self) -> dict[str, Any]:
        return {
            "vkey": self.verifier.vkey(),
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
        }


@dataclass(frozen=True)
class TrustPolicy:
    """The parsed trust file."""

    origin: str
    log_keys: tuple[PinnedKey, ...]
    witnesses: tuple[PinnedKey, ...]
    quorum: int

    def document(self) -> dict[str, Any]:
        """The trust file of this policy (JSON value)."""
        return {
            "format": TRUST_FORMAT,
            "log": {"origin": self.origin, "keys": [k.as_json() for k in self.log_keys]},
            "witnesses": [w.as_json() for w in self.witnesses],
            "quorum": self.quorum,
        }

    def file_bytes(self) -> bytes:
        """The trust file exactly as published: its canonical bytes."""
        return canonical_json(self.document())

    def fingerprint(self) -> str:
        return fingerprint_of(self.file_bytes())


def fingerprint_of(file_bytes: bytes) -> str:
    """``sha256:<hex>`` of a trust file's bytes."""
    return "sha256:" + hashlib.sha256(file_bytes).hexdigest()


def load_trust(doc: Any, quorum: int | None = None) -> TrustPolicy:
    """The policy of a trust file (``quorum`` overrides the file's); ValueError if malformed
    (a field missing or of the wrong type included: never read as something else)."""
    if not isinstance(doc, dict) or doc.get("format") != TRUST_FORMAT:
        raise ValueError(f"not a trust file (format {TRUST_FORMAT})")
    try:
        return _load_trust(doc, quorum)
    except (KeyError, TypeError, AttributeError, OverflowError) as exc:
        raise ValueError(f"malformed trust file: {type(exc).__name__}: {exc}") from exc


def _load_trust(doc: dict[str, Any], quorum: int | None) -> TrustPolicy:
    if not isinstance(doc["log"]["keys"], list) or not isinstance(doc.get("witnesses", []), list):
        raise ValueError("malformed trust file: log.keys and witnesses must be lists")
    origin = str(doc["log"]["origin"])
    keys = []
    for item in doc["log"]["keys"]:
        verifier = parse_vkey(item["vkey"])
        if verifier.name != origin or verifier.signature_type != ED25519:
            raise ValueError(f"log key {item['vkey']} is not an Ed25519 key named {origin}")
        keys.append(pinned_key(item))
    if not keys:
        raise ValueError("the trust file pins no log key: no checkpoint could be trusted")
    witnesses = tuple(pinned_key(item) for item in doc.get("witnesses", []))
    if any(w.verifier.signature_type != COSIGNATURE_V1 for w in witnesses):
        raise ValueError("witness keys must be cosignature (0x04) vkeys")
    chosen = doc.get("quorum", len(witnesses)) if quorum is None else quorum
    if not isinstance(chosen, int) or isinstance(chosen, bool):  # 1.7, "2", true: not read as 1
        raise ValueError(f"quorum {chosen!r} is not a whole number")
    if not 0 <= chosen <= len(witnesses):
        raise ValueError(f"quorum {chosen} is not between 0 and {len(witnesses)} witnesses")
    return TrustPolicy(origin, tuple(keys), witnesses, chosen)


def pinned_key(item: dict[str, Any]) -> PinnedKey:
    """A key of the trust file: ``vkey`` and optional ``valid_from``/``valid_until``."""
    if not isinstance(item, dict) or not isinstance(item.get("vkey"), str):
        raise ValueError(f"malformed trust file: a key is not an object with a vkey: {item!r}")
    valid_from, valid_until = (
        normal_time(item.get("valid_from")),
        normal_time(item.get("valid_until")),
    )
    if valid_from is not None and valid_until is not None and valid_from >= valid_until:
        raise ValueError(f"key {item['vkey']}: valid_from is not before valid_until")
    return PinnedKey(parse_vkey(item["vkey"]), valid_from, valid_until)


def trust_policy(
    origin: str,
    key_docs: list[dict[str, Any]],
    witnesses: list[dict[str, Any]],
    quorum: int,
) -> TrustPolicy:
    """The trust file the service publishes: its root keys (those no rotation introduced,
    with their windows as recorded), the configured witnesses (``vkey`` and optional
    ``valid_from``/``valid_until``) and the quorum."""
    roots = tuple(
        PinnedKey(
            parse_vkey(doc["vkey"]), _bound(doc.get("valid_from")), _bound(doc.get("valid_until"))
        )
        for doc in key_docs
        if doc.get("vkey") and doc.get("rotation_entry") is None
    )
    return TrustPolicy(origin, roots, tuple(pinned_key(w) for w in witnesses), quorum)


def _bound(value: datetime | None) -> str | None:
    return None if value is None else format_log_time(value)
