"""The applicant's name for routing's printed forms: intake gives it to routing's client only.

Routing's own client (client credentials from the real Keycloak, wired as routing.main
wires it) gets the name and nothing else; intake's client, a desk, operations and an
auditor get 403, no token 401, an unknown dossier 404, all as problem+json.
"""

from __future__ import annotations

import httpx
from intake.examples import EXAMPLE_APPLICANT
from intake.main import create_app
from routing.applicants import IntakeApplicantNames

from shared.auth.identities import ClientAuth, credentials
from shared.clock import ManualClock
from shared.runtime import CommonSettings
from shared.testing import ActAs, auth_headers, running_app
from tests.integration.intake.helpers import intake_settings, submission

UNKNOWN = "001.21.31.H59-260302-9999"


async def test_routing_alone_reads_the_applicants_name(
    common_settings: CommonSettings, clock: ManualClock
) -> None:
    app = create_app(intake_settings(common_settings), clock)
    async with running_app(app, ActAs("desk")) as desk:
        receipt = await desk.post("/v1/dossiers", json=submission())
        assert receipt.status_code == 201, receipt.text
        code = receipt.json()["code"]
        path = f"/v1/dossiers/{code}/applicant-name"

        routing_http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://intake",
            auth=ClientAuth(credentials("service:routing")),
        )
        async with routing_http:
            names = IntakeApplicantNames(routing_http, "http://intake")
            assert await names.name_of(code) == EXAMPLE_APPLICANT["name"]
            answer = await routing_http.get(path)
            assert answer.json() == {"code": code, "name": EXAMPLE_APPLICANT["name"]}
            missing = await routing_http.get(f"/v1/dossiers/{UNKNOWN}/applicant-name")
            assert missing.status_code == 404
            assert await names.name_of(UNKNOWN) is None

        for identity in ("service:intake", "desk", "operations", "auditor"):
            refused = await desk.get(path, headers=auth_headers(identity))
            assert refused.status_code == 403, (identity, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["code"] == "forbidden"
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://intake"
        ) as anonymous:
            assert (await anonymous.get(path)).status_code == 401
