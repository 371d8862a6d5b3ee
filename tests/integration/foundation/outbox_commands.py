"""What the outbox relay asks of the store in a test, seen by a PyMongo command listener.

``OutboxCommands`` is registered for every client created afterwards (the runtime's
among them) and keeps the commands on the ``outbox`` collection of one test's databases
(by prefix), so parallel tests never count each other's.
"""

from __future__ import annotations

from typing import Any

from pymongo import monitoring


class OutboxCommands(monitoring.CommandListener):
    """The outbox commands sent to databases named with one prefix."""

    def __init__(self, database_prefix: str) -> None:
        self._prefix = database_prefix
        self.commands: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.database_name.startswith(self._prefix) and (
            event.command.get(event.command_name) == "outbox"
        ):
            self.commands.append({"name": event.command_name, **dict(event.command)})

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None

    def reset(self) -> None:
        self.commands.clear()

    @property
    def relay_reads(self) -> int:
        """Reads of pending entries (the backlog gauge's one-document read excluded)."""
        return sum(1 for c in self.commands if c["name"] == "find" and c.get("limit") != 1)

    @property
    def marks(self) -> list[list[str]]:
        """The ids of each mark-sent write, one list per ``update_many`` round trip."""
        written = []
        for command in self.commands:
            if command["name"] != "update":
                continue
            for update in command["updates"]:
                if update["u"].get("$set", {}).get("status") == "sent":
                    written.append(list(update["q"]["_id"]["$in"]))
        return written


def listen_to_outbox(database_prefix: str) -> OutboxCommands:
    """A listener for the clients created from now on (it stays registered: tests are
    told apart by their database prefix)."""
    listener = OutboxCommands(database_prefix)
    monitoring.register(listener)
    return listener
