"""Fuzzing notification's API: every operation (subscribing, deleting, resuming,
replaying), with the cases schemathesis derives from its OpenAPI document, valid and
invalid, as an administrator and as an agency system; an existing subscription, a
webhook URL the settings admit and known event types are drawn half of the time. No
5xx, every status documented, every refusal a problem document, every answer in its
documented shape, and nothing written by a refused request
(``tests.integration.fuzzing``)."""

from __future__ import annotations

import pytest
from notification.config import NotificationSettings
from notification.main import create_app

from shared.testing import ActAs, running_app
from tests.integration.fuzzing import cases, fuzz

UNIT = "001.21.31.H59"
HOOK = "http://127.0.0.1:9/hook"


# The service's own tasks use `random` on the loop while hypothesis draws in its thread.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
async def test_the_notification_api_answers_every_request_as_documented(
    settings: NotificationSettings,
) -> None:
    app = create_app(settings)
    async with running_app(app, ActAs("admin")) as client:
        subscribe = {"url": HOOK, "event_types": ["dossier.received.v2"], "units": [UNIT]}
        created = await client.post("/v1/subscriptions", json=subscribe)
        assert created.status_code == 201, created.text
        hints = {
            "subscription_id": [created.json()["id"]],
            "url": [HOOK, "https://10.0.0.1/hook"],
            "event_types": [["dossier.received.v2"], ["notification.failed.v1"]],
            "units": [[UNIT], []],
        }
        drawn = cases(app.openapi(), hints=hints)
        statuses = []
        for identity in ("admin", f"agency:{UNIT}"):
            client.auth = ActAs(identity)
            statuses += await fuzz(client, drawn, examples=80, store=app.state.runtime.db)
    # Both kinds of case ran: answers (valid requests) and refusals (invalid ones).
    assert min(statuses) < 300 and max(statuses) >= 400
