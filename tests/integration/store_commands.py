"""Counting what a service asks of the store in a test, from ``lt_store_commands_total``.

Every service's store client counts its commands by collection and command name
(``shared.mongo.client.CommandCounter``); ``StoreCommands`` reads that counter for one
service and gives what was sent since its last ``reset``.
"""

from __future__ import annotations

from collections import Counter

from shared.telemetry.metrics import STORE_COMMANDS


class StoreCommands:
    """The commands one service sent to the store since the last reset."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._base = self._counts()

    def _counts(self) -> Counter[tuple[str, str]]:
        counts: Counter[tuple[str, str]] = Counter()
        for metric in STORE_COMMANDS.collect():
            for sample in metric.samples:
                labels = sample.labels
                if sample.name.endswith("_total") and labels["service"] == self.service:
                    counts[(labels["collection"], labels["command"])] += int(sample.value)
        return counts

    def reset(self) -> None:
        self._base = self._counts()

    def since_reset(self) -> Counter[tuple[str, str]]:
        """Every command sent since the last reset, by (collection, command)."""
        return self._counts() - self._base

    def on(self, collection: str) -> dict[str, int]:
        """The commands sent to one collection since the last reset, by command."""
        sent = self._counts() - self._base
        return {command: n for (coll, command), n in sent.items() if coll == collection}
