"""A token the broker refuses is a failed login, not a successful one.

With OAUTHBEARER (RFC 7628 §3.2.2) a broker that refuses a token answers the client's
first message with an error challenge (``{"status":"invalid_token"}``) and waits for the
client to end the exchange. aiokafka 0.14's ``OAuthAuthenticator`` sends its token and
then stops, whatever the answer: it logs "Authenticated via OAUTHBEARER", a producer's
``start()`` succeeds, and the client then finds "No broker metadata" and sends nothing,
so a service whose token the broker does not accept (another realm, another audience)
looks started while it cannot publish or consume.

``report_refused_tokens()`` makes that answer a connection error naming the broker's
reason: aiokafka then closes the connection, logs why and connects again later (with a
fresh token), as for a broker it cannot reach.
"""

from __future__ import annotations

from typing import Any

from aiokafka.conn import OAuthAuthenticator
from aiokafka.errors import KafkaConnectionError

_PATCHED = "_lienthong_reports_refused_tokens"


class BrokerRefusedToken(KafkaConnectionError):  # type: ignore[misc]
    """The broker answered the client's token with an OAUTHBEARER error challenge."""


def refusal(challenge: bytes) -> BrokerRefusedToken:
    reason = challenge.decode("utf-8", errors="replace")[:300]
    return BrokerRefusedToken(
        f"the broker refused this client's token: {reason} (is LT_KAFKA_OAUTH_TOKEN_URL "
        "the realm the broker trusts, and is the client's audience lienthong?)"
    )


def report_refused_tokens() -> None:
    """Make aiokafka's OAUTHBEARER login fail on the broker's error challenge (once)."""
    if getattr(OAuthAuthenticator, _PATCHED, False):
        return
    original = OAuthAuthenticator.step

    async def step(self: OAuthAuthenticator, payload: bytes | None) -> Any:
        # After the token, an accepting broker says nothing more (an empty answer); any
        # bytes it sends are its error challenge.
        if payload:
            raise refusal(payload)
        return await original(self, payload)

    OAuthAuthenticator.step = step
    setattr(OAuthAuthenticator, _PATCHED, True)
