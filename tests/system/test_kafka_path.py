"""``python -m bench.kafka_path`` keeps working: a tiny run publishes, consumes, reports.

No figure is asserted (they depend on the machine): what must hold is that every
published event reaches every consumer group through the consumer runner, in both
modes, and that a variant's settings are the ones the run used.
"""

from __future__ import annotations

import pytest

from bench.kafka_path import arguments, measure, varied
from shared.runtime import CommonSettings


@pytest.mark.parametrize("mode", ["noop", "ignored"])
async def test_a_tiny_run_reports_cpu_and_latency_for_every_event(mode: str) -> None:
    tiny = "--shared-broker --rate 40 --seconds 2 --warm-up 1 --groups 2"
    args = arguments([*tiny.split(), "--mode", mode, "--vary", "kafka.linger_ms=1"])

    [result] = await measure(args)

    assert result["variant"] == "kafka.linger_ms=1"
    assert isinstance(result["events"], int) and result["events"] > 0
    cpu = result["cpu_ms_per_event"]
    assert isinstance(cpu, dict) and cpu["bench_process"] > 0
    latency = result["latency_ms"]
    assert isinstance(latency, dict) and 0 < latency["p50"] <= latency["p99"]


def test_a_variant_changes_only_the_settings_it_names() -> None:
    settings = CommonSettings()

    changed = varied(settings, "kafka.linger_ms=20, consumer.fetch_max_wait_ms=300")

    assert (changed.kafka.linger_ms, changed.consumer.fetch_max_wait_ms) == (20, 300)
    assert changed.consumer.fetch_min_bytes == settings.consumer.fetch_min_bytes
    assert changed.kafka.bootstrap_servers == settings.kafka.bootstrap_servers
    assert varied(settings, "") == settings
