"""Redeliveries from the console, with fakes (no servers): asked only for a notification
that notification has and that is failed, and recorded with what notification really
made of the request, never ``done`` for a request nothing came of.

The rules (``domain.check_redeliverable``, ``domain.redelivery_outcome``) read
notification's view of the notification, which keeps each request it handled; the
action (``handlers.redeliver``, ``redeliveries.follow_up``) is driven with an in-memory
store, a detached unit of work and a notification service that is a dictionary.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from console import redeliveries
from console.actions import Operations
from console.domain import (
    UNSETTLED,
    RedeliveryOutcome,
    check_redeliverable,
    redelivery_outcome,
)
from console.sources import ServiceUnavailable
from console.store import ReplayStore

from shared.auth import Principal, Role
from shared.clock import ManualClock
from shared.envelope import Envelope
from shared.refusals import Refused
from shared.runtime import ServiceRuntime
from shared.testing import detached_unit_of_work
from shared.unit_of_work import UnitOfWork

AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CODE = "000.00.01.H59-261130-0042"
OPS = Principal("ops-subject", frozenset({Role.OPERATIONS}), None, None, "ops")


def notification(status: str, *handled: tuple[str, str], error: str | None = None) -> Any:
    """Notification's view: its status, and the requests it handled (id, outcome)."""
    return {
        "id": "n-1",
        "dossier_code": CODE,
        "status": status,
        "error": error,
        "redelivery_requests": [
            {"event_id": event_id, "outcome": outcome, "status_found": "sent"}
            for event_id, outcome in handled
        ],
    }


def test_only_a_failed_notification_notification_has_is_redelivered() -> None:
    with pytest.raises(Refused) as unknown:
        check_redeliverable("n-1", None)
    assert (unknown.value.code, unknown.value.field) == (
        "notification_not_found",
        "notification_id",
    )
    for status in ("sent", "pending", "sending", "held", "skipped"):
        with pytest.raises(Refused) as refused:
            check_redeliverable("n-1", notification(status))
        assert refused.value.code == "not_redeliverable"
        assert refused.value.extra == {"notification_status": status}
    assert check_redeliverable("n-1", notification("failed"))["dossier_code"] == CODE


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (notification("failed"), RedeliveryOutcome("requested", "failed")),  # not handled yet
        (notification("pending", ("r", "queued")), RedeliveryOutcome("requested", "pending")),
        (notification("held", ("r", "queued")), RedeliveryOutcome("requested", "held")),
        (notification("sent", ("r", "queued")), RedeliveryOutcome("sent", "sent")),
        (
            notification("failed", ("r", "queued"), error="HTTP 503"),
            RedeliveryOutcome("failed", "failed", "HTTP 503"),
        ),
        (
            notification("skipped", ("r", "queued"), error="subscription deleted"),
            RedeliveryOutcome("skipped", "skipped", "subscription deleted"),
        ),
        (
            notification("sent", ("r", "queued"), ("later", "queued")),
            RedeliveryOutcome("failed", "sent", "sent again and failed (redelivered again since)"),
        ),
        (
            notification("sent", ("earlier", "queued"), ("r", "refused")),
            RedeliveryOutcome(
                "refused",
                "sent",
                "it was sent, not failed, when the request arrived: not sent again",
            ),
        ),
        (
            None,
            RedeliveryOutcome(
                "unknown", None, "the notification service no longer has this notification"
            ),
        ),
    ],
)
def test_a_redelivery_outcome_is_what_notification_did_with_that_request(
    view: Any, expected: RedeliveryOutcome
) -> None:
    assert redelivery_outcome("r", view) == expected


# --- the action, with fakes --------------------------------------------------------------


@dataclass
class Notifications:
    """The notification service: views by id; ``down`` makes it not answer."""

    views: dict[str, Any] = field(default_factory=dict)
    down: bool = False

    async def notification(self, notification_id: str) -> dict[str, Any] | None:
        if self.down:
            raise ServiceUnavailable("notification", "notification: ConnectError")
        view: dict[str, Any] | None = self.views.get(notification_id)
        return view


@dataclass
class Actions:
    """The console's operator_actions, in memory, with ReplayStore's guards."""

    docs: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def record(
        self, doc: dict[str, Any], session: Any, status: str = "recorded"
    ) -> dict[str, Any]:
        self.docs[doc["_id"]] = {**doc, "status": status}
        return dict(self.docs[doc["_id"]])

    async def follow(
        self, action_id: str, outcome: RedeliveryOutcome, at: datetime
    ) -> dict[str, Any]:
        if self.docs[action_id]["status"] not in UNSETTLED:
            return {}
        fields = {"status": outcome.status, "notification_status": outcome.notification_status}
        fields |= {"error": outcome.error} if outcome.error else {}
        self.docs[action_id] |= fields
        return fields


@dataclass
class Runtime:
    clock: ManualClock = field(default_factory=lambda: ManualClock(AT))
    emitted: list[Envelope] = field(default_factory=list)

    @asynccontextmanager
    async def unit_of_work(self, now: datetime) -> AsyncIterator[UnitOfWork]:
        uow = detached_unit_of_work(now=now)
        yield uow
        self.emitted += uow.emitted


def operations(notifications: Notifications) -> tuple[Operations, Runtime, Actions]:
    runtime, actions = Runtime(), Actions()
    ops = Operations(cast(ServiceRuntime, runtime), cast(ReplayStore, actions), notifications)
    return ops, runtime, actions


@pytest.mark.parametrize(
    ("views", "code"),
    [({}, "notification_not_found"), ({"n-1": notification("sent")}, "not_redeliverable")],
)
async def test_a_refused_redelivery_records_and_audits_nothing(
    views: dict[str, Any], code: str
) -> None:
    ops, runtime, actions = operations(Notifications(views))
    with pytest.raises(Refused) as refused:
        await redeliveries.redeliver(ops, "n-1", "asked", OPS)
    assert refused.value.code == code
    assert actions.docs == {} and runtime.emitted == []


async def test_a_redelivery_is_requested_then_says_what_notification_did() -> None:
    service = Notifications({"n-1": notification("failed")})
    ops, runtime, actions = operations(service)
    answer = await redeliveries.redeliver(ops, "n-1", "asked", OPS)

    [fact] = runtime.emitted
    assert fact.type == "operations.notification.redelivery.requested.v1"
    assert (fact.subject, fact.data["operator"], fact.data["notification_id"]) == (
        CODE,
        "ops",
        "n-1",
    )
    assert (answer["id"], answer["status"], answer["notification_status"]) == (
        fact.id,
        "requested",
        "failed",
    )
    assert answer["dossier_code"] == CODE  # the notification's own

    async def followed() -> tuple[str, str | None]:
        action = await redeliveries.follow_up(ops, actions.docs[fact.id])
        return action["status"], action.get("notification_status")

    # Its webhook subscription is paused: back in line, but held. Not done.
    service.views["n-1"] = notification("held", (fact.id, "queued"))
    assert await followed() == ("requested", "held")
    service.down = True  # notification does not answer: nothing is claimed
    assert await followed() == ("requested", "held")
    service.down = False
    service.views["n-1"] = notification("sent", (fact.id, "queued"))
    assert await followed() == ("sent", "sent")
    service.views["n-1"] = notification("failed", (fact.id, "queued"))  # later, elsewhere
    assert await followed() == ("sent", "sent")  # settled once


async def test_a_request_notification_refused_is_recorded_refused() -> None:
    service = Notifications({"n-1": notification("failed")})
    ops, runtime, actions = operations(service)
    first = await redeliveries.redeliver(ops, "n-1", "asked", OPS)
    second = await redeliveries.redeliver(ops, "n-1", "asked again", OPS)  # before it was handled
    service.views["n-1"] = notification(
        "pending", (first["id"], "queued"), (second["id"], "refused")
    )
    assert (await redeliveries.follow_up(ops, actions.docs[first["id"]]))["status"] == "requested"
    refused = await redeliveries.follow_up(ops, actions.docs[second["id"]])
    assert refused["status"] == "refused" and "not sent again" in refused["error"]
    assert len(runtime.emitted) == 2  # both were asked, and audit logs both requests
