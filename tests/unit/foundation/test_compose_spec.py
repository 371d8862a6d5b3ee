"""docker-compose.yml (and the cluster profile) as ``docker compose config`` would see them.

There is no Docker engine here and the ``docker`` client has no compose plugin, so
``docker compose config`` cannot run. Instead the files are merged as compose merges
them, interpolated with compose's ``${NAME:-default}`` / ``${NAME:?error}`` rules, and
validated against the Compose Specification by the ``compose_spec`` library (the Rust
``compose_spec`` crate): unknown keys, bad durations, ports, restart policies and
dependency conditions are refused as compose refuses them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from compose_spec import PyCompose
from notification.config import SmsSettings
from notification.sms import DisabledSmsProvider, build_sms_provider

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ["intake", "routing", "notification", "audit", "console"]
OBSERVABILITY = {"otel-collector", "jaeger", "prometheus", "alertmanager"}
SECRETS = {
    "LT_INTAKE_IDENTITY_HASH_KEY": "a" * 64,
    "LT_INTAKE_RECEIPT_KEY": "b" * 64,
    "LT_NOTIFICATION_PRIVACY_KEY": "c" * 64,
    "LT_AUDIT_KEY_WRAPPING_KEY": "0a" * 32,
    "LT_NOTIFICATION_SMTP_HOST": "smtp.example.vn",
    "LT_NOTIFICATION_SMTP_SENDER": "Một cửa liên thông <no-reply@tiengiang.gov.vn>",
    "LT_NOTIFICATION_LOOKUP_BASE_URL": "https://motcua.tiengiang.gov.vn/v1/dossiers/",
    "LT_NOTIFICATION_UNIT_CHANNELS_FILE": "./data/notification/unit-channels.json",
    "LT_KEYCLOAK_ADMIN_PASSWORD": "d" * 32,
    "LT_MONGO_ROOT_PASSWORD": "e" * 32,
    "LT_KEYCLOAK_SECRET_CONSOLE": "f" * 32,
    "LT_KEYCLOAK_SECRET_CONSOLE_WEB": "g" * 32,
    **{f"LT_KEYCLOAK_SECRET_{s.upper()}": s[1] * 32 for s in SERVICES if s != "console"},
    **{f"LT_{s.upper()}_MONGO_PASSWORD": s[0] * 32 for s in SERVICES},
}
VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable rules, applied to every string of the document."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"] or ""
        present = env.get(name)
        unset = present is None or (op is not None and op.startswith(":") and present == "")
        if op in (":?", "?") and unset:
            raise ValueError(f"required variable {name} is missing: {arg}")
        if op in (":-", "-") and unset:
            return arg
        return present or ""

    return VARIABLE.sub(substitute, value)


def merge(base: Any, override: Any) -> Any:
    """Compose's merge of several files: mappings merged key by key, the rest replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    return override


def config(*files: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """What ``docker compose -f ... config`` prints, validated against the spec."""
    documents = [yaml.safe_load((ROOT / name).read_text()) for name in files]
    merged: dict[str, Any] = {}
    for document in documents:
        merged = merge(merged, document)
    resolved = interpolate(merged, SECRETS if env is None else env)
    PyCompose.from_json(json.dumps(resolved))  # raises ValueError on anything off-spec
    result: dict[str, Any] = resolved
    return result


def test_the_compose_file_is_valid_compose() -> None:
    resolved = config("docker-compose.yml")
    expected = set(SERVICES) | {"kafka", "kafka-tls", "kafka-init", "mongo", "keycloak"}
    expected |= OBSERVABILITY
    expected |= {"witness-1", "witness-2"}
    assert expected == set(resolved["services"])


def test_the_three_broker_cluster_profile_is_valid_and_replicates() -> None:
    resolved = config("docker-compose.yml", "docker-compose.cluster.yml")
    services = resolved["services"]
    brokers = {"kafka", "kafka-2", "kafka-3"}
    assert brokers <= set(services)
    voters = {services[b]["environment"]["KAFKA_CONTROLLER_QUORUM_VOTERS"] for b in brokers}
    internal = "1@kafka-1-internal:9093,2@kafka-2-internal:9093,3@kafka-3-internal:9093"
    assert voters == {internal}
    assert {services[b]["environment"]["KAFKA_NODE_ID"] for b in brokers} == {1, 2, 3}
    # kafka-init creates every topic with three replicas; the brokers make acks=all wait
    # for two of them. The services create none (their replication settings would be
    # read only if they did).
    command = services["kafka-init"]["command"]
    assert command[command.index("--replication-factor") + 1] == "3"
    assert {services[b]["environment"]["KAFKA_MIN_INSYNC_REPLICAS"] for b in brokers} == {2}
    for service in SERVICES:
        environment = services[service]["environment"]
        assert environment["LT_KAFKA_CREATE_TOPICS"] == "false"
        assert environment["LT_KAFKA_BOOTSTRAP_SERVERS"].count(":9092") == 3
        assert environment["LT_MONGO_URI"].startswith("mongodb://mongo")  # kept from the base
        assert brokers | {"mongo"} <= set(services[service]["depends_on"])


@pytest.mark.parametrize("secret", sorted(SECRETS))
def test_compose_refuses_to_start_without_real_secrets(secret: str) -> None:
    with pytest.raises(ValueError, match=secret):
        config("docker-compose.yml", env={k: v for k, v in SECRETS.items() if k != secret})


def test_off_spec_content_is_caught() -> None:
    """The validator is not a rubber stamp: a misspelt key fails as compose would fail."""
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    document["services"]["intake"]["stop_grace_periods"] = "30s"
    with pytest.raises(ValueError, match="stop_grace_periods"):
        PyCompose.from_json(json.dumps(interpolate(document, SECRETS)))


def test_services_stop_within_the_grace_period_docker_gives_them() -> None:
    services = config("docker-compose.yml")["services"]
    for service in SERVICES:
        assert services[service]["stop_grace_period"] == "30s"


def test_mongo_is_healthy_only_as_a_writable_primary() -> None:
    test = " ".join(config("docker-compose.yml")["services"]["mongo"]["healthcheck"]["test"])
    assert "rs.initiate" in test and "isWritablePrimary ? 0 : 1" in test


@pytest.mark.parametrize("witness", ["witness-1", "witness-2"])
def test_a_witness_is_healthy_once_it_answers_on_its_own_port(witness: str) -> None:
    """The bootstrap starts the witnesses alone with ``up -d --wait`` and then reads their
    vkeys: that waits for this check, so it must probe the witness's own HTTP port."""
    service = config("docker-compose.yml")["services"][witness]
    port = service["environment"]["LT_WITNESS_PORT"]
    assert f"http://127.0.0.1:{port}/healthz" in " ".join(service["healthcheck"]["test"])
    assert service["ports"] == [f"{port}:{port}"]
    assert "depends_on" not in service  # started alone, before the rest has its vkeys


def test_the_image_creates_the_audit_key_folder_for_the_service_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    audit = config("docker-compose.yml")["services"]["audit"]
    mount = next(v for v in audit["volumes"] if v.startswith("audit-keys:"))
    folder = mount.split(":", 1)[1]
    assert f"mkdir -p {folder}" in dockerfile
    install = next(line for line in dockerfile.splitlines() if f"mkdir -p {folder}" in line)
    assert "chown -R lienthong /app" in install  # the folder is made before the chown
    assert dockerfile.index(install) < dockerfile.index("USER lienthong")


def test_prometheus_scrapes_with_the_monitoring_clients_token() -> None:
    """/metrics answers only a token with the operations or service role: Prometheus gets
    one from Keycloak as the monitoring client, its secret a compose secret (it scraped
    without one, and every scrape was refused)."""
    resolved = config("docker-compose.yml")
    assert resolved["secrets"]["monitoring-secret"] == {
        "environment": "LT_KEYCLOAK_SECRET_MONITORING"
    }
    assert "monitoring-secret" in resolved["services"]["prometheus"]["secrets"]
    scrape = yaml.safe_load((ROOT / "infra/observability/prometheus.yml").read_text())
    (job,) = scrape["scrape_configs"]
    assert job["oauth2"]["client_id"] == "monitoring"
    assert job["oauth2"]["client_secret_file"] == "/run/secrets/monitoring-secret"
    assert job["oauth2"]["token_url"].startswith("http://keycloak:8080/realms/lienthong/")


def test_sms_are_disabled_in_deployment_unless_a_provider_is_chosen() -> None:
    """No real SMS provider exists: the file adapter (numbers and texts written inside the
    container, deliveries recorded as sent) must never be what a deployment gets by default."""
    env = config("docker-compose.yml")["services"]["notification"]["environment"]
    assert env["LT_NOTIFICATION_SMS_PROVIDER"] == "none"
    assert isinstance(build_sms_provider(SmsSettings(provider="none")), DisabledSmsProvider)
