"""The load driver's HTTP client: aiohttp, with each unit's own bearer token.

The driver shares the machine with the system it measures, so its client must cost
little: httpx's connection pool scans every connection on each request (a third of the
driver's CPU at a few hundred connections), aiohttp's does not. A request whose body
names a unit carries that unit's agency token, any other the auditor's, as
``shared.auth.identities.UnitAuth`` does for httpx clients.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass
from typing import Any

import aiohttp

from shared.auth.identities import bearer_token, known_units
from shared.auth.settings import AuthSettings

DEFAULT_IDENTITY = "auditor"
OVERLOADED_ATTEMPTS = 8  # a request a service refused as overloaded is sent again, as a
# client should: after the Retry-After it was given (1 s), then backing off
BACKOFF_CAP_S = 30.0
UNIT_FIELDS = ("unit", "receiving_unit")


@dataclass(frozen=True)
class Reply:
    """An answer, read in full."""

    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


def backoff_s(retry_after: float, attempt: int) -> float:
    """The wait before sending a refused request again: at least the server's Retry-After,
    plus an exponential share drawn at random, so that refused clients do not all come
    back together and refuse each other again (full jitter)."""
    return retry_after + random.uniform(0, min(BACKOFF_CAP_S, retry_after * 2**attempt))


def identity_for(body: dict[str, Any]) -> str:
    """The agency client of the unit the body names, else the auditor."""
    unit = next((body[f] for f in UNIT_FIELDS if isinstance(body.get(f), str)), None)
    return f"agency:{unit}" if unit in known_units() else DEFAULT_IDENTITY


class BenchHttp:
    """GET and POST with the right token; every error is an exception or a status."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session
        # Read once: settings read per request (the environment and a .env file) were
        # 40 % of the driver's CPU at 12 journeys/s.
        self._auth = AuthSettings()
        self.overloaded = 0  # answers 503 overloaded, each followed by a retry

    async def post(self, url: str, body: dict[str, Any]) -> Reply:
        return await self._send("POST", url, identity_for(body), json=body)

    async def get(
        self, url: str, params: dict[str, Any] | None = None, identity: str = DEFAULT_IDENTITY
    ) -> Reply:
        return await self._send("GET", url, identity, params=params)

    async def _send(self, method: str, url: str, identity: str, **kwargs: Any) -> Reply:
        for attempt in range(OVERLOADED_ATTEMPTS - 1):
            reply, retry_after = await self._send_once(method, url, identity, **kwargs)
            if retry_after is None:
                return reply
            self.overloaded += 1
            await asyncio.sleep(backoff_s(retry_after, attempt))
        reply, _ = await self._send_once(method, url, identity, **kwargs)
        return reply

    async def _send_once(
        self, method: str, url: str, identity: str, **kwargs: Any
    ) -> tuple[Reply, float | None]:
        """The reply, and how long to wait before sending again if it was refused as
        overloaded (the request was not handled: sending it again is safe)."""
        # Tokens are cached until shortly before they expire: a fetch is rare.
        headers = {"Authorization": f"Bearer {bearer_token(identity, self._auth)}"}
        async with self._session.request(method, url, headers=headers, **kwargs) as response:
            reply = Reply(response.status, await response.read())
            if response.status != 503 or reply.json().get("code") != "overloaded":
                return reply, None
            return reply, float(response.headers.get("Retry-After", "1"))


def bench_session(connections: int = 200, timeout_s: float = 60) -> aiohttp.ClientSession:
    """One pooled session for the whole run."""
    return aiohttp.ClientSession(
        # Idle connections are dropped well before the services' keep-alive (75 s) ends: a
        # request sent just as the server closes its end would fail to write its body.
        connector=aiohttp.TCPConnector(
            limit=connections, limit_per_host=connections, keepalive_timeout=30
        ),
        timeout=aiohttp.ClientTimeout(total=timeout_s),
    )
