"""The CSRF token a request sends is any text the client chose: a wrong one, ASCII or
not, is 403 ``csrf``, never a TypeError of the constant-time comparison."""

from __future__ import annotations

import pytest
from console.oidc import Tokens
from console.sessions import Session
from console.signin import _check_csrf
from starlette.requests import Request

from shared.auth import Forbidden

SESSION = Session("session-id", Tokens("a", "r", "i", 0.0, 0.0), csrf="csrf-token")


def request(sent: bytes) -> Request:
    headers = [(b"x-csrf-token", sent)]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers})


def test_the_sessions_csrf_token_passes() -> None:
    _check_csrf(request(b"csrf-token"), SESSION)


@pytest.mark.parametrize("sent", [b"", b"wrong", "csrf-tokén".encode("latin-1"), b"\xff\xfe"])
def test_a_wrong_csrf_token_is_403_whatever_its_characters(sent: bytes) -> None:
    with pytest.raises(Forbidden) as refused:
        _check_csrf(request(sent), SESSION)
    assert refused.value.code == "csrf"
