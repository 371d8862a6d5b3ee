"""A token the realm signed whose access claims have an unexpected type (a mapper set
up wrong) is an invalid token, 401 ``invalid_token`` as problem+json, never a 500.
Tokens signed with locally generated keys; no server."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.auth import EVERYONE, Role, allow
from shared.auth.http import install_auth
from shared.auth.verify import InvalidToken
from shared.http import install_error_handlers
from tests.unit.foundation.test_auth import SETTINGS, Realm

MALFORMED: list[tuple[dict[str, Any], str]] = [
    ({"realm_access": {"roles": 7}}, "realm_access.roles"),
    ({"realm_access": {"roles": "desk"}}, "realm_access.roles"),
    ({"realm_access": {"roles": [{"name": "desk"}]}}, "realm_access.roles"),
    ({"realm_access": {"roles": [["desk"]]}}, "realm_access.roles"),
    ({"realm_access": ["desk"]}, "realm_access"),
    ({"unit": ["001.21.31.H59"]}, "unit"),
    ({"unit": {"id": 1}}, "unit"),
    ({"exp": str(int(time.time()) + 300)}, "exp"),  # PyJWT accepts a numeric string
]


@pytest.mark.parametrize(("claims", "named"), MALFORMED)
async def test_a_claim_of_the_wrong_type_is_an_invalid_token(
    claims: dict[str, Any], named: str
) -> None:
    realm = Realm()
    with pytest.raises(InvalidToken, match=named.replace(".", r"\.")):
        await realm.verifier().verify(realm.token(**claims))


async def test_absent_access_claims_are_no_roles_and_no_unit() -> None:
    realm = Realm()
    principal = await realm.verifier().verify(realm.token(realm_access=None, unit=None))
    assert (principal.roles, principal.unit) == (frozenset(), None)
    for access in ({"other": 1}, {"roles": None}):
        no_roles = await realm.verifier().verify(realm.token(realm_access=access))
        assert no_roles.roles == frozenset()
    named_oddly = await realm.verifier().verify(realm.token(preferred_username=["x"], azp=5))
    assert named_oddly.name == "user-1"  # names only label records: the subject stands in


@pytest.mark.parametrize(("claims", "named"), MALFORMED)
async def test_the_api_answers_401_invalid_token_as_a_problem(
    claims: dict[str, Any], named: str
) -> None:
    realm = Realm()
    app = FastAPI()
    install_error_handlers(app)
    install_auth(app, SETTINGS, realm.verifier())

    @app.get("/anyone", dependencies=[allow(*EVERYONE)])
    async def anyone() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/desk", dependencies=[allow(Role.DESK)])
    async def desk() -> dict[str, str]:
        return {"ok": "yes"}

    headers = {"Authorization": f"Bearer {realm.token(**claims)}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for path in ("/anyone", "/desk"):
            answer = await client.get(path, headers=headers)
            assert answer.status_code == 401
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["code"] == "invalid_token"
            assert named in answer.json()["detail"]
