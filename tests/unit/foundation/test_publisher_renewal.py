"""A producer whose idempotence state the broker lost is replaced, not retried for ever.

Found by the fault matrix: after a broker restart, one service's idempotent producer
answered every send with OutOfOrderSequenceNumber and its outbox never drained.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka.errors import OutOfOrderSequenceNumber

from shared.events.dossier import DossierState
from shared.events.registry import make_envelope
from shared.events.withdrawal import DossierWithdrawn
from shared.kafka.publisher import KafkaPublisher, Outgoing
from shared.settings import KafkaSettings
from shared.topics import DOSSIER_EVENTS


class FakeProducer:
    """Records sends; a broken one fails every send like a producer out of sequence."""

    def __init__(self, broken: bool) -> None:
        self.broken = broken
        self.sent: list[bytes] = []
        self.started = self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def send(self, topic: str, value: bytes, **_: Any) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.broken:
            future.set_exception(OutOfOrderSequenceNumber())
        else:
            self.sent.append(value)
            future.set_result(None)
        return future


def event() -> Any:
    data = DossierWithdrawn(
        dossier_code="D-1",
        state=DossierState.WITHDRAWN,
        holding_unit="U",
        withdrawn_at=datetime(2026, 11, 30, 8, tzinfo=UTC),
    )
    return make_envelope(data, source="/tests")


async def test_a_producer_out_of_sequence_is_replaced_and_the_retry_goes_through() -> None:
    broken, fresh = FakeProducer(broken=True), FakeProducer(broken=False)
    publisher = KafkaPublisher(
        broken,
        KafkaSettings(),
        "tests",
        rebuild=lambda: fresh,
    )
    message: Outgoing = (event(), DOSSIER_EVENTS, [])

    with pytest.raises(OutOfOrderSequenceNumber):
        await publisher.publish_batch([message])
    assert fresh.started and broken.stopped

    await publisher.publish_batch([message])  # the relay's next attempt
    assert len(fresh.sent) == 1
