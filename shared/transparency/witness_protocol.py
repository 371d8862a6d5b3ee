"""The tlog-witness ``add-checkpoint`` request body (c2sp.org/tlog-witness), both ways.

    old <size>
    <base64 consistency proof hash>      (zero to 63 lines; none when old is 0)
    <blank line>
    <the signed checkpoint note>

A log (our audit service) encodes it; a witness parses it. Pure: standard library only.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from shared.transparency.checkpoint import MAX_TREE_SIZE
from shared.transparency.note import NoteError

MAX_PROOF_LINES = 63
SIZE_CONTENT_TYPE = "text/x.tlog.size"


@dataclass(frozen=True)
class AddCheckpoint:
    """A request to cosign ``checkpoint`` (a signed note), proven consistent from ``old_size``."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: str

    def encode(self) -> bytes:
        lines = [f"old {self.old_size}", *(base64.b64encode(h).decode() for h in self.proof)]
        return ("\n".join(lines) + "\n\n" + self.checkpoint).encode()


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """The request in an add-checkpoint body; NoteError if malformed."""
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise NoteError("request body is not UTF-8") from exc
    head, separator, checkpoint = text.partition("\n\n")
    if not separator:
        raise NoteError("no blank line before the checkpoint")
    first, *proof_lines = head.split("\n")
    size_text = first.removeprefix("old ")
    if (
        first == size_text
        or not size_text.isdigit()
        or (size_text != "0" and size_text.startswith("0"))
        or int(size_text) > MAX_TREE_SIZE
    ):
        raise NoteError(f"malformed old size line: {first!r}")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise NoteError("more than 63 consistency proof lines")
    proof: list[bytes] = []
    for line in proof_lines:
        try:
            hash_ = base64.b64decode(line, validate=True)
        except binascii.Error as exc:
            raise NoteError("a consistency proof line is not base64") from exc
        if len(hash_) != 32:
            raise NoteError("a consistency proof hash is not 32 bytes")
        proof.append(hash_)
    return AddCheckpoint(int(size_text), tuple(proof), checkpoint)
