"""Only the audit log's submitter may ask a witness for cosignatures; reading stays public,
its metrics for operations and services.

Tokens come from the real Keycloak: the audit service's client holds the role
witness-submitter; another service's client and a person do not. A refusal is
problem+json and leaves the witness's state as it was.
"""

from __future__ import annotations

from pathlib import Path

from witness.config import WitnessSettings
from witness.main import create_app

from shared.testing import auth_headers, running_app


def witness(tmp_path: Path, *, require_token: bool = True) -> WitnessSettings:
    return WitnessSettings(
        key_path=tmp_path / "key.pem",
        state_path=tmp_path / "state.json",
        require_token=require_token,
    )


async def test_only_the_witness_submitter_may_submit(tmp_path: Path) -> None:
    async with running_app(create_app(witness(tmp_path))) as client:
        before = (await client.get("/state")).json()
        post = "/add-checkpoint"
        anonymous = await client.post(post, content=b"old 0\n\nnot a checkpoint\n")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        for who in ("service:intake", "operations", "auditor"):
            refused = await client.post(post, content=b"x", headers=auth_headers(who))
            assert (refused.status_code, refused.json()["code"]) == (403, "forbidden"), who
        assert (await client.get("/state")).json() == before

        # The audit service's client gets past the access check to the protocol's own
        # answer (here: a malformed request).
        admitted = await client.post(post, content=b"x", headers=auth_headers("service:audit"))
        assert admitted.status_code == 400
        assert (await client.get("/vkey")).text.startswith("lienthong.local/witness-1+")
        # Its metrics are for operations and services, as on every service.
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers=auth_headers("auditor"))).status_code == 403
        scraped = await client.get("/metrics", headers=auth_headers("operations"))
        assert scraped.status_code == 200


async def test_submitting_can_be_opened_to_anyone_by_setting(tmp_path: Path) -> None:
    async with running_app(create_app(witness(tmp_path, require_token=False))) as client:
        answer = await client.post("/add-checkpoint", content=b"x")
        assert answer.status_code == 400  # the protocol's refusal, not an access one
