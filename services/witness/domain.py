"""What a witness checks before it cosigns (c2sp.org/tlog-witness), as pure rules.

For each log it knows (by origin, with the log's public keys) it remembers the latest
checkpoint it cosigned. A new checkpoint is cosigned only if a known key signed it and a
consistency proof shows it extends that one. Same size with another root, or a proof
that fails, means the log showed two histories (a fork, or a rewrite): refused, and
kept as evidence. Size 0 is no exception: the empty tree has one root, SHA-256 of
nothing, and a proof from size 0 is empty; a log that signs a size-0 checkpoint with
another root states a tree that cannot exist (refused, kept as evidence).

Past the protocol, a ``TimePolicy`` of the witness's own for the logs that carry the
platform's ``time`` line (the log time a checkpoint was signed, which verifiers hold
against the log key's validity window): a checkpoint is cosigned only with a time in
the log's fixed form, not before the last one cosigned, and not far past the witness's
clock. tlog-witness does not look into extension lines; which ones a witness checks is
the policy it keeps for the logs it follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.refusals import Refused
from shared.transparency import merkle
from shared.transparency.checkpoint import CheckpointBody, parse_checkpoint
from shared.transparency.log_time import TIME_EXTENSION, format_log_time, read_log_form
from shared.transparency.note import NoteError, Verifier, parse_note
from shared.transparency.witness_protocol import AddCheckpoint


@dataclass(frozen=True)
class Cosigned:
    """The latest checkpoint a witness cosigned for one log."""

    size: int
    root_hash: bytes
    note: str


# The refusals that prove the log misbehaved (not the client's error): kept as evidence.
LOG_MISBEHAVED = frozenset(
    {
        "log_fork",
        "log_rewrite",
        "log_bad_empty_tree",
        "checkpoint_time_invalid",
        "checkpoint_time_backwards",
    }
)


def checkpoint_to_cosign(
    request: AddCheckpoint, log_keys: dict[str, list[Verifier]], latest: Cosigned | None
) -> CheckpointBody:
    """The checkpoint of an add-checkpoint request if the witness may cosign it; or Refused."""
    try:
        note = parse_note(request.checkpoint)
        body = parse_checkpoint(note.text)
    except NoteError as exc:
        raise Refused("not_a_checkpoint", f"not a checkpoint: {exc}") from None
    keys = log_keys.get(body.origin)
    if keys is None:
        raise Refused("unknown_log", f"unknown log {body.origin!r}")
    if not any(note.verified_by(key) for key in keys):
        raise Refused("unverified_checkpoint", f"no signature of log {body.origin} verifies")
    if request.old_size > body.size:
        raise Refused(
            "old_size_too_large",
            f"old size {request.old_size} is above the checkpoint's {body.size}",
        )
    known = latest.size if latest is not None else 0
    if request.old_size != known:
        raise Refused("stale_old_size", f"the latest cosigned size is {known}", known_size=known)
    if request.old_size == 0 and request.proof:
        raise Refused("proof_not_empty", "a consistency proof from size 0 must be empty")
    if latest is not None and body.size == latest.size:
        if body.root_hash != latest.root_hash:
            raise Refused(
                "log_fork",
                f"FORK: log {body.origin} shows a tree of size {body.size} with root "
                f"{body.root_hash.hex()}, but the witness cosigned root "
                f"{latest.root_hash.hex()} at that size",
            )
        return body
    if body.size == 0:  # first contact: the only tree of size 0 is the empty one
        if body.root_hash != merkle.EMPTY_ROOT:
            raise Refused(
                "log_bad_empty_tree",
                f"BAD EMPTY TREE: log {body.origin} signed a tree of size 0 with root "
                f"{body.root_hash.hex()}; the empty tree's root is {merkle.EMPTY_ROOT.hex()}",
            )
        return body
    if latest is None or request.old_size == 0:  # every tree extends the empty one
        return body
    if not merkle.verify_consistency(
        latest.size, body.size, latest.root_hash, body.root_hash, list(request.proof)
    ):
        raise Refused(
            "log_rewrite",
            f"REWRITE: log {body.origin}'s tree of size {body.size} is not consistent with "
            f"the tree of size {latest.size} the witness cosigned",
        )
    return body


def _cosigned_time(latest: Cosigned | None) -> datetime | None:
    if latest is None:
        return None
    try:
        body = parse_checkpoint(parse_note(latest.note).text)
    except NoteError:
        return None
    return read_log_form(body.extension(TIME_EXTENSION))


@dataclass(frozen=True)
class TimePolicy:
    """For the logs in ``origins``: a checkpoint's ``time`` line must be in the log's
    form, not before the last checkpoint cosigned for that log, and at most ``max_ahead``
    past the witness's clock (one far ahead, once cosigned, would refuse every honest
    checkpoint after it). Checked after the protocol's rules, on a checkpoint that
    passed them."""

    origins: frozenset[str] = frozenset()
    max_ahead: timedelta = timedelta(minutes=5)

    def check(self, body: CheckpointBody, latest: Cosigned | None, now: datetime) -> None:
        """Nothing if the checkpoint's time may be cosigned; Refused otherwise."""
        if body.origin not in self.origins:
            return
        value = body.extension(TIME_EXTENSION)
        moment = read_log_form(value)
        if moment is None:
            shown = "no time line" if value is None else f"time {value[:40]!r}"
            raise Refused(
                "checkpoint_time_invalid",
                f"BAD TIME: log {body.origin}'s checkpoint of size {body.size} has {shown}, "
                "not a log time (2026-11-26T09:00:00.000Z)",
            )
        previous = _cosigned_time(latest)
        if previous is not None and latest is not None and moment < previous:
            raise Refused(
                "checkpoint_time_backwards",
                f"BACKDATED: log {body.origin}'s checkpoint of size {body.size} is timed "
                f"{value}, before the time {format_log_time(previous)} of the checkpoint of size "
                f"{latest.size} the witness cosigned",
            )
        if moment > now + self.max_ahead:
            raise Refused(
                "checkpoint_time_ahead",
                f"log {body.origin}'s checkpoint of size {body.size} is timed {value}, more "
                f"than {self.max_ahead.total_seconds():g} s after the witness's clock "
                f"({format_log_time(now)})",
            )
