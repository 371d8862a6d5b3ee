"""The broker's security: SASL/OAUTHBEARER against Keycloak and the KRaft ACL authorizer.

A broker configured by ``security_properties`` has three listeners:

* ``SASL`` (SASL_PLAINTEXT): every client presents a Keycloak access token. The broker
  validates it itself against the realm's JWKS endpoint (KIP-768,
  ``OAuthBearerValidatorCallbackHandler``): signature, expiry, issuer and the audience
  ``lienthong``. The principal is the token's ``azp`` claim, the Keycloak client id
  (``User:intake``, ``User:agency-000.00.31.H59``).
* ``LOCAL`` (PLAINTEXT, bound to 127.0.0.1): for the local test suite and for
  provisioning topics and ACLs. Its connections are ``User:ANONYMOUS``, which is a
  super user. A token cannot yield that principal: no Keycloak client of the realm is
  named ANONYMOUS (a unit test checks the realm). Deployments leave this listener out.
* ``TLS`` (SASL_SSL, optional: ``BrokerPorts.tls`` and a key store): the same OAuth
  login inside TLS, with the broker's key and certificate from one PEM file
  (``ssl.keystore.type=PEM``, made by ``infra.tls``). Compose's broker has this listener
  as its only network listener; ``make run``'s has none.
* ``CONTROLLER``: KRaft's own.

``StandardAuthorizer`` then applies the ACLs of ``infra.kafka_access``; without a
matching ACL nothing is allowed (``allow.everyone.if.no.acl.found=false``).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from infra import devstack, processes

AUDIENCE = "lienthong"
PRINCIPAL_CLAIM = "azp"  # the Keycloak client id


@dataclass(frozen=True)
class OAuthIssuer:
    """The Keycloak realm whose tokens the broker accepts."""

    base_url: str  # e.g. http://127.0.0.1:8180
    realm: str = "lienthong"

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/realms/{self.realm}"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/certs"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/token"


@dataclass(frozen=True)
class BrokerPorts:
    local: int  # PLAINTEXT, super user ANONYMOUS: local tests and provisioning only
    sasl: int
    controller: int
    tls: int | None = None  # SASL_SSL, when the broker has a key store


# The listener names, and the protocol of each (listener.security.protocol.map). The TLS
# listener is not named SASL_SSL: the apache/kafka image's start script demands JKS
# key-store variables whenever an advertised listener's text contains "SSL://".
PROTOCOLS = {"CONTROLLER": "PLAINTEXT", "LOCAL": "PLAINTEXT", "SASL": "SASL_PLAINTEXT"}
TLS_LISTENER, TLS_PROTOCOL = "TLS", "SASL_SSL"
VALIDATOR = "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler"
# Named explicitly: Kafka 4.1's default, DefaultJwtValidator, is instantiated by the
# callback handler without the realm's keys and then falls back to ClientJwtValidator,
# which checks neither the signature nor the issuer nor the audience (a self-signed
# token naming any azp, ANONYMOUS the super user included, got a session).
JWT_VALIDATOR = "org.apache.kafka.common.security.oauthbearer.BrokerJwtValidator"
LOGIN = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required ;"


def oauth_listener_properties(listener: str) -> list[str]:
    """The broker side of OAUTHBEARER on one listener (Kafka sets it per listener name)."""
    prefix = f"listener.name.{listener.lower()}.oauthbearer"
    return [
        f"{prefix}.sasl.server.callback.handler.class={VALIDATOR}",
        f"{prefix}.sasl.jaas.config={LOGIN}",
    ]


def tls_properties(keystore: Path) -> list[str]:
    """The broker's key and certificate chain, one PEM file (unencrypted PKCS#8 key first,
    as ``infra.tls`` writes it): Kafka reads PEM key stores itself, no JKS or password."""
    return ["ssl.keystore.type=PEM", f"ssl.keystore.location={keystore}"]


def security_properties(
    ports: BrokerPorts, issuer: OAuthIssuer, keystore: Path | None = None
) -> list[str]:
    """Listeners, SASL/OAUTHBEARER validation and the authorizer (server.properties lines);
    with ``ports.tls`` and ``keystore``, the TLS listener too."""
    listeners = {"LOCAL": ports.local, "SASL": ports.sasl}
    protocols = dict(PROTOCOLS)
    extra: list[str] = []
    if ports.tls is not None:
        if keystore is None:
            raise ValueError("a TLS listener needs the broker's key store (infra.tls)")
        listeners[TLS_LISTENER] = ports.tls
        protocols[TLS_LISTENER] = TLS_PROTOCOL
        extra = [*oauth_listener_properties(TLS_LISTENER), *tls_properties(keystore)]
    bound = ",".join(f"{name}://127.0.0.1:{port}" for name, port in listeners.items())
    return [
        f"listeners={bound},CONTROLLER://127.0.0.1:{ports.controller}",
        f"advertised.listeners={bound}",
        "listener.security.protocol.map=" + ",".join(f"{n}:{p}" for n, p in protocols.items()),
        "inter.broker.listener.name=LOCAL",
        "sasl.enabled.mechanisms=OAUTHBEARER",
        *oauth_listener_properties("SASL"),
        *extra,
        f"sasl.oauthbearer.jwt.validator.class={JWT_VALIDATOR}",
        f"sasl.oauthbearer.jwks.endpoint.url={issuer.jwks_url}",
        f"sasl.oauthbearer.expected.issuer={issuer.issuer}",
        f"sasl.oauthbearer.expected.audience={AUDIENCE}",
        f"sasl.oauthbearer.sub.claim.name={PRINCIPAL_CLAIM}",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found=false",
        # ANONYMOUS is the local listener's (and the controller's) principal only.
        "super.users=User:ANONYMOUS",
    ]


def broker_properties(
    ports: BrokerPorts, issuer: OAuthIssuer, data_dir: Path, keystore: Path | None = None
) -> str:
    """A whole server.properties: devstack's single KRaft node with security on."""
    plain = devstack.Ports(kafka=ports.local, controller=ports.controller, store=0, keycloak=0)
    base = [
        line
        for line in devstack.kafka_properties(plain, data_dir).splitlines()
        if not line.startswith(
            ("listeners=", "advertised.listeners=", "listener.security", "inter.broker")
        )
    ]
    return "\n".join([*base[:-1], *security_properties(ports, issuer, keystore), ""])


def java_options(issuer: OAuthIssuer) -> list[str]:
    """Kafka 4 only fetches OAuth URLs it is told to allow (a JVM system property)."""
    return [f"-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls={issuer.jwks_url}"]


def start_broker(
    ports: BrokerPorts,
    issuer: OAuthIssuer,
    home: Path,
    heap: str = "384m",
    keystore: Path | None = None,
) -> processes.Process:
    """Format (first time) and start a secured single-node broker; the caller stops it."""
    devstack.ensure_kafka_jars()
    data_dir, config = home / "data", home / "server.properties"
    home.mkdir(parents=True, exist_ok=True)
    config.write_text(broker_properties(ports, issuer, data_dir, keystore))
    if not (data_dir / "meta.properties").exists():
        subprocess.run(
            devstack.java_command(
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "--cluster-id",
                devstack.uuid_base64(),
                "--config",
                str(config),
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    command = [
        f"-Dkafka.logs.dir={home}" if arg.startswith("-Dkafka.logs.dir=") else arg
        for arg in devstack.java_command("kafka.Kafka", str(config), heap=heap)
    ]
    command[1:1] = java_options(issuer)
    env = {**os.environ, "LOG_DIR": str(home)}
    return processes.spawn(command, home / "broker.out", env, cwd=home)
