"""The witness's one command: check a submitted checkpoint, cosign it, remember it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from shared.clock import Clock
from shared.refusals import Refused
from shared.transparency.cosignature import cosign
from shared.transparency.note import NoteError, Signer, Verifier, parse_note
from shared.transparency.witness_protocol import parse_add_checkpoint
from witness.domain import LOG_MISBEHAVED, Cosigned, TimePolicy, checkpoint_to_cosign
from witness.store import WitnessState

log = logging.getLogger(__name__)


@dataclass
class Witness:
    """One witness: its key, what it knows of each log, its state, its time policy."""

    signer: Signer
    log_keys: dict[str, list[Verifier]]
    state: WitnessState
    clock: Clock
    time_policy: TimePolicy = field(default_factory=TimePolicy)

    def __post_init__(self) -> None:
        # Check and persist atomically (tlog-witness): two requests never interleave.
        self._lock = asyncio.Lock()

    async def add_checkpoint(self, body: bytes) -> str:
        """Cosignature lines for a consistent checkpoint; Refused otherwise."""
        try:
            request = parse_add_checkpoint(body)
        except NoteError as exc:
            raise Refused("malformed_request", f"malformed request: {exc}") from None
        async with self._lock:
            origin = _origin(request.checkpoint)
            latest = self.state.latest(origin) if origin else None
            try:
                checkpoint = checkpoint_to_cosign(request, self.log_keys, latest)
                self.time_policy.check(checkpoint, latest, self.clock.now())
            except Refused as refusal:
                if refusal.code in LOG_MISBEHAVED:
                    self._report(refusal, request.checkpoint, latest)
                raise
            text = parse_note(request.checkpoint).text  # what the log signed, byte for byte
            line = cosign(text, self.signer, int(self.clock.now().timestamp()))
            latest = Cosigned(checkpoint.size, checkpoint.root_hash, request.checkpoint)
            self.state.cosigned(checkpoint.origin, latest)
        log.info(
            "checkpoint cosigned",
            extra={"origin": checkpoint.origin, "tree_size": checkpoint.size},
        )
        return line

    def _report(self, refusal: Refused, presented: str, latest: Cosigned | None) -> None:
        """Say it loudly and keep both checkpoints: they are the proof of the fork."""
        log.critical(refusal.detail, extra={"presented": presented})
        self.state.refused(
            {
                "at": self.clock.now().isoformat(),
                "code": refusal.code,
                "reason": refusal.detail,
                "presented": presented,
                "cosigned": latest.note if latest else None,
            }
        )


def _origin(checkpoint: str) -> str:
    return checkpoint.split("\n", 1)[0]
