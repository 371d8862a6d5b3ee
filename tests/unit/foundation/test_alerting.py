"""Alerting: Prometheus sends to an Alertmanager of the compose file, whose routes name
its receivers; and the mechanisms behind the rules that watch for something stopped (a
worker's last good round, readiness at scrape, dead-letter counters from zero)."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

import shared.probes
from shared.clock import ManualClock
from shared.kafka.deadletter import DeadLetterWriter
from shared.probes import report_readiness
from shared.settings import KafkaSettings
from shared.workers import PeriodicWorker
from tests.samples import AT

ROOT = Path(__file__).resolve().parents[3]
OBSERVABILITY = ROOT / "infra" / "observability"


def load(name: str) -> Any:
    return yaml.safe_load((OBSERVABILITY / name).read_text())


def test_prometheus_sends_alerts_to_the_compose_alertmanager() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    manager = compose["services"]["alertmanager"]
    assert re.fullmatch(r"prom/alertmanager:v\d+\.\d+\.\d+", manager["image"])  # pinned
    config_path = next(a for a in manager["command"] if a.startswith("--config.file="))
    mounted = {v.split(":")[1]: v.split(":")[0] for v in manager["volumes"] if v.startswith("./")}
    assert mounted[config_path.removeprefix("--config.file=")] == (
        "./infra/observability/alertmanager.yml"
    )
    assert "127.0.0.1:9093:9093" in manager["ports"]
    assert "alertmanager" in compose["services"]["prometheus"]["depends_on"]
    targets = [
        target
        for manager_config in load("prometheus.yml")["alerting"]["alertmanagers"]
        for static in manager_config["static_configs"]
        for target in static["targets"]
    ]
    assert targets == ["alertmanager:9093"]


def test_every_route_names_a_receiver_and_the_operations_team_is_mailed() -> None:
    config = load("alertmanager.yml")
    receivers = {r["name"]: r for r in config["receivers"]}
    route = config["route"]
    assert route["receiver"] in receivers
    assert all(sub["receiver"] in receivers for sub in route["routes"])
    [mail] = receivers["operations"]["email_configs"]
    assert mail["to"] and mail["send_resolved"]
    assert config["global"]["smtp_smarthost"] and config["global"]["smtp_from"]
    assert config["global"]["smtp_require_tls"] is True
    # The always-firing Watchdog goes to the dead man's switch, not to the team's mail.
    [watchdog] = [sub for sub in route["routes"] if sub["receiver"] == "deadmans-switch"]
    assert watchdog["matchers"] == ['alertname = "Watchdog"']
    rules = load("alerts.yml")["groups"][0]["rules"]
    assert "Watchdog" in {rule["alert"] for rule in rules}
    severities = {rule["labels"]["severity"] for rule in rules}
    assert severities <= {"critical", "warning", "info", "none"}
    # An inhibition names alerts that exist.
    names = {rule["alert"] for rule in rules}
    for inhibit in config["inhibit_rules"]:
        for matcher in inhibit["source_matchers"] + inhibit["target_matchers"]:
            assert re.fullmatch(r'alertname = "(\w+)"', matcher)[1] in names  # type: ignore[index]


def test_down_and_absent_targets_and_the_scrape_token_are_watched() -> None:
    exprs = {rule["alert"]: rule["expr"] for rule in load("alerts.yml")["groups"][0]["rules"]}
    assert 'up{job="lienthong"} == 0' in exprs["ServiceDown"]
    scraped = load("prometheus.yml")["scrape_configs"][0]["static_configs"][0]["targets"]
    for service in ("intake", "routing", "notification", "audit", "console"):
        assert f'absent(up{{job="lienthong", instance=~"{service}:.*"}})' in exprs["ServiceAbsent"]
        assert any(target.startswith(f"{service}:") for target in scraped)
    assert 'sum(up{job="lienthong"}) == 0' in exprs["MetricsTokenRefused"]


class Flaky(PeriodicWorker):
    """Fails its first round, succeeds at its second and stops."""

    def __init__(self, name: str) -> None:
        super().__init__(name, 0.001)
        self.rounds = 0

    async def tick(self) -> None:
        self.rounds += 1
        if self.rounds == 1:
            raise RuntimeError("store away")
        self.stop()


def worker_sample(name: str, worker: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"worker": worker})


async def test_a_worker_reports_its_failures_from_zero_and_its_last_good_round() -> None:
    worker = Flaky("flaky-test-worker")
    before = time.time()
    await asyncio.wait_for(worker.run(), 5)
    assert worker.rounds == 2
    assert worker_sample("lt_worker_interval_seconds", worker.name) == 0.001
    assert worker_sample("lt_worker_failures_total", worker.name) == 1
    succeeded = worker_sample("lt_worker_last_success_timestamp_seconds", worker.name)
    assert succeeded is not None and succeeded >= before


def test_a_worker_built_but_never_run_reports_nothing() -> None:
    """The portal sender without an endpoint, witnessing without witnesses: built, not
    run; a heartbeat from their construction would go stale and page someone."""
    worker = Flaky("idle-test-worker")
    for name in (
        "lt_worker_last_success_timestamp_seconds",
        "lt_worker_interval_seconds",
        "lt_worker_failures_total",
    ):
        assert worker_sample(name, worker.name) is None


def test_expected_dead_letters_are_exported_at_zero_before_the_first() -> None:
    writer = DeadLetterWriter(None, KafkaSettings(), ManualClock(AT), "alerting-tests")  # type: ignore[arg-type]
    labels = {"service": "alerting-tests", "topic": "t.events"}
    assert (
        REGISTRY.get_sample_value("lt_dead_letters_total", {**labels, "kind": "malformed"}) is None
    )
    writer.expect("t.events", ("malformed", "handler_failed"))
    for kind in ("malformed", "handler_failed"):
        assert REGISTRY.get_sample_value("lt_dead_letters_total", {**labels, "kind": kind}) == 0


async def test_readiness_is_reported_at_the_scrape_degradable_checks_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def ok() -> None:
        return None

    async def down() -> None:
        raise ConnectionError("refused")

    async def hangs() -> None:
        await asyncio.Event().wait()  # never answers: bounded by the scrape's wait

    def sample(name: str, **labels: str) -> float | None:
        return REGISTRY.get_sample_value(name, {"service": "readiness-tests", **labels})

    await report_readiness("readiness-tests", {"store": ok, "broker": down}, frozenset({"broker"}))
    assert sample("lt_ready") == 1  # degraded is ready
    assert sample("lt_readiness_check", check="store") == 1
    assert sample("lt_readiness_check", check="broker") == 0
    await report_readiness("readiness-tests", {"store": down, "broker": ok}, frozenset({"broker"}))
    assert sample("lt_ready") == 0
    assert sample("lt_readiness_check", check="store") == 0
    await report_readiness("readiness-tests", {"store": ok}, frozenset())
    assert sample("lt_ready") == 1
    monkeypatch.setattr(shared.probes, "READINESS_CHECK_S", 0.01)
    await report_readiness("readiness-tests", {"store": hangs}, frozenset())
    assert sample("lt_ready") == 0  # a check that does not answer in time fails
