"""Fuzzing intake's API: every operation, with the cases schemathesis derives from its
OpenAPI document, valid and invalid, as the desk; an existing dossier's code and the
desk's unit and procedure are drawn half of the time, so valid cases get past the
look-ups. No 5xx, every status documented, every refusal a problem document, every
answer in its documented shape, and nothing written by a refused request
(``tests.integration.fuzzing``)."""

from __future__ import annotations

import pytest

from tests.integration.fuzzing import cases, fuzz
from tests.integration.intake.helpers import BIRTH, DESK, RunningIntake, submission


# The service's own tasks use `random` on the loop while hypothesis draws in its thread.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
async def test_the_intake_api_answers_every_request_as_documented(intake: RunningIntake) -> None:
    created = await intake.client.post("/v1/dossiers", json=submission())
    assert created.status_code == 201, created.text
    hints = {
        "code": [created.json()["code"]],
        "receiving_unit": [DESK],
        "unit": [DESK],
        "procedure_code": [BIRTH],
    }
    document = (await intake.client.get("/openapi.json")).json()
    statuses = await fuzz(
        intake.client, cases(document, hints=hints), examples=100, store=intake.ctx.runtime.db
    )
    # Both kinds of case ran: answers (valid requests) and refusals (invalid ones).
    assert min(statuses) < 300 and max(statuses) >= 400
