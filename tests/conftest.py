"""Test configuration: markers by folder, isolated broker and store names per test, an SMTP sink."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
from hypothesis import settings

from shared.kafka.admin import ensure_topics
from shared.runtime import CommonSettings
from shared.settings import ConsumerSettings, OutboxSettings
from shared.testing import drop_isolated, free_port, isolated_settings

TESTS = Path(__file__).parent
# The suite talks to the local broker's plaintext listener (127.0.0.1:9092), where no one
# authenticates: chosen explicitly here, since the settings default to SASL. The tests of
# authentication and ACLs (tests/integration/kafka_security) run their own secured broker.
os.environ.setdefault("LT_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
# No timed assertions: a property's example may take longer than hypothesis's default
# 200 ms deadline on a loaded machine without anything being wrong.
settings.register_profile("untimed", deadline=None)
settings.load_profile("untimed")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by folder so `-m "not integration"` runs without servers."""
    for item in items:
        parts = Path(str(item.fspath)).relative_to(TESTS).parts
        if parts[0] == "integration":
            item.add_marker(pytest.mark.integration)
        elif parts[0] == "system":
            item.add_marker(pytest.mark.system)


@pytest.fixture
async def common_settings() -> AsyncIterator[CommonSettings]:
    """Settings for one test: its own topics (created) and databases, fast retries."""
    kafka, mongo = isolated_settings()
    await ensure_topics(kafka)
    settings = CommonSettings(
        kafka=kafka,
        mongo=mongo,
        consumer=ConsumerSettings(
            max_attempts=3, backoff_initial_s=0.01, backoff_max_s=0.05, session_timeout_ms=6000
        ),
        outbox=OutboxSettings(poll_interval_s=0.05, retry_delay_s=0.1, lease_s=5),
    )
    yield settings
    await drop_isolated(settings.kafka, settings.mongo)


@pytest.fixture
def smtp_port() -> Iterator[int]:
    """An SMTP server on a free port that accepts every message and keeps none."""
    port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
