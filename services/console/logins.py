"""A sign-in in progress, carried by the browser in a sealed cookie: nothing is stored.

``/login`` is open to anyone, so it must not write: a record per call would let anyone
grow the console's database. The state, PKCE verifier and nonce of a sign-in, where
to go after it and until when it holds travel instead in an httpOnly cookie, encrypted
and authenticated (AES-GCM) under a key only the console has, derived from its sign-in
client's secret (consoles sharing the client share it): the browser can neither read
the verifier nor change any of it. The callback accepts it only with the state
Keycloak sends back and before it expires; the code itself is one-time at Keycloak
and bound to the verifier (PKCE), so a replayed callback is refused there.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict, dataclass

from cryptography.exceptions import InvalidTag

from console.sessions import cipher, seal_bytes, unseal_bytes

LOGIN_TTL_S = 600
LOGIN_PURPOSE = b"lienthong console login"


@dataclass(frozen=True)
class PendingLogin:
    """What the callback needs of the ``/login`` that started it."""

    state: str
    verifier: str
    nonce: str
    next: str
    expires_at: float  # epoch seconds


class LoginSealer:
    """Seals a pending login into a cookie value, and opens only what it sealed."""

    def __init__(self, secret: str) -> None:
        self._aead = cipher(secret, LOGIN_PURPOSE)

    def seal(self, login: PendingLogin) -> str:
        sealed = seal_bytes(self._aead, json.dumps(asdict(login)).encode())
        return base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def unseal(self, cookie: str, now: float) -> PendingLogin | None:
        """The login the cookie carries, if this console sealed it and it holds at ``now``."""
        try:
            raw = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
            login = PendingLogin(**json.loads(unseal_bytes(self._aead, raw)))
        except (InvalidTag, binascii.Error, ValueError, TypeError):
            return None
        return login if now < login.expires_at else None
