"""The log keys an auditor trusts as it reads the log: the keys pinned in the trust file
(``audit.trust``) and those reached from them by key-rotation statements logged in the
log, each within its window; a checkpoint checked against them and against the
quorum of pinned witnesses' cosignatures. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from audit.domain import Checkpoint, format_log_time, parse_log_time, read_checkpoint
from audit.trust import COSIGNATURE_GRACE, PinnedKey, TrustError, TrustPolicy, normal_time
from shared.transparency.cosignature import verify_cosignature
from shared.transparency.note import ED25519, Note, NoteError, Verifier, parse_note, parse_vkey

ROTATION_HEADER = "key rotation"


def rotation_text(origin: str, old: Verifier, new: Verifier, valid_from: str) -> str:
    """The note text of a key-rotation statement (signed by the old key)."""
    return f"{origin} {ROTATION_HEADER}\nold {old.vkey()}\nnew {new.vkey()}\nfrom {valid_from}\n"


@dataclass(frozen=True)
class Rotation:
    """A parsed rotation statement: from ``valid_from`` on, ``new`` signs instead of ``old``."""

    old: Verifier
    new: Verifier
    valid_from: str


def parse_rotation(origin: str, text: str) -> Rotation:
    lines = text.removesuffix("\n").split("\n")
    if len(lines) != 4 or lines[0] != f"{origin} {ROTATION_HEADER}":
        raise TrustError("not a key-rotation statement of this log")
    fields = dict(line.partition(" ")[::2] for line in lines[1:])
    try:
        old, new = parse_vkey(fields["old"]), parse_vkey(fields["new"])
        valid_from = normal_time(fields["from"])
    except (KeyError, ValueError) as exc:
        raise TrustError(f"malformed key-rotation statement: {exc}") from exc
    if valid_from is None or new.name != origin or new.signature_type != ED25519:
        raise TrustError("the rotation names no valid new key of this log")
    return Rotation(old, new, valid_from)


class KeyChain:
    """The log keys an auditor trusts so far: the pinned ones and those rotated to since."""

    def __init__(self, policy: TrustPolicy) -> None:
        self.policy = policy
        self.keys: list[PinnedKey] = list(policy.log_keys)

    def _trusted(self, verifier: Verifier) -> PinnedKey | None:
        return next((k for k in self.keys if k.verifier == verifier), None)

    def follow_rotation(self, statement: str) -> Rotation:
        """Accept a rotation signed by a trusted key, valid at the rotation time."""
        try:
            note = parse_note(statement)
        except NoteError as exc:
            raise TrustError(f"malformed key-rotation statement: {exc}") from exc
        rotation = parse_rotation(self.policy.origin, note.text)
        old = self._trusted(rotation.old)
        if old is None:
            raise TrustError(f"rotation from key {rotation.old.key_hash}, which is not trusted")
        if not note.verified_by(rotation.old):
            raise TrustError(
                f"rotation statement not signed by the old key {old.verifier.key_hash}"
            )
        if not old.covers(parse_log_time(rotation.valid_from)):
            raise TrustError(
                f"rotation at {rotation.valid_from}, outside key {old.verifier.key_hash}'s "
                f"window {old.window()}"
            )
        self.keys[self.keys.index(old)] = replace(old, valid_until=rotation.valid_from)
        self.keys.append(PinnedKey(rotation.new, rotation.valid_from, old.valid_until))
        return rotation

    def verify_checkpoint(self, note_text: str) -> Checkpoint:
        """The checkpoint, if a trusted key signed it in its window and a quorum cosigned it."""
        try:
            note = parse_note(note_text)
            read_checkpoint(note_text)  # well-formed, its time line an RFC 3339 time
        except NoteError as exc:
            raise TrustError(f"not a signed checkpoint note: {exc}") from exc
        self._reject_invalid_known_signatures(note)
        signer = next((k for k in self.keys if note.verified_by(k.verifier)), None)
        if signer is None:
            ids = ", ".join(s.key_id.hex() for s in note.signatures) or "none"
            raise TrustError(f"not signed by a pinned log key (signature key IDs: {ids})")
        checkpoint = read_checkpoint(note_text, signer.verifier)
        if checkpoint.log_id != self.policy.origin:
            raise TrustError(f"belongs to log {checkpoint.log_id!r}, not {self.policy.origin!r}")
        if not signer.covers(checkpoint.signed_at):
            raise TrustError(
                f"signed at {checkpoint.timestamp} by key {signer.verifier.key_hash}, "
                f"outside its validity window {signer.window()}"
            )
        cosigned, late = self._cosigners(note, signer)
        if len(cosigned) < self.policy.quorum:
            uncounted = "".join(
                f"; {name} cosigned at {format_log_time(moment)}, later than the log key's "
                f"window end {signer.valid_until} plus {COSIGNATURE_GRACE}, not counted"
                for name, moment in late
            )
            raise TrustError(
                f"cosigned by {len(cosigned)} of {len(self.policy.witnesses)} pinned witnesses "
                f"({', '.join(sorted(cosigned)) or 'none'}); the quorum is {self.policy.quorum}"
                f"{uncounted}"
            )
        return checkpoint

    def _reject_invalid_known_signatures(self, note: Note) -> None:
        """TrustError if a signature line of a known key (name and key ID of a trusted log
        key or of a pinned witness) does not verify: the note is rejected whole, as Go's
        ``note.Open`` does, rather than the line being skipped."""
        for key in self.keys:
            if note.signed_by(key.verifier) is not None and not note.verified_by(key.verifier):
                raise TrustError(
                    f"the signature of log key {key.verifier.name}+{key.verifier.key_hash} "
                    "does not verify: the note is rejected"
                )
        for witness in self.policy.witnesses:
            known = note.signed_by(witness.verifier) is not None
            if known and verify_cosignature(note, witness.verifier) is None:
                raise TrustError(
                    f"the cosignature of witness {witness.verifier.name}+"
                    f"{witness.verifier.key_hash} does not verify: the note is rejected"
                )

    def _cosigners(
        self, note: Note, signer: PinnedKey
    ) -> tuple[set[str], list[tuple[str, datetime]]]:
        """The pinned witnesses that cosigned the note within their keys' windows and in
        time for the log key ``signer`` (before its window's end plus the grace), and those
        that cosigned too late; TrustError if one cosigned outside its own key's window."""
        cosigned, late = set(), []
        deadline = None if signer.ends is None else signer.ends + COSIGNATURE_GRACE
        for witness in self.policy.witnesses:
            cosignature = verify_cosignature(note, witness.verifier)
            if cosignature is None:
                continue
            moment = cosignature_time(cosignature.timestamp)
            if not witness.covers(moment):
                raise TrustError(
                    f"cosigned by witness {witness.verifier.name} (key "
                    f"{witness.verifier.key_hash}) at {format_log_time(moment)}, outside its "
                    f"validity window {witness.window()}"
                )
            if deadline is not None and moment >= deadline:
                late.append((witness.verifier.name, moment))
                continue
            cosigned.add(witness.verifier.name)
        return cosigned, late


def cosignature_time(timestamp: int) -> datetime:
    """A cosignature's POSIX time as an instant (comparable with key windows)."""
    try:
        return datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError):
        return datetime.max.replace(tzinfo=UTC)  # beyond any window's end
