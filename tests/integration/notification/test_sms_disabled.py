"""Without an SMS provider (the deployment default), an applicant's SMS is recorded as
failed with the reason, and its outcome fact says so: never ``sent``, never written
anywhere, and not dead-lettered (no replay could deliver it). The reason is stored with
its attempt: an outcome rebuilt from it after a restart keeps it, and attempts stored
before reasons were are read by their text."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from notification.config import NotificationSettings, SmsSettings
from notification.delivery_errors import shown
from notification.main import create_app
from notification.sms import SMS_DISABLED, SMS_DISABLED_REASON
from notification.store import NotificationStore

from shared.clock import ManualClock
from shared.kafka.deadletter import read_dead_letters
from shared.runtime import ServiceRuntime
from shared.testing import ActAs, eventually, running_app
from tests.integration.notification.dispatching import RecordingChannel, dispatcher, record
from tests.integration.notification.helpers import notifications, publish, sms_lines
from tests.integration.notification.servers import _Collector
from tests.samples import contact, envelope_of, received, registered

CODE = "001.21.31.H59-261126-0301"


@pytest.fixture
def settings(settings: NotificationSettings, sms_file: Path) -> NotificationSettings:
    return settings.model_copy(update={"sms": SmsSettings(provider="none", file=sms_file)})


async def test_an_sms_without_a_provider_is_recorded_as_failed_not_sent(
    settings: NotificationSettings, runtime: ServiceRuntime, smtp: _Collector, sms_file: Path
) -> None:
    async with running_app(create_app(settings), ActAs("admin")) as client:
        await publish(
            settings, envelope_of(registered(CODE, contact())), envelope_of(received(CODE))
        )
        items = await eventually(lambda: _ended(client))
    by_channel = {item["channel"]: item for item in items}
    assert by_channel["email"]["status"] == "sent"
    sms = by_channel["sms"]
    assert (sms["status"], sms["error"]) == ("failed", SMS_DISABLED)
    assert [a["outcome"] for a in sms["attempts"]] == ["failed"]  # not retried
    assert sms_lines(sms_file) == []  # written nowhere
    stored = await runtime.db["notifications"].find_one({"_id": sms["id"]})
    assert stored is not None
    assert [a.get("reason") for a in stored["attempts"]] == [SMS_DISABLED_REASON]

    outcomes = [
        json.loads(doc["envelope"])
        async for doc in runtime.db["outbox"].find(
            {"type": {"$in": ["notification.sent.v1", "notification.failed.v1"]}}
        )
    ]
    facts = {(o["type"], o["data"]["channel"]) for o in outcomes}
    assert facts == {("notification.sent.v1", "email"), ("notification.failed.v1", "sms")}
    failed = next(o for o in outcomes if o["type"] == "notification.failed.v1")
    assert failed["data"]["error"] == SMS_DISABLED
    # A dead letter is written before the outcome is settled: none by now means none.
    assert await read_dead_letters(settings.kafka) == []


async def _ended(client: Any) -> list[dict[str, Any]] | None:
    items = await notifications(client, CODE)
    ended = [i for i in items if i["status"] in {"sent", "failed"}]
    return items if len(items) == 2 and len(ended) == 2 else None


@pytest.mark.parametrize(
    ("stored", "label"),
    [
        # Its reason decides, whatever the text (a later wording, say).
        ({"error": "SMS off: no provider", "reason": SMS_DISABLED_REASON}, "with its reason"),
        # Stored before attempts had a reason: read by its text (legacy fallback).
        ({"error": SMS_DISABLED}, "text only"),
    ],
)
async def test_an_outcome_rebuilt_after_a_restart_keeps_the_sms_disabled_reason(
    runtime: ServiceRuntime, stored: dict[str, str], label: str
) -> None:
    """A sender died after its last attempt was stored: the next one rebuilds the outcome
    from that attempt, and it is still recorded failed, not dead-lettered."""
    assert isinstance(runtime.clock, ManualClock)
    await record(runtime, ["D-sms-restart"])
    store = NotificationStore(runtime.db)
    lease = timedelta(seconds=60)
    ids = {}
    for _ in range(2):  # email and SMS, claimed by a sender that then died
        doc = await store.claim(runtime.clock.now(), lease, "dead")
        assert doc is not None
        ids[doc["channel"]] = doc["_id"]
        attempts = (
            [{"number": 1, "outcome": "ok", "error": None}]
            if doc["channel"] == "email"
            else [{"number": n, "outcome": "failed", **stored} for n in (1, 2, 3)]  # all spent
        )
        for attempt in attempts:
            at = runtime.clock.now()
            await store.add_attempt(doc["_id"], {**attempt, "at": at}, at + lease)
    runtime.clock.advance(lease + timedelta(seconds=1))
    channel = RecordingChannel()

    assert await dispatcher(runtime, channel).dispatch_once() == 2, label
    assert channel.sent == []  # nothing sent again
    sms = await runtime.db["notifications"].find_one({"_id": ids["sms"]})
    assert sms is not None
    # The error by the rule every delivery error goes through: the current wording as it
    # is, another (not one of delivery_errors' forms) withheld; the reason decides alone.
    assert (sms["status"], sms["error"]) == ("failed", shown(stored["error"]))
    assert shown(SMS_DISABLED) == SMS_DISABLED
    assert await store.count("sent") == 1
    # A dead letter is written before the outcome is settled: none by now means none.
    assert await read_dead_letters(runtime.settings.kafka) == []
