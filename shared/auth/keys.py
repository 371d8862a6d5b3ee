"""The realm's signing keys (JWKS), fetched over HTTP and cached.

A token signed with a key id the cache does not know triggers one refetch (Keycloak
rotated its keys), at most once per ``jwks_refresh_min_s`` so that forged key ids
cannot turn every request into a fetch. Concurrent misses share one fetch.

A failed fetch is remembered too: none is tried again within ``jwks_refresh_min_s``,
so while Keycloak is down requests do not queue behind one timed-out fetch after
another. Meanwhile the keys last fetched still verify tokens whose key id they know,
up to ``jwks_stale_if_error_s`` past their ``jwks_max_age_s`` (stale-if-error); a key
id they lack, or keys older than that, is ``KeysUnavailable`` (the token may be fine).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWKSetError

from shared.auth.settings import AuthSettings

log = logging.getLogger(__name__)


class KeysUnavailable(Exception):
    """The key set could not be fetched or parsed."""


class KeyCache:
    """A cached JWKS with refresh on an unknown key id, backing off after a failure."""

    def __init__(
        self,
        settings: AuthSettings,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._client = client
        self._clock = clock
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None  # the last fetch that succeeded
        self._failed_at: float | None = None  # the last one, if it failed
        self._attempts = 0  # fetches tried: a waiter sees whether one ran meanwhile
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> PyJWK | None:
        """The signing key with this id, or None when the realm does not have it;
        KeysUnavailable when the realm cannot be asked and no cached key may stand in."""
        if self._wants_fetch(kid) and not self._backing_off():
            await self._refresh(kid)
        found = self._keys.get(kid)
        if self._failed_at is None:
            return found  # the keys are current: an id they lack is not the realm's
        if found is not None and self._age() <= self._stale_limit():
            return found
        raise KeysUnavailable(f"signing keys not available from {self._settings.keys_url}")

    def _age(self) -> float:
        return float("inf") if self._fetched_at is None else self._clock() - self._fetched_at

    def _stale_limit(self) -> float:
        return self._settings.jwks_max_age_s + self._settings.jwks_stale_if_error_s

    def _wants_fetch(self, kid: str) -> bool:
        """No keys yet, keys too old, or a key id they lack (once per interval)."""
        if self._age() > self._settings.jwks_max_age_s:
            return True
        return kid not in self._keys and self._age() >= self._settings.jwks_refresh_min_s

    def _backing_off(self) -> bool:
        """A fetch failed less than ``jwks_refresh_min_s`` ago: do not try again yet."""
        return (
            self._failed_at is not None
            and self._clock() - self._failed_at < self._settings.jwks_refresh_min_s
        )

    async def _refresh(self, kid: str) -> None:
        attempts_before = self._attempts
        async with self._lock:
            if self._attempts != attempts_before:
                return  # another request fetched (or failed to) while this one waited
            if not self._wants_fetch(kid) or self._backing_off():
                return
            self._attempts += 1
            try:
                keys = await self._fetch()
            except KeysUnavailable as exc:
                self._failed_at = self._clock()
                log.warning("signing keys not fetched; backing off", extra={"error": str(exc)})
                return
            self._keys, self._fetched_at, self._failed_at = keys, self._clock(), None
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
