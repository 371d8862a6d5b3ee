"""Fuzzing the console's API: every operation but the endless health stream (replays and
redeliveries with their bodies, the sign-in routes), with the cases schemathesis derives
from its OpenAPI document, valid and invalid, as an operator; the services it reads do
not answer, so their failure is exercised too. No 5xx but the documented 502, every
status documented, every refusal a problem document, every answer in its documented
shape, and nothing written by a refused request (``tests.integration.fuzzing``)."""

from __future__ import annotations

import pytest
from console.config import ConsoleOptions, ConsoleSettings
from console.main import create_app

from shared.runtime import CommonSettings
from shared.testing import ActAs, free_port, running_app
from tests.integration.fuzzing import cases, fuzz


# The service's own tasks use `random` on the loop while hypothesis draws in its thread.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
async def test_the_console_api_answers_every_request_as_documented(
    common_settings: CommonSettings,
) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    options = ConsoleOptions(
        intake_url=down, routing_url=down, notification_url=down, audit_url=down
    )
    app = create_app(ConsoleSettings(**common_settings.model_dump(), console=options))
    async with running_app(app, ActAs("operations")) as desk:
        document = (await desk.get("/openapi.json")).json()
        drawn = cases(document, accept=lambda method, path: path != "/api/health/stream")
        statuses = await fuzz(desk, drawn, examples=120, store=app.state.runtime.db)
    # Both kinds of case ran: answers (valid requests) and refusals (invalid ones).
    assert min(statuses) < 300 and max(statuses) >= 400
