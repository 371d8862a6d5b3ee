"""The realm's signing keys (JWKS), fetched over HTTP and cached.

A token signed with a key id the cache does not know triggers one refetch (Keycloak
rotated its keys), at most once per ``jwks_refresh_min_s`` so that forged key ids
cannot turn every request into a fetch. Concurrent misses share one fetch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWKSetError

from shared.auth.settings import AuthSettings

log = logging.getLogger(__name__)


class KeysUnavailable(Exception):
    """The key set could not be fetched or parsed."""


class KeyCache:
    """A cached JWKS with refresh on an unknown key id."""

    def __init__(self, settings: AuthSettings, client: httpx.AsyncClient | None = None) -> None:
        self._settings = settings
        self._client = client
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> PyJWK | None:
        """The signing key with this id, or None when the realm does not have it."""
        if self._stale():
            await self._refresh(force=True)
        elif kid not in self._keys and self._may_refetch():
            await self._refresh(force=False)
        return self._keys.get(kid)

    def _stale(self) -> bool:
        return (
            self._fetched_at is None
            or time.monotonic() - self._fetched_at > self._settings.jwks_max_age_s
        )

    def _may_refetch(self) -> bool:
        assert self._fetched_at is not None
        return time.monotonic() - self._fetched_at >= self._settings.jwks_refresh_min_s

    async def _refresh(self, *, force: bool) -> None:
        fetched_before = self._fetched_at
        async with self._lock:
            if self._fetched_at != fetched_before:
                return  # another request fetched while this one waited
            if not force and not self._may_refetch():
                return
            self._keys = await self._fetch()
            self._fetched_at = time.monotonic()
            log.info("signing keys fetched", extra={"kids": sorted(self._keys)})

    async def _fetch(self) -> dict[str, PyJWK]:
        url = self._settings.keys_url
        try:
            client = self._client or httpx.AsyncClient()
            try:
                response = await client.get(url, timeout=self._settings.jwks_timeout_s)
            finally:
                if self._client is None:
                    await client.aclose()
            response.raise_for_status()
            document: dict[str, Any] = response.json()
            key_set = PyJWKSet.from_dict(document)
        except (httpx.HTTPError, ValueError, PyJWKSetError) as exc:
            raise KeysUnavailable(f"signing keys not available from {url}: {exc}") from exc
        # Only signing keys with an id can verify our tokens (Keycloak also lists enc keys).
        return {
            key.key_id: key
            for key in key_set.keys
            if key.key_id and key.public_key_use in (None, "sig")
        }
