"""Counting what a service asks of the store in a test (PyMongo command monitoring).

``count_store_commands(monkeypatch, database)`` makes every store client created
afterwards in the test report its commands; the counter keeps those sent to one
database, by collection and command (``find``, ``update``, ``insert``, ...).
"""

from __future__ import annotations

from collections import Counter
from functools import partial

import pytest
from pymongo import AsyncMongoClient, monitoring

import shared.mongo.client


class StoreCommands(monitoring.CommandListener):
    """Commands sent to one database, by (collection, command)."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.counts: Counter[tuple[str, str]] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.database_name != self.database:
            return
        collection = event.command.get(event.command_name)
        self.counts[(collection if isinstance(collection, str) else "", event.command_name)] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None

    def on(self, collection: str) -> dict[str, int]:
        """The commands sent to one collection since the last reset, by command."""
        return {cmd: n for (coll, cmd), n in self.counts.items() if coll == collection}

    def reset(self) -> None:
        self.counts.clear()


def count_store_commands(monkeypatch: pytest.MonkeyPatch, database: str) -> StoreCommands:
    """Count the commands that clients created from now on send to ``database``."""
    listener = StoreCommands(database)
    client = partial(AsyncMongoClient, event_listeners=[listener])
    monkeypatch.setattr(shared.mongo.client, "AsyncMongoClient", client)
    return listener
