"""A redelivery whose webhook subscription is paused, from the console, against the real
broker and store, notification served over HTTP and a real webhook receiver.

The receiver is down: the delivery fails and its subscription is paused. The operator
redelivers it from the dossier page: notification puts it back in line, but holds it
for the paused subscription, and the console's action says ``requested`` with the
notification ``held`` (it used to say ``done`` while nothing was sent). Once the
receiver is fixed and the subscription resumed, the delivery goes out and the action
says ``sent``. Audit has the one request; redelivering the sent notification is refused.
"""

from __future__ import annotations

from typing import Any

import httpx
from console.config import ConsoleOptions, ConsoleSettings
from console.main import create_app as console_app
from notification.config import (
    DispatchSettings,
    NotificationSettings,
    RetrySettings,
    SmtpSettings,
    WebhookSettings,
)
from notification.main import create_app as notification_app

from shared.envelope import Envelope
from shared.runtime import CommonSettings
from shared.testing import ActAs, eventually, read_topic, running_app
from shared.topics import OPERATIONS_EVENTS
from tests.integration.notification.helpers import publish
from tests.integration.notification.servers import webhook_receiver
from tests.integration.notification.test_webhooks import reception, settled, subscribe
from tests.integration.serving import served

CODE = "001.21.31.H59-261126-0401"


async def test_a_held_redelivery_is_not_called_done_and_is_followed_until_sent(
    common_settings: CommonSettings, smtp_port: int
) -> None:
    common = common_settings.model_dump()
    notification = NotificationSettings(
        **common,
        smtp=SmtpSettings(host="127.0.0.1", port=smtp_port, timeout_s=5),
        retry=RetrySettings(max_attempts=2, initial_s=0.01, max_s=0.02, jitter_s=0.0),
        webhook=WebhookSettings(
            timeout_s=5, pause_after_failures=1, allow_http=True, allowed_networks=["127.0.0.1/32"]
        ),
        dispatch=DispatchSettings(poll_interval_s=0.05, lease_s=30),
    )
    async with (
        webhook_receiver() as receiver,
        served(notification_app(notification)) as url,
        httpx.AsyncClient(base_url=url, auth=ActAs("admin")) as notifier,
    ):
        down = receiver.endpoint("down", always_fail=True)
        subscription = await subscribe(notifier, receiver.url("down"), down)
        await publish(common_settings, reception(CODE))
        failed = await eventually(lambda: settled(notifier, CODE, "failed"), timeout=30)
        paused = (await notifier.get(f"/v1/subscriptions/{subscription['id']}")).json()
        assert paused["status"] == "paused"

        console = ConsoleSettings(
            **common, console=ConsoleOptions(actions_enabled=True, notification_url=url)
        )
        async with running_app(console_app(console), ActAs("operations")) as desk:
            path = f"/api/notifications/{failed['id']}/redeliver"
            asked = await desk.post(path, json={"reason": "receiver fixed"})
            assert asked.status_code == 200, asked.text
            action = asked.json()
            assert (action["status"], action["notification_status"]) == ("requested", "failed")
            assert (action["dossier_code"], action["operator"]) == (CODE, "ops")

            async def shown(status: str, notification_status: str) -> Any:
                [item] = (await desk.get("/api/actions")).json()["items"]
                wanted = (status, notification_status)
                return item if (item["status"], item["notification_status"]) == wanted else None

            # Back in line, but held for the paused subscription: requested, not done.
            await eventually(lambda: shown("requested", "held"), timeout=30)
            held = await settled(notifier, CODE, "held")
            assert held is not None and held["attempts"] == []

            down.always_fail = False
            resumed = await notifier.post(f"/v1/subscriptions/{subscription['id']}/resume")
            assert resumed.status_code == 200 and resumed.json()["released"] == 1
            done = await eventually(lambda: shown("sent", "sent"), timeout=30)
            assert done["_id"] == action["id"] and done["settled_at"]
            assert len(down.accepted) == 1

            again = await desk.post(path, json={})
            assert again.status_code == 409 and again.json()["code"] == "not_redeliverable"

    [fact] = [
        Envelope.from_bytes(r.value)
        for r in await read_topic(common_settings.kafka, OPERATIONS_EVENTS, expect=1)
    ]
    assert (fact.id, fact.type, fact.data["operator"], fact.data["reason"]) == (
        action["id"],
        "operations.notification.redelivery.requested.v1",
        "ops",
        "receiver fixed",
    )
