"""Fuzzing routing's API: every operation (the actions' bodies too), with the cases
schemathesis derives from its OpenAPI document, valid and invalid, as operations and as
the desk; a planned dossier's code and the units it passes are drawn half of the time,
so valid cases get past the look-ups. No 5xx, every status documented, every refusal a
problem document, every answer in its documented shape, and nothing written by a
refused request (``tests.integration.fuzzing``)."""

from __future__ import annotations

import pytest

from shared.runtime import CommonSettings
from shared.testing import ActAs
from tests.integration.fuzzing import cases, fuzz
from tests.integration.routing.helpers import quiet_routing, receive
from tests.unit.routing.builders import TAN_HOA_DESK

CODE = "001.21.31.H59-260101-0001"


# The service's own tasks use `random` on the loop while hypothesis draws in its thread.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
async def test_the_routing_api_answers_every_request_as_documented(
    common_settings: CommonSettings,
) -> None:
    async with quiet_routing(common_settings) as (client, app, pub):
        await receive(pub, client, CODE)
        hints = {"code": [CODE], "unit": [TAN_HOA_DESK, "000.01.31.H59"], "number": ["02", "04"]}
        drawn = cases(app.openapi(), hints=hints)
        statuses = []
        for identity in ("operations", "desk"):
            client.auth = ActAs(identity)
            statuses += await fuzz(client, drawn, examples=80, store=app.state.runtime.db)
    # Both kinds of case ran: answers (valid requests) and refusals (invalid ones).
    assert min(statuses) < 300 and max(statuses) >= 400
