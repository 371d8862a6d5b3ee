"""The tlog-witness ``add-checkpoint`` request body (c2sp.org/tlog-witness), both ways.

    old <size>
    <base64 consistency proof hash>      (zero to 63 lines; none when old is 0)
    <blank line>
    <the signed checkpoint note>

A witness that knows another size answers 409 ``text/x.tlog.size`` with that size.
A log (our audit service) encodes it; a witness parses it. Pure: standard library only.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from shared.transparency.checkpoint import parse_tree_size
from shared.transparency.note import NoteError, decode_hash

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


def parse_size_answer(text: str) -> int:
    """The tree size a witness's 409 ``text/x.tlog.size`` answer states; NoteError if not one."""
    return parse_tree_size(text.strip(), "size answer")


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
    if not first.startswith("old "):
        raise NoteError(f"the first line is not 'old <size>': {first[:24]!r}")
    old_size = parse_tree_size(first.removeprefix("old "), "old size")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise NoteError("more than 63 consistency proof lines")
    proof = tuple(decode_hash(line, "a consistency proof hash") for line in proof_lines)
    return AddCheckpoint(old_size, proof, checkpoint)
