"""How a Kafka client proves who it is: SASL/OAUTHBEARER with Keycloak client credentials.

``client_security(settings)`` gives the keyword arguments every aiokafka client
(producer, consumer, admin) takes. With ``security_protocol`` SASL_PLAINTEXT or
SASL_SSL the client authenticates with an access token that ``ClientCredentialsTokens``
obtains from the realm's token endpoint (OAuth 2.0 client credentials) and renews
before it expires; the broker validates it against the realm's keys and knows the
client as its Keycloak client id. PLAINTEXT (no authentication) is for the local
broker only, and must be chosen explicitly.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
from aiokafka.abc import AbstractTokenProvider
from aiokafka.errors import KafkaConnectionError
from aiokafka.helpers import create_ssl_context

from shared.kafka.refused_tokens import report_refused_tokens
from shared.kafka.session_ends import SESSION_ENDS, report_session_ends
from shared.settings import KafkaSettings

log = logging.getLogger(__name__)
PLAINTEXT = "PLAINTEXT"
RENEW_BEFORE_EXPIRY_S = 60.0


class TokenUnavailable(KafkaConnectionError):  # type: ignore[misc]
    """The identity provider did not issue a token (wrong secret, unreachable).

    A connection error to aiokafka, which asks for the token while it connects: it then
    retries the connection, as for a broker it cannot reach. Any other exception type
    would escape its connection handling and kill the producer's sender or the
    consumer's fetcher for good, so an identity-provider outage would stop a service's
    Kafka clients until it restarts."""


class ClientCredentialsTokens(AbstractTokenProvider):  # type: ignore[misc]
    """Access tokens for one client, reused until shortly before they expire."""

    def __init__(
        self, token_url: str, client_id: str, client_secret: str, timeout_s: float = 10.0
    ) -> None:
        self._token_url = token_url
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._timeout_s = timeout_s
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        """A valid access token (one request to the identity provider when it runs out)."""
        async with self._lock:
            if self._token is None or time.monotonic() >= self._renew_at:
                self._token, lifetime = await self._fetch()
                SESSION_ENDS.note(lifetime)  # a session opened with it ends then
                self._renew_at = time.monotonic() + max(lifetime - RENEW_BEFORE_EXPIRY_S, 1.0)
            return self._token

    async def _fetch(self) -> tuple[str, float]:
        async with httpx.AsyncClient(timeout=self._timeout_s) as http:
            try:
                response = await http.post(self._token_url, data=self._form)
            except httpx.HTTPError as exc:
                raise TokenUnavailable(f"token endpoint unreachable: {exc}") from exc
        if response.status_code != 200:
            # The body names the OAuth error (e.g. unauthorized_client), never the secret.
            raise TokenUnavailable(
                f"token request for {self._form['client_id']} refused: "
                f"{response.status_code} {response.text[:200]}"
            )
        body = response.json()
        return str(body["access_token"]), float(body.get("expires_in", 300))


def client_security(settings: KafkaSettings) -> dict[str, Any]:
    """aiokafka keyword arguments for the configured security protocol."""
    protocol = settings.security_protocol
    if protocol == PLAINTEXT:
        return {"security_protocol": PLAINTEXT}
    if not (settings.oauth_token_url and settings.oauth_client_id and settings.oauth_client_secret):
        raise ValueError(
            f"LT_KAFKA_SECURITY_PROTOCOL={protocol} needs LT_KAFKA_OAUTH_TOKEN_URL, "
            "LT_KAFKA_OAUTH_CLIENT_ID and LT_KAFKA_OAUTH_CLIENT_SECRET"
        )
    report_refused_tokens()  # aiokafka would take a refused token for a login
    report_session_ends()  # aiokafka would log each session's end as an error
    options: dict[str, Any] = {
        "security_protocol": protocol,
        "sasl_mechanism": "OAUTHBEARER",
        "sasl_oauth_token_provider": ClientCredentialsTokens(
            settings.oauth_token_url,
            settings.oauth_client_id,
            settings.oauth_client_secret.get_secret_value(),
        ),
    }
    if protocol == "SASL_SSL":
        options["ssl_context"] = create_ssl_context(cafile=settings.ssl_cafile)
    return options


DEV_SECRET_PREFIX = "dev-secret-"  # the realm's development client secrets (make run)


def warn_about_plaintext(settings: KafkaSettings, service: str) -> None:
    """Say so when a service talks to Kafka without authentication, or with a development
    client secret."""
    secret = settings.oauth_client_secret
    if secret is not None and secret.get_secret_value().startswith(DEV_SECRET_PREFIX):
        log.warning(
            "LT_KAFKA_OAUTH_CLIENT_SECRET is a development secret: set it",
            extra={"service": service},
        )
    if settings.security_protocol == PLAINTEXT:
        log.warning(
            "Kafka connection without authentication (LT_KAFKA_SECURITY_PROTOCOL=PLAINTEXT): "
            "local development only",
            extra={"service": service},
        )
