"""docker-compose.yml's Kafka security, witnesses and portal connector, checked statically.

No Docker engine here: the files are resolved as compose resolves them
(test_compose_spec.config) and compared with what the running code expects: the broker
settings of ``make run`` (infra/kafka_security.py), the Keycloak realm as code, the ACLs
of infra/kafka_access.py and the services' settings classes.
"""

from __future__ import annotations

import json
import os
import ssl
from pathlib import Path
from typing import Any

import pytest
from audit import keys as audit_keys
from audit.config import AuditLogSettings
from audit.keys import load_signing_key
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from notification.portal_sync import PortalSyncSettings
from pydantic import ValidationError
from witness.config import WitnessSettings

from infra import tls
from infra.kafka_access import acl_bindings
from infra.kafka_security import AUDIENCE, TLS_LISTENER, BrokerPorts, OAuthIssuer, java_options
from infra.kafka_security import security_properties as make_run_properties
from infra.keycloak.realm import build_realm, catalogue_units
from shared.auth.identities import client_secret_variable
from shared.kafka.security import client_security
from shared.settings import KafkaSettings
from shared.transparency.note import COSIGNATURE_V1, ED25519, Signer, parse_vkey
from tests.unit.foundation.test_compose_spec import SECRETS, SERVICES, config
from tests.unit.foundation.test_deployment import env_names

# The keys that make the client listener and the authorizer what the broker of the
# integration tests has (make run's, with its TLS listener): OAUTHBEARER inside TLS.
SECURITY_KEYS = (
    "sasl.enabled.mechanisms",
    "listener.name.tls.oauthbearer.sasl.server.callback.handler.class",
    "listener.name.tls.oauthbearer.sasl.jaas.config",
    "ssl.keystore.type",
    "sasl.oauthbearer.jwt.validator.class",
    "sasl.oauthbearer.jwks.endpoint.url",
    "sasl.oauthbearer.expected.audience",
    "sasl.oauthbearer.sub.claim.name",
    "authorizer.class.name",
    "allow.everyone.if.no.acl.found",
    "super.users",
)
INSIDE = OAuthIssuer("http://keycloak:8080")  # the realm as the broker reaches it


def vkey(name: str, signature_type: int) -> str:
    return Signer(name, Ed25519PrivateKey.generate(), signature_type).verifier.vkey()


WITNESS_VKEYS = {
    "LT_WITNESS_1_VKEY": vkey("lienthong.local/witness-1", COSIGNATURE_V1),
    "LT_WITNESS_2_VKEY": vkey("lienthong.local/witness-2", COSIGNATURE_V1),
    "LT_AUDIT_LOG_VKEY": vkey("lienthong-audit-log", ED25519),
}


def broker_properties(environment: dict[str, Any]) -> dict[str, str]:
    """The apache/kafka image's rule: KAFKA_A_B -> a.b, __ -> _, ___ -> - (KAFKA_OPTS aside)."""
    properties = {}
    for name, value in environment.items():
        if not name.startswith("KAFKA_") or name == "KAFKA_OPTS":
            continue
        key = name[len("KAFKA_") :].lower()
        key = key.replace("___", "\0").replace("__", "\1").replace("_", ".")
        properties[key.replace("\0", "-").replace("\1", "_")] = str(value)
    return properties


def make_run() -> dict[str, str]:
    """make run's broker with the TLS listener tests/integration/kafka_security starts."""
    ports = BrokerPorts(local=19092, sasl=9094, controller=9093, tls=9092)
    lines = make_run_properties(ports, INSIDE, Path("/etc/kafka/tls/broker.pem"))
    return dict(line.split("=", 1) for line in lines)


def protocols(properties: dict[str, str]) -> dict[str, str]:
    return dict(item.split(":") for item in properties["listener.security.protocol.map"].split(","))


def mount(service: dict[str, Any], volume: str) -> Path:
    """Where ``volume`` appears inside the service's container."""
    found = [v.split(":")[1] for v in service.get("volumes", []) if v.split(":")[0] == volume]
    assert len(found) == 1, (volume, service.get("volumes"))
    return Path(found[0])


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def run_kafka_tls(services: dict[str, Any], root: Path) -> dict[str, Path]:
    """kafka-tls's command as compose gives it, each of its volumes a folder under root:
    returns the folder of each volume."""
    job = services["kafka-tls"]
    folders = {v.split(":")[0]: root / v.split(":")[0] for v in job["volumes"]}
    args = list(job["command"][3:])
    for volume, folder in folders.items():
        args = [str(folder) if a == str(mount(job, volume)) else a for a in args]
    args[args.index("--key-owner") + 1] = str(os.getuid())  # not root here
    assert tls.main(args) == 0
    return folders


@pytest.fixture(scope="module")
def single() -> dict[str, Any]:
    services: dict[str, Any] = config("docker-compose.yml", env={**SECRETS, **WITNESS_VKEYS})[
        "services"
    ]
    return services


@pytest.fixture(scope="module")
def cluster() -> dict[str, Any]:
    files = ("docker-compose.yml", "docker-compose.cluster.yml")
    services: dict[str, Any] = config(*files, env={**SECRETS, **WITNESS_VKEYS})["services"]
    return services


def test_the_compose_broker_has_the_sasl_listener_and_authorizer_of_make_runs_broker(
    single: dict[str, Any],
) -> None:
    environment = single["kafka"]["environment"]
    compose, expected = broker_properties(environment), make_run()
    for key in SECURITY_KEYS:
        assert compose[key] == expected[key], key
    # Its listeners are make run's, less the SASL one without TLS.
    assert protocols(compose) == {k: v for k, v in protocols(expected).items() if k != "SASL"}
    assert protocols(compose)[TLS_LISTENER] == "SASL_SSL"
    assert "SASL_PLAINTEXT" not in compose["listener.security.protocol.map"]
    assert compose["sasl.oauthbearer.expected.issuer"].endswith("/realms/lienthong")
    assert compose["sasl.oauthbearer.expected.audience"] == AUDIENCE
    assert environment["KAFKA_OPTS"] == " ".join(java_options(INSIDE))


def test_every_cluster_broker_has_the_same_security(cluster: dict[str, Any]) -> None:
    expected = make_run()
    for broker in ("kafka", "kafka-2", "kafka-3"):
        compose = broker_properties(cluster[broker]["environment"])
        for key in SECURITY_KEYS:
            assert compose[key] == expected[key], (broker, key)
        assert compose["listeners"].startswith("TLS://:9092,")
        assert protocols(compose) == {
            "CONTROLLER": "PLAINTEXT",
            "BROKER": "PLAINTEXT",
            "TLS": "SASL_SSL",
        }


def test_the_super_user_listeners_cannot_be_reached_from_the_compose_network(
    single: dict[str, Any], cluster: dict[str, Any]
) -> None:
    listeners = broker_properties(single["kafka"]["environment"])["listeners"].split(",")
    plaintext = [item for item in listeners if not item.startswith("TLS://")]
    assert plaintext and all("://127.0.0.1:" in item for item in plaintext)
    assert single["kafka-init"]["network_mode"] == "service:kafka"
    assert "127.0.0.1:19092" in single["kafka-init"]["command"]
    # The cluster's inter-broker and controller listeners: on the internal network only.
    for n, broker in enumerate(("kafka", "kafka-2", "kafka-3"), start=1):
        listeners = cluster[broker]["environment"]["KAFKA_LISTENERS"].split(",")
        alias = f"kafka-{n}-internal"
        assert cluster[broker]["networks"]["kafka-internal"]["aliases"] == [alias]
        assert all(f"://{alias}:" in item for item in listeners if not item.startswith("TLS"))
    joined = {name for name, s in cluster.items() if "kafka-internal" in s.get("networks", {})}
    assert joined == {"kafka", "kafka-2", "kafka-3"}


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_logs_in_to_kafka_as_its_own_keycloak_client(
    single: dict[str, Any], service: str
) -> None:
    environment = single[service]["environment"]
    assert environment["LT_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert environment["LT_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert environment["LT_KAFKA_CREATE_TOPICS"] == "false"  # kafka-init did, with the ACLs
    assert environment["LT_KAFKA_OAUTH_CLIENT_ID"] == service
    assert environment["LT_KAFKA_OAUTH_CLIENT_SECRET"] == SECRETS[client_secret_variable(service)]
    assert service in {client["clientId"] for client in build_realm()["clients"]}
    principals = {binding.principal for binding in acl_bindings("", catalogue_units())}
    assert f"User:{service}" in principals
    assert "kafka-init" in single[service]["depends_on"]


@pytest.mark.parametrize(
    "files", [("docker-compose.yml",), ("docker-compose.yml", "docker-compose.cluster.yml")]
)
def test_every_kafka_client_trusts_the_ca_that_signed_every_brokers_certificate(
    files: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kafka-tls run as compose runs it: the file each broker loads is a key and a
    certificate naming the host it advertises, signed by the CA each service's
    LT_KAFKA_SSL_CAFILE names; the CA's key is in no other container."""
    services = config(*files, env={**SECRETS, **WITNESS_VKEYS})["services"]
    folders = run_kafka_tls(services, tmp_path)
    ca = folders["kafka-trust"] / "ca.pem"
    brokers = [
        name
        for name in services
        if name == "kafka" or (name.startswith("kafka-") and name[6:].isdigit())
    ]
    for name in brokers:
        environment = services[name]["environment"]
        keystore = Path(environment["KAFKA_SSL_KEYSTORE_LOCATION"])
        assert keystore.parent == mount(services[name], "kafka-broker-tls")
        pem = folders["kafka-broker-tls"] / keystore.name
        context = ssl.create_default_context(cafile=ca)
        context.load_cert_chain(pem)  # Kafka's PEM key store: the key, then its chain
        advertised = broker_properties(environment)["advertised.listeners"].split(",")
        host = next(a for a in advertised if a.startswith("TLS://"))[6:].rsplit(":", 1)[0]
        cert = x509.load_pem_x509_certificates(pem.read_bytes())[0]
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert host in names.get_values_for_type(x509.DNSName), (name, host)
        cert.verify_directly_issued_by(x509.load_pem_x509_certificate(ca.read_bytes()))
    for service in SERVICES:
        environment = services[service]["environment"]
        cafile = Path(environment["LT_KAFKA_SSL_CAFILE"])
        assert cafile == mount(services[service], "kafka-trust") / ca.name
        monkeypatch.setenv("LT_KAFKA_SECURITY_PROTOCOL", environment["LT_KAFKA_SECURITY_PROTOCOL"])
        monkeypatch.setenv("LT_KAFKA_SSL_CAFILE", str(ca))  # its file, seen from here
        settings = KafkaSettings(
            oauth_token_url=environment["LT_KAFKA_OAUTH_TOKEN_URL"],
            oauth_client_id=service,
            oauth_client_secret=environment["LT_KAFKA_OAUTH_CLIENT_SECRET"],
        )
        assert settings.security_protocol == "SASL_SSL"
        context = client_security(settings)["ssl_context"]
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", tls.CA_NAME),),)]
    holding_ca_key = {
        n
        for n, s in services.items()
        if any(v.startswith("kafka-ca:") for v in s.get("volumes", []))
    }
    assert holding_ca_key == {"kafka-tls"}
    holding_broker_key = {
        n
        for n, s in services.items()
        if any(v.startswith("kafka-broker-tls:") for v in s.get("volumes", []))
    }
    assert holding_broker_key == {"kafka-tls", *brokers}


@pytest.mark.parametrize("witness", ["witness-1", "witness-2"])
def test_the_witnesses_read_only_settings_they_know_and_follow_the_audit_log(
    single: dict[str, Any], witness: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = single[witness]["environment"]
    assert set(environment) <= env_names(WitnessSettings)
    for name, value in environment.items():
        monkeypatch.setenv(name, str(value))
    settings = WitnessSettings()
    assert settings.log_vkeys == [WITNESS_VKEYS["LT_AUDIT_LOG_VKEY"]]
    assert settings.name == f"lienthong.local/{witness}"
    volume = next(v for v in single[witness]["volumes"] if v.startswith(f"{witness}-data:"))
    assert str(settings.key_path.parent) == volume.split(":", 1)[1]


@pytest.mark.parametrize("witness", ["witness-1", "witness-2"])
def test_the_witnesses_check_submitters_tokens_against_the_services_realm(
    single: dict[str, Any], witness: str
) -> None:
    """A witness admits only audit's token: it must know the same issuer and keys."""
    environment, audit = single[witness]["environment"], single["audit"]["environment"]
    for name in ("LT_AUTH_ISSUER", "LT_AUTH_JWKS_URL"):
        assert environment[name] == audit[name]
    assert "LT_WITNESS_REQUIRE_TOKEN" not in environment  # the default: tokens required
    assert audit["LT_AUDIT_WITNESS_CLIENT_SECRET"]  # audit asks for its token with its own


@pytest.mark.parametrize("service", ["routing", "audit", "console"])
def test_services_that_fetch_tokens_reach_keycloak_inside_the_network(
    single: dict[str, Any], service: str
) -> None:
    endpoint = single[service]["environment"]["LT_AUTH_TOKEN_ENDPOINT"]
    assert endpoint.startswith("http://keycloak:8080/realms/lienthong/")


def test_audit_asks_both_witnesses_and_needs_both_cosignatures(
    single: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = single["audit"]["environment"]
    monkeypatch.setenv("LT_AUDIT_WITNESSES", environment["LT_AUDIT_WITNESSES"])
    monkeypatch.setenv("LT_AUDIT_WITNESS_QUORUM", str(environment["LT_AUDIT_WITNESS_QUORUM"]))
    settings = AuditLogSettings()
    ports = {w: single[w]["environment"]["LT_WITNESS_PORT"] for w in ("witness-1", "witness-2")}
    assert [w.url for w in settings.witnesses] == [f"http://{w}:{p}" for w, p in ports.items()]
    assert [w.vkey for w in settings.witnesses] == [
        WITNESS_VKEYS["LT_WITNESS_1_VKEY"],
        WITNESS_VKEYS["LT_WITNESS_2_VKEY"],
    ]
    assert settings.quorum() == 2


def test_without_the_witness_keys_audit_and_the_witnesses_refuse_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The documented bootstrap: an unset vkey fails validation, nothing runs half-set."""
    services = config("docker-compose.yml")["services"]  # no vkeys in the environment
    monkeypatch.setenv("LT_AUDIT_WITNESSES", services["audit"]["environment"]["LT_AUDIT_WITNESSES"])
    with pytest.raises(ValidationError):
        AuditLogSettings()
    witness = services["witness-1"]["environment"]
    monkeypatch.setenv("LT_WITNESS_LOG_VKEYS", witness["LT_WITNESS_LOG_VKEYS"])
    with pytest.raises((ValidationError, ValueError)):
        WitnessSettings()


def test_the_log_vkey_is_printed_before_the_witness_keys_are_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bootstrap's first step: audit's compose environment, its witness vkeys empty."""
    environment = config("docker-compose.yml")["services"]["audit"]["environment"]
    for name, value in environment.items():
        monkeypatch.setenv(name, str(value))
    key_path = tmp_path / "audit" / "signing-key.pem"
    monkeypatch.setenv("LT_AUDIT_SIGNING_KEY_PATH", str(key_path))
    audit_keys.main([])
    printed = capsys.readouterr().out.strip()
    assert key_path.is_file()
    assert printed == load_signing_key(key_path).verifier("lienthong-audit-log").vkey()
    assert parse_vkey(printed).signature_type == ED25519


def test_the_portal_connector_takes_endpoint_and_token_from_the_deployment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {**SECRETS, "LT_PORTAL_SYNC_ENDPOINT": "https://portal.example.vn/sync"}
    environment = config("docker-compose.yml", env={**env, "LT_PORTAL_SYNC_TOKEN": "t0k"})[
        "services"
    ]["notification"]["environment"]
    for name in ("LT_PORTAL_SYNC_ENDPOINT", "LT_PORTAL_SYNC_TOKEN"):
        monkeypatch.setenv(name, environment[name])
    settings = PortalSyncSettings()
    assert settings.endpoint == "https://portal.example.vn/sync"
    assert settings.token is not None and settings.token.get_secret_value() == "t0k"
    unset = config("docker-compose.yml")["services"]["notification"]["environment"]
    assert unset["LT_PORTAL_SYNC_ENDPOINT"] == ""  # kept pending, nothing sent (docs)


def test_audit_witness_list_is_json(single: dict[str, Any]) -> None:
    listed = json.loads(single["audit"]["environment"]["LT_AUDIT_WITNESSES"])
    assert {entry["url"] for entry in listed} == {"http://witness-1:8011", "http://witness-2:8012"}


@pytest.mark.parametrize(
    ("service", "port"), [("jaeger", 16686), ("prometheus", 9090), ("alertmanager", 9093)]
)
def test_uis_without_login_are_published_on_the_loopback_only(
    single: dict[str, Any], service: str, port: int
) -> None:
    """Traces name dossiers and units, and anyone reaching Alertmanager can silence the
    alerts: these UIs have no login, so they are reached from the host itself (or an SSH
    tunnel, a proxy that authenticates), never from the network."""
    assert single[service]["ports"] == [f"127.0.0.1:{port}:{port}"]
