"""The deployment's observability files: Prometheus scrapes every service, its alert
rules name metrics the services really export, and the collector sends traces to Jaeger."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

import shared.alerting_metrics
import shared.telemetry.metrics  # noqa: F401 - registers the platform's metrics

ROOT = Path(__file__).resolve().parents[3]
OBSERVABILITY = ROOT / "infra" / "observability"


def exported_metric_names() -> set[str]:
    names: set[str] = set()
    for family in REGISTRY.collect():
        names |= {sample.name for sample in family.samples} | {family.name}
        if family.type == "counter":
            names.add(f"{family.name}_total")  # the sample name before any label set is used
    return names


def test_alert_rules_cover_traffic_and_what_stopped() -> None:
    rules = yaml.safe_load((OBSERVABILITY / "alerts.yml").read_text())["groups"][0]["rules"]
    by_name = {rule["alert"]: rule["expr"] for rule in rules}
    assert set(by_name) == {
        "ConsumerLagHigh",
        "DeadLettersWritten",
        "OutboxOldestEntryOld",
        "HttpRequestsShed",  # more requests than the machine carries
        "AgencyFeedCopiesWaiting",
        "OverdueDossiersGrowing",
        "WithdrawalRequestsWaitingForReception",  # a reception missing in routing
        # a service, its scrape token, its readiness, its loops
        "ServiceDown",
        "ServiceAbsent",
        "MetricsTokenRefused",
        "ServiceNotReady",
        "DependencyUnavailable",
        "BackgroundWorkerStalled",
        "OutboxRelayStalled",
        "AuditCheckpointsLate",
        "AuditWitnessQuorumLate",
        "PortalMessagesDead",
        "PortalMessagesHeld",
        "Watchdog",
    }
    exported = exported_metric_names()
    for name, expr in by_name.items():
        metrics = set(re.findall(r"\blt_[a-z_]+", expr))
        assert metrics <= exported, f"{name} uses unknown metrics {metrics - exported}"
    assert all(rule["annotations"]["summary"] for rule in rules)
    assert all(rule["labels"]["severity"] for rule in rules)


def test_prometheus_scrapes_every_service_and_witness_and_loads_the_rules() -> None:
    config = yaml.safe_load((OBSERVABILITY / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    [job] = config["scrape_configs"]
    targets = set(job["static_configs"][0]["targets"])
    assert targets == {
        "intake:8001",
        "routing:8002",
        "notification:8003",
        "audit:8004",
        "console:8005",
        "witness-1:8011",
        "witness-2:8012",
    }
    assert job["oauth2"]["client_id"] == "monitoring"  # /metrics needs a token


def test_the_collector_forwards_traces_to_jaeger() -> None:
    config = yaml.safe_load((OBSERVABILITY / "otel-collector.yaml").read_text())
    pipeline = config["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"] and pipeline["exporters"] == ["otlp/jaeger"]
    assert config["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["x-common-env"]["LT_TELEMETRY_OTLP_ENDPOINT"].endswith("otel-collector:4318}")
