"""What ``deadletter_cli`` prints when it cannot read the dead letters is its own one line
(README, "Delivery guarantees"): a broker out of reach, or a client the ACLs refuse the
topic, after one wait of the request timeout. aiokafka's own logs stay out of it (a
refused client's "Topic deadletters is not authorized for this client" came at every
metadata retry: some hundred thousand lines), and the consumer is stopped whatever
happened (no "Unclosed AIOKafkaConsumer")."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError

from shared.kafka import reading
from shared.settings import KafkaSettings
from shared.topics import DEAD_LETTERS

ROOT = Path(__file__).resolve().parents[3]


def closed_port() -> int:
    """A local port nothing listens on: a connection to it is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_a_broker_out_of_reach_is_said_in_one_line(tmp_path: Path) -> None:
    broker = f"127.0.0.1:{closed_port()}"
    done = subprocess.run(
        [sys.executable, "-m", "shared.kafka.deadletter_cli", "list"],
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": f"{ROOT}:{ROOT / 'services'}",
            "HOME": str(tmp_path),
            "LT_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
            "LT_KAFKA_BOOTSTRAP_SERVERS": broker,
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        line for line in done.stderr.splitlines() if line.startswith("cannot reach the broker")
    ]
    assert len(done.stderr.splitlines()) == 1, done.stderr


class RefusedConsumer:
    """A consumer whose client may not see the topic, as aiokafka behaves with it: every
    wait for the topic's offsets lasts the whole request timeout; asking for them then
    fails with a timeout, while seek_to_beginning returns after its wait."""

    def __init__(self, **config: Any) -> None:
        self.waits = 0
        self.stopped = False
        CONSUMERS.append(self)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        self.stopped = True

    def assign(self, tps: list[TopicPartition]) -> None:
        pass

    def seek(self, tp: TopicPartition, offset: int) -> None:
        pass

    async def seek_to_beginning(self, *tps: TopicPartition) -> None:
        self.waits += 1

    async def beginning_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        self.waits += 1
        raise KafkaTimeoutError("Failed to get offsets by times in 40000 ms")

    async def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        self.waits += 1
        raise KafkaTimeoutError("Failed to get offsets by times in 40000 ms")


class UnreachableConsumer(RefusedConsumer):
    async def start(self) -> None:
        raise KafkaConnectionError("Unable to bootstrap")


CONSUMERS: list[RefusedConsumer] = []


@pytest.fixture(autouse=True)
def forget_consumers() -> None:
    CONSUMERS.clear()


async def test_a_refused_client_waits_for_the_broker_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reading, "AIOKafkaConsumer", RefusedConsumer)
    with pytest.raises(KafkaTimeoutError):
        await reading.read_retained(KafkaSettings(security_protocol="PLAINTEXT"), DEAD_LETTERS)
    [consumer] = CONSUMERS
    assert consumer.waits == 1  # 40 s, as the README says; it was 80
    assert consumer.stopped


async def test_a_consumer_that_cannot_start_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "AIOKafkaConsumer", UnreachableConsumer)
    with pytest.raises(KafkaConnectionError):
        await reading.read_retained(KafkaSettings(security_protocol="PLAINTEXT"), DEAD_LETTERS)
    [consumer] = CONSUMERS
    assert consumer.stopped
