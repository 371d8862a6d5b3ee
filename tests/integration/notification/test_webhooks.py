"""Webhooks against a real receiver: retries, dead letters, pausing, secrets, subscriptions."""

from __future__ import annotations

from typing import Any

import httpx
from notification.config import NotificationSettings
from notification.main import create_app

from shared.envelope import Envelope
from shared.kafka.deadletter import read_dead_letters
from shared.testing import ActAs, envelopes, eventually, read_topic, running_app
from shared.topics import DOSSIER_EVENTS, NOTIFICATION_EVENTS, topic_name
from tests.integration.notification.helpers import SECRET, notifications, publish
from tests.integration.notification.servers import Endpoint, WebhookReceiver
from tests.samples import envelope_of, received

CODES = [f"001.21.31.H59-261126-01{n:02d}" for n in range(10)]


def reception(code: str) -> Envelope:
    # No contact registered: only the subscriber is told, so the webhook is all there is to see.
    return envelope_of(received(code))


async def subscribe(
    client: httpx.AsyncClient, url: str, endpoint: Endpoint | None = None, **extra: Any
) -> dict[str, Any]:
    """Subscribe; the receiving endpoint keeps the secret the answer shows once."""
    response = await client.post(
        "/v1/subscriptions", json={"url": url, "event_types": ["dossier.received.v2"], **extra}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    if endpoint is not None:
        endpoint.secret = body["secret"]
    return body


async def settled(client: httpx.AsyncClient, code: str, status: str) -> dict[str, Any] | None:
    items = await notifications(client, code)
    return items[0] if len(items) == 1 and items[0]["status"] == status else None


async def test_receiver_failing_twice_then_succeeding_gets_exactly_one_delivery(
    settings: NotificationSettings, receiver: WebhookReceiver
) -> None:
    flaky = receiver.endpoint("flaky", fail_first=2)
    event = reception(CODES[0])
    async with running_app(create_app(settings), ActAs("admin")) as client:
        await subscribe(client, receiver.url("flaky"), flaky)
        await publish(settings, event)
        item = await eventually(lambda: settled(client, CODES[0], "sent"))

    assert flaky.requests == 3
    assert flaky.accepted == [{"event_id": event.id, "event_type": "dossier.received.v2"}]
    assert flaky.duplicates == 0 and flaky.rejected == []
    assert [(a["number"], a["outcome"], a["error"]) for a in item["attempts"]] == [
        (1, "failed", "HTTP 503 Service Unavailable"),
        (2, "failed", "HTTP 503 Service Unavailable"),
        (3, "ok", None),
    ]
    [sent] = envelopes(await read_topic(settings.kafka, NOTIFICATION_EVENTS, expect=1))
    assert sent.type == "notification.sent.v1"
    assert (sent.data["attempts"], sent.data["recipient_kind"]) == (3, "subscriber")
    assert sent.causationid == event.id and sent.correlationid == event.correlationid


async def test_receiver_that_always_fails_is_dead_lettered_then_paused_until_resumed(
    settings: NotificationSettings, receiver: WebhookReceiver
) -> None:
    down = receiver.endpoint("down", always_fail=True)
    first, second, third = (reception(code) for code in CODES[:3])
    attempts = settings.retry.max_attempts
    async with running_app(create_app(settings), ActAs("admin")) as client:
        sub = await subscribe(client, receiver.url("down"), down)

        # Two deliveries in a row spend their retries (the pause threshold is 2).
        await publish(settings, first, second)
        await eventually(lambda: settled(client, CODES[0], "failed"))
        await eventually(lambda: settled(client, CODES[1], "failed"))
        status = (await client.get(f"/v1/subscriptions/{sub['id']}")).json()
        assert status["status"] == "paused"
        assert "2 consecutive failed deliveries" in status["paused_reason"]
        assert status["consecutive_failures"] == 2
        assert down.requests == 2 * attempts

        # Paused: the next event is recorded but held, and the receiver hears nothing.
        await publish(settings, third)
        held = await eventually(lambda: settled(client, CODES[2], "held"))
        assert held["attempts"] == [] and down.requests == 2 * attempts

        # The receiver is fixed; resuming releases what was held.
        down.always_fail = False
        resumed = await client.post(f"/v1/subscriptions/{sub['id']}/resume")
        assert resumed.status_code == 200
        assert resumed.json()["released"] == 1
        assert resumed.json()["subscription"]["status"] == "active"
        await eventually(lambda: settled(client, CODES[2], "sent"))
        assert down.accepted == [{"event_id": third.id, "event_type": "dossier.received.v2"}]

    letters = await read_dead_letters(settings.kafka)
    assert len(letters) == 2
    assert {Envelope.from_bytes(letter.value).id for letter in letters} == {first.id, second.id}
    for letter in letters:
        assert letter.error_kind == "delivery_failed"
        assert letter.error == "DeliveryError: HTTP 503 Service Unavailable"
        assert letter.attempts == attempts
        assert letter.original_topic == topic_name(settings.kafka.topic_prefix, DOSSIER_EVENTS)
        assert letter.key in CODES[:2]
        assert (b"dlq_subscription_id", sub["id"].encode()) in [
            (k.encode(), v) for k, v in letter.headers
        ]
    outcomes = envelopes(await read_topic(settings.kafka, NOTIFICATION_EVENTS, expect=3))
    assert sorted(o.type for o in outcomes) == [
        "notification.failed.v1",
        "notification.failed.v1",
        "notification.sent.v1",
    ]
    failed = [o for o in outcomes if o.type == "notification.failed.v1"]
    assert all(
        o.data["error"] == "HTTP 503 Service Unavailable" and o.data["attempts"] == attempts
        for o in failed
    )


async def test_a_wrong_secret_is_detected_by_the_receiver_and_not_retried(
    settings: NotificationSettings, receiver: WebhookReceiver
) -> None:
    strict = receiver.endpoint("strict")
    async with running_app(create_app(settings), ActAs("admin")) as client:
        await subscribe(client, receiver.url("strict"))
        strict.secret = "not-the-secret-the-service-generated"
        await publish(settings, reception(CODES[3]))
        item = await eventually(lambda: settled(client, CODES[3], "failed"))

    assert strict.rejected == ["signature mismatch"]
    assert strict.accepted == []
    assert [(a["outcome"], a["error"]) for a in item["attempts"]] == [
        ("failed", "HTTP 401 Unauthorized")
    ]
    [letter] = await read_dead_letters(settings.kafka)
    assert letter.error == "DeliveryError: HTTP 401 Unauthorized" and letter.attempts == 1


async def test_subscriptions_can_be_listed_read_and_deleted_without_showing_secrets(
    settings: NotificationSettings, receiver: WebhookReceiver
) -> None:
    kept = receiver.endpoint("kept")
    gone = receiver.endpoint("gone")
    async with running_app(create_app(settings), ActAs("admin")) as client:
        shown = await subscribe(client, receiver.url("kept"), kept, units=["001.21.31.H59"])
        removed = await subscribe(client, receiver.url("gone"), gone, description="old portal")
        listed = await client.get("/v1/subscriptions")
        read = await client.get(f"/v1/subscriptions/{shown['id']}")
        for answer in (listed, read):
            assert shown["secret"] not in answer.text and "secret" not in answer.text
        assert {s["url"] for s in listed.json()} == {receiver.url("kept"), receiver.url("gone")}

        assert (await client.delete(f"/v1/subscriptions/{removed['id']}")).status_code == 204
        missing = await client.get(f"/v1/subscriptions/{removed['id']}")
        assert missing.status_code == 404
        assert missing.json()["code"] == "not_found"
        assert (await client.delete(f"/v1/subscriptions/{removed['id']}")).status_code == 404
        assert [s["url"] for s in (await client.get("/v1/subscriptions")).json()] == [
            receiver.url("kept")
        ]

        await publish(settings, reception(CODES[4]))
        await eventually(lambda: settled(client, CODES[4], "sent"))
    assert len(kept.accepted) == 1 and gone.requests == 0


VALID: dict[str, Any] = {
    "url": "https://127.0.0.1/hooks",  # admitted by the tests' allow-list
    "event_types": ["dossier.received.v2"],
}


INVALID: list[tuple[dict[str, Any], str, str]] = [
    ({"url": "ftp://portal.example/hooks"}, "invalid_url", "url"),
    ({"url": "/hooks"}, "invalid_url", "url"),
    ({"url": "https://"}, "invalid_url", "url"),
    ({"url": "https://user:pw@portal.example/hooks"}, "invalid_url", "url"),
    ({"url": "https://[::1"}, "invalid_url", "url"),
    ({"url": "https://portal.example:99999/hooks"}, "invalid_url", "url"),
    ({"url": "https://portal.example:abc/hooks"}, "invalid_url", "url"),
    ({"event_types": ["dossier.teleported.v1"]}, "unknown_event_type", "event_types.0"),
    ({"event_types": ["command.transfer.accept.v1"]}, "unknown_event_type", "event_types.0"),
    ({"event_types": []}, "invalid_request", "event_types"),
    # The service generates the signing secret; a caller cannot choose one.
    ({"secret": SECRET}, "invalid_request", "secret"),
    ({"units": [""]}, "invalid_request", "units.0"),
    ({"colour": "blue"}, "invalid_request", "colour"),
]


async def test_invalid_subscription_requests_get_clear_errors(
    settings: NotificationSettings,
) -> None:
    async with running_app(create_app(settings), ActAs("admin")) as client:
        for change, code, field in INVALID:
            body = {k: v for k, v in {**VALID, **change}.items() if v is not None}
            response = await client.post("/v1/subscriptions", json=body)
            assert response.status_code == 422, (change, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            problem = response.json()
            assert (problem["code"], problem["field"]) == (code, field), change
            assert problem["detail"]
        assert (await client.get("/v1/subscriptions")).json() == []


async def test_malformed_json_and_unknown_notification_are_clear_errors(
    settings: NotificationSettings,
) -> None:
    async with running_app(create_app(settings), ActAs("admin")) as client:
        malformed = await client.post(
            "/v1/subscriptions", content=b"{not json", headers={"content-type": "application/json"}
        )
        unknown = await client.get("/v1/notifications/no-such-id")
        no_dossier = await client.get("/v1/notifications")
    assert (malformed.status_code, malformed.json()["code"]) == (400, "malformed_json")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert (no_dossier.status_code, no_dossier.json()["field"]) == (422, "query.dossier")
