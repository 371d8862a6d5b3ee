"""The dossier index a checkpoint commits to: each dossier's last entry below its size.

A dossier's entries are linked backwards (each names the dossier's entry before it and
counts the entries so far), so a bundle from the first entry on cannot leave one out in
the middle. What backward links cannot show is that the last entry given is the last:
an operator could cut a bundle short after any entry. So every checkpoint also signs
the *dossier index* of its tree: an RFC 6962 Merkle tree whose leaves are, for every
subject with an entry below the tree size, in order of the subject's code,

    leaf input = JCS({"dossier": <code>, "last": <index of its last entry>})

The checkpoint note carries it as the extension line ``dossiers <leaves> <base64 root>``
(c2sp.org/tlog-checkpoint allows extension lines; the witnesses cosign the whole text,
so every auditor is shown the same index). A bundle carries its dossier's leaf with an
inclusion proof in that tree (``dossier_head``): its entries must end at ``last``.

Pure: no I/O; shared by the service (which builds the index) and the offline verifier.
"""

from __future__ import annotations

import base64
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

import rfc8785

from shared.transparency import merkle
from shared.transparency.note import decode_hash, is_decimal


def head_leaf(dossier: str, last: int) -> bytes:
    """The index's leaf hash of a dossier whose last entry is ``last``."""
    return merkle.leaf_hash(rfc8785.dumps({"dossier": dossier, "last": last}))


@dataclass(frozen=True)
class IndexCommitment:
    """What a checkpoint signs of its dossier index: the number of leaves and the root."""

    size: int
    root: bytes

    def value(self) -> str:
        """The extension line's value (after ``dossiers ``)."""
        return f"{self.size} {base64.b64encode(self.root).decode()}"

    @classmethod
    def parse(cls, value: str) -> IndexCommitment:
        """The commitment of an extension value; ValueError if malformed."""
        size_text, _, root_text = value.partition(" ")
        if not is_decimal(size_text):
            raise ValueError(f"malformed dossier index size {size_text!r}")
        return cls(int(size_text), decode_hash(root_text, "dossier index root"))


@dataclass(frozen=True)
class DossierHead:
    """A dossier's leaf in the index of one checkpoint, with its inclusion proof."""

    dossier: str
    last: int
    position: int
    index_size: int
    proof: tuple[bytes, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "dossier": self.dossier,
            "last": self.last,
            "position": self.position,
            "index_size": self.index_size,
            "proof": [h.hex() for h in self.proof],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> DossierHead:
        return cls(
            dossier=str(doc["dossier"]),
            last=_natural(doc["last"]),
            position=_natural(doc["position"]),
            index_size=_natural(doc["index_size"]),
            proof=tuple(bytes.fromhex(h) for h in doc["proof"]),
        )

    def proven_by(self, commitment: IndexCommitment) -> bool:
        """Whether this leaf is in the committed index at its position."""
        return self.index_size == commitment.size and merkle.verify_inclusion(
            self.position,
            self.index_size,
            head_leaf(self.dossier, self.last),
            list(self.proof),
            commitment.root,
        )


def _natural(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{value!r} is not a natural number")
    return value


class DossierIndex:
    """Each subject's last entry among the first ``tree_size`` entries, fed in log order."""

    def __init__(self) -> None:
        self.tree_size = 0
        self._last: dict[str, int] = {}
        self._leaves: dict[str, bytes] = {}
        self._order: list[str] | None = None

    def add(self, index: int, subject: str) -> None:
        """The entry at ``index`` (the next one) belongs to ``subject``."""
        if index != self.tree_size:
            raise ValueError(f"entry {index} given, entry {self.tree_size} expected")
        if subject not in self._last:
            self._order = None
        self._last[subject] = index
        self._leaves.pop(subject, None)
        self.tree_size = index + 1

    def last(self, subject: str) -> int | None:
        return self._last.get(subject)

    def _sorted(self) -> list[str]:
        if self._order is None:
            self._order = sorted(self._last)
        return self._order

    def _leaf_hashes(self) -> list[bytes]:
        for subject in self._sorted():
            if subject not in self._leaves:
                self._leaves[subject] = head_leaf(subject, self._last[subject])
        return [self._leaves[s] for s in self._sorted()]

    def commitment(self) -> IndexCommitment:
        """What a checkpoint at ``tree_size`` signs."""
        leaves = self._leaf_hashes()
        return IndexCommitment(len(leaves), merkle.root(leaves))

    def head(self, subject: str) -> DossierHead | None:
        """The subject's leaf with its inclusion proof, or None if it has no entry."""
        order = self._sorted()
        position = bisect_left(order, subject)
        if position == len(order) or order[position] != subject:
            return None
        proof = merkle.inclusion_proof(self._leaf_hashes(), position)
        return DossierHead(subject, self._last[subject], position, len(order), tuple(proof))
