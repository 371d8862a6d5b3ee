"""Event handlers of the notification service: one function per event type."""

from __future__ import annotations

from shared.kafka.consumer import Handler
from shared.runtime import ServiceRuntime


def build_handlers(runtime: ServiceRuntime) -> dict[str, Handler]:
    """The mapping from event type to handler, with dependencies bound explicitly."""
    return {}
