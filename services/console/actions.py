"""What operator actions need and share: the bound dependencies (``Operations``), how
the console reads a notification (``Notifications``), and who an action is recorded as.

The actions themselves: replays in ``handlers``, redeliveries in ``redeliveries``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from console.store import ReplayStore
from shared.auth import Principal
from shared.runtime import ServiceRuntime


class Notifications(Protocol):
    """Notification's view of one notification (``sources.Services``); None when it has
    none; ``ServiceUnavailable`` when it does not answer."""

    async def notification(self, notification_id: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class Operations:
    """What operator actions need, bound once in ``main``."""

    runtime: ServiceRuntime
    store: ReplayStore
    notifications: Notifications


def recorded_as(caller: Principal) -> dict[str, str]:
    """Who an action is recorded as: the signed-in user's name and token subject."""
    return {"operator": caller.name, "operator_subject": caller.subject}
