"""The dossiers this process wrote last, kept so that the next action on one skips its read.

A dossier moves through a few actions in a row, and an HTTP action reads it, decides,
and writes it back reading the version it wrote over. The dossier this process planned
(``on_dossier_received``) or an action of it committed a moment ago is already in
memory: the next action on it decides on that copy instead of reading the store (one
round trip, and its decoding, fewer). A copy is kept once its transaction committed
(never from one given up). It is safe to decide on because nothing is accepted on its
word alone:

- a write still checks the stored version: if another writer (a second instance) saved
  the dossier since, the write raises ``StaleDossier``, the transaction is given up and
  the action runs again on a fresh read;
- a refusal writes nothing, so no version check would catch a stale copy: an action
  refused on a kept copy runs again on a fresh read before it answers;
- this process's own other writers (topic commands, the deadline scheduler, withdrawals)
  forget the copy when they save (``Routing.save``).

Bounded: the least recently used copy goes first. Size 0 keeps nothing.
"""

from __future__ import annotations

from collections import OrderedDict

from routing.store import Loaded


class RecentDossiers:
    """Copies of committed dossiers with their journey, by code (least recently used out)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[str, Loaded] = OrderedDict()

    def get(self, code: str) -> Loaded | None:
        loaded = self._kept.get(code)
        if loaded is not None:
            self._kept.move_to_end(code)
        return loaded

    def holds(self, code: str) -> bool:
        return code in self._kept

    def keep(self, loaded: Loaded) -> None:
        """Keep a dossier as committed, unless a later version of it is kept already."""
        if self.size <= 0:
            return
        code = loaded.dossier.code
        held = self._kept.get(code)
        if held is not None and held.dossier.version >= loaded.dossier.version:
            return
        self._kept[code] = loaded
        self._kept.move_to_end(code)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)

    def forget(self, code: str) -> None:
        self._kept.pop(code, None)

    def __len__(self) -> int:
        return len(self._kept)
