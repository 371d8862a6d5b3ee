"""C2SP checkpoints (c2sp.org/tlog-checkpoint): a log's origin, tree size and root hash.

The body of a checkpoint note is three lines, then optional extension lines::

    lienthong-audit-log
    16
    <base64 of the 32-byte root hash>
    <extension lines, if any>

Pure: standard library only.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from shared.transparency.note import NoteError, check_text, decode_hash, is_decimal

MAX_TREE_SIZE = 2**63 - 1
# Any uint64 fits in 20 digits. Checked before int(): past 4,300 digits int() raises a
# plain ValueError, which callers expecting NoteError would turn into a 500.
MAX_SIZE_DIGITS = 20


@dataclass(frozen=True)
class CheckpointBody:
    """What a checkpoint states: the log ``origin`` had ``size`` leaves with this root."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        """The note text of this checkpoint."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode()]
        text = "\n".join([*lines, *self.extensions]) + "\n"
        check_lines(text)
        return text

    def extension(self, key: str) -> str | None:
        """The value of the first extension line ``<key> <value>``, if any."""
        for line in self.extensions:
            name, _, value = line.partition(" ")
            if name == key:
                return value
        return None


def parse_tree_size(text: str, what: str) -> int:
    """A tree size as the formats write it, at most ``MAX_TREE_SIZE``; NoteError otherwise."""
    if len(text) > MAX_SIZE_DIGITS or not is_decimal(text):
        raise NoteError(f"malformed {what}: {text[: MAX_SIZE_DIGITS + 1]!r}")
    size = int(text)
    if size > MAX_TREE_SIZE:
        raise NoteError(f"{what} {size} out of range")
    return size


def check_lines(text: str) -> list[str]:
    """The lines of a checkpoint's note text: at least three, none empty (extension lines
    included, c2sp.org/tlog-checkpoint); NoteError otherwise."""
    check_text(text)
    lines = text.removesuffix("\n").split("\n")
    if len(lines) < 3:
        raise NoteError("a checkpoint has at least three lines")
    if not all(lines):
        raise NoteError("a checkpoint's lines must not be empty")
    return lines


def parse_checkpoint(text: str) -> CheckpointBody:
    """The checkpoint a note text states; NoteError if it is not one."""
    origin, size_text, root_text, *extensions = check_lines(text)
    size = parse_tree_size(size_text, "checkpoint tree size")
    root = decode_hash(root_text, "checkpoint root hash")
    return CheckpointBody(origin, size, root, tuple(extensions))
