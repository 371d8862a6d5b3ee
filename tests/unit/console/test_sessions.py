"""The console's sign-in mechanics that need no server: PKCE and sealed session tokens."""

from __future__ import annotations

import pytest
from console.oidc import Tokens, pkce_challenge
from console.sessions import digest, seal, unseal
from cryptography.exceptions import InvalidTag


def test_the_pkce_challenge_is_rfc_7636_s256() -> None:
    # The example of RFC 7636, appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_tokens_are_sealed_with_a_key_only_the_session_id_gives() -> None:
    tokens = Tokens("access", "refresh", "id", 1000.0, 2000.0)
    sealed = seal("session-id", tokens)
    assert "access" not in sealed and "refresh" not in sealed
    assert unseal("session-id", sealed) == tokens
    with pytest.raises(InvalidTag):
        unseal("another-session-id", sealed)
    assert digest("session-id") != "session-id" and len(digest("session-id")) == 64


def test_token_times_come_from_the_answer() -> None:
    body = {"access_token": "a", "expires_in": 900, "refresh_expires_in": 1800}
    tokens = Tokens.from_response(body, now=100.0)
    assert (tokens.access_expires_at, tokens.refresh_expires_at) == (1000.0, 1900.0)
    assert tokens.refresh_token is None and tokens.id_token is None
