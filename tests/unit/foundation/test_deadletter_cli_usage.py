"""``deadletter_cli`` says what is wrong in one line, never with a traceback: a position
that is not PARTITION:OFFSET is a usage error (exit 2), and a client the broker's ACLs
refuse (an operator using their service's client instead of the console's, or replaying
a unit's command, which the console's client may not write) names what it may do."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, TopicAuthorizationFailedError

from shared.kafka import deadletter_cli
from shared.kafka.deadletter import DeadLetter
from shared.settings import KafkaSettings
from shared.testing import RecordingPublisher


def run(monkeypatch: pytest.MonkeyPatch, *argv: str) -> None:
    monkeypatch.setenv("LT_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    monkeypatch.setattr(sys, "argv", ["deadletter_cli", *argv])
    deadletter_cli.main()


@pytest.mark.parametrize("given", ["abc", "1", "1:2:3", "1:x", "1:", "²:1"])
def test_a_position_that_is_not_partition_offset_is_a_usage_error(
    given: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def never(kafka: KafkaSettings, positions: list[tuple[int, int]]) -> None:
        raise AssertionError("nothing is read or replayed")

    monkeypatch.setattr(deadletter_cli, "replay_letters", never)
    with pytest.raises(SystemExit) as stopped:
        run(monkeypatch, "replay", "0:42", given)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert f"{given!r} is not PARTITION:OFFSET" in err and "Traceback" not in err


def test_positions_are_read_as_partition_and_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[list[tuple[int, int]]] = []

    async def replay(kafka: KafkaSettings, positions: list[tuple[int, int]]) -> None:
        asked.append(positions)

    monkeypatch.setattr(deadletter_cli, "replay_letters", replay)
    run(monkeypatch, "replay", "0:42", "2:7")
    assert asked == [[(0, 42), (2, 7)]]


@pytest.mark.parametrize("command", [["list"], ["replay", "1:6"]])
def test_a_client_the_acls_refuse_is_told_which_client_may(
    command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(*args: object) -> None:
        raise TopicAuthorizationFailedError("dossier.commands.000.00.31.H59")

    monkeypatch.setattr(deadletter_cli, "list_letters", refused)
    monkeypatch.setattr(deadletter_cli, "replay_letters", refused)
    monkeypatch.setenv("LT_KAFKA_OAUTH_CLIENT_ID", "routing")
    with pytest.raises(SystemExit) as stopped:
        run(monkeypatch, *command)
    said = str(stopped.value.code)
    assert said.startswith("the broker refused routing access to a topic")
    assert "dossier.commands.000.00.31.H59" in said
    assert "only the console's client may read the dead letters" in said
    assert "dossier.events, notification.events, operations.events" in said


def letter(offset: int, kind: str) -> DeadLetter:
    return DeadLetter(
        partition=1,
        offset=offset,
        key="001.21.31.H59-261202-0006",
        value=b"{}",
        headers=[],
        original_topic="dossier.events",
        original_partition=-1 if kind == "delivery_failed" else 0,
        original_offset=-1 if kind == "delivery_failed" else 7,
        consumer_group="notification" if kind == "delivery_failed" else "routing",
        error="DeliveryError: smtp 550" if kind == "delivery_failed" else "ValueError",
        error_kind=kind,
        attempts=5,
        failed_at="2026-12-02T03:00:00+00:00",
    )


async def test_a_failed_delivery_is_not_republished_but_sent_to_the_console(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Notification's inbox has a failed delivery's event: a republish resends nothing
    (docs/notification.md), so the CLI does not pretend it replayed it."""
    publisher = RecordingPublisher()

    async def retained(kafka: KafkaSettings) -> list[DeadLetter]:
        return [letter(2, "delivery_failed"), letter(3, "handler_failed")]

    @asynccontextmanager
    async def publishing(kafka: KafkaSettings, name: str) -> AsyncIterator[RecordingPublisher]:
        yield publisher

    monkeypatch.setattr(deadletter_cli, "read_dead_letters", retained)
    monkeypatch.setattr(deadletter_cli, "kafka_publisher", publishing)
    with pytest.raises(SystemExit) as stopped:
        await deadletter_cli.replay_letters(KafkaSettings(), [(1, 2), (1, 3)])
    assert str(stopped.value.code).startswith("not replayed 1:2: failed deliveries")
    assert "console's Dead letters page" in str(stopped.value.code)
    assert [(topic, headers[-2]) for topic, _, _, headers in publisher.raw] == [
        ("dossier.events", ("replayed_from", b"1:3"))
    ]


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (KafkaTimeoutError("Failed to get offsets by times in 40000 ms"), "did not answer in time"),
        (KafkaConnectionError("Unable to bootstrap"), "cannot reach the broker at"),
    ],
)
def test_a_broker_out_of_reach_or_silent_is_said_in_one_line(
    error: Exception, said: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agency's client, which may not even describe the dead letters, waited 40 s and
    ended in a KafkaTimeoutError traceback."""

    async def failing(*args: object) -> None:
        raise error

    monkeypatch.setattr(deadletter_cli, "list_letters", failing)
    monkeypatch.setenv("LT_KAFKA_OAUTH_CLIENT_ID", "agency-000.00.31.H59")
    with pytest.raises(SystemExit) as stopped:
        run(monkeypatch, "list")
    assert said in str(stopped.value.code)
