"""Redelivery requests against the real broker and store: what notification does with
each, kept on the notification for whoever asked.

A webhook delivery fails (its receiver down); the receiver is fixed and a request puts
the notification back in line: it is sent, and the request is listed as ``queued``. A
second request for the notification, now sent, is refused: nothing is sent again, no
outcome fact is written, and the request is listed as ``refused`` with the status found.
"""

from __future__ import annotations

from typing import Any

from notification.config import NotificationSettings
from notification.main import create_app

from shared.envelope import Envelope
from shared.events.operations import NotificationRedeliveryRequested
from shared.testing import ActAs, envelopes, eventually, read_topic, running_app
from shared.topics import NOTIFICATION_EVENTS
from tests.integration.notification.helpers import publish
from tests.integration.notification.servers import WebhookReceiver
from tests.integration.notification.test_webhooks import reception, settled, subscribe
from tests.samples import AT, envelope_of

CODE = "001.21.31.H59-261126-0301"


def request(notification_id: str, operator: str) -> Envelope:
    return envelope_of(
        NotificationRedeliveryRequested(
            operator=operator,
            dossier_code=CODE,
            notification_id=notification_id,
            reason="asked in a test",
            requested_at=AT,
        )
    )


async def test_a_request_is_queued_once_failed_and_refused_once_sent(
    settings: NotificationSettings, receiver: WebhookReceiver
) -> None:
    down = receiver.endpoint("down", always_fail=True)
    attempts = settings.retry.max_attempts
    async with running_app(create_app(settings), ActAs("admin")) as client:
        await subscribe(client, receiver.url("down"), down)
        await publish(settings, reception(CODE))
        failed = await eventually(lambda: settled(client, CODE, "failed"))
        assert failed["redeliveries"] == 0 and failed["redelivery_requests"] == []

        down.always_fail = False
        first = request(failed["id"], "ops")
        await publish(settings, first)
        sent = await eventually(lambda: settled(client, CODE, "sent"))
        assert sent["redeliveries"] == 1 and len(sent["attempts"]) == 1
        # The failed round is still on show, not only in the record.
        assert sent["earlier_attempts"] == failed["attempts"]
        assert len(sent["earlier_attempts"]) == attempts
        assert _handled(sent) == [(first.id, "ops", "queued", "failed")]

        second = request(failed["id"], "ops2")
        await publish(settings, second)

        async def refused() -> Any:
            item = (await client.get(f"/v1/notifications/{failed['id']}")).json()
            return item if len(item["redelivery_requests"]) == 2 else None

        after = await eventually(refused)
    assert _handled(after) == [
        (first.id, "ops", "queued", "failed"),
        (second.id, "ops2", "refused", "sent"),
    ]
    assert (after["status"], after["redeliveries"], after["attempts"]) == (
        "sent",
        1,
        sent["attempts"],
    )
    assert down.requests == attempts + 1 and len(down.accepted) == 1
    # One failure and one success: the refused request wrote no outcome.
    outcomes = envelopes(await read_topic(settings.kafka, NOTIFICATION_EVENTS, expect=2))
    assert sorted(o.type for o in outcomes) == ["notification.failed.v1", "notification.sent.v1"]


def _handled(item: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    return [
        (r["event_id"], r["operator"], r["outcome"], r["status_found"])
        for r in item["redelivery_requests"]
    ]
