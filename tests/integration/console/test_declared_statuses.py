"""The console's OpenAPI document declares what its routes answer: a source that does not
answer (502), a replay of no such dead letter (404), the sign-in's redirects (303) and
its failures (400), each refusal with the problem schema."""

from __future__ import annotations

from typing import Any

import httpx
from console.config import ConsoleOptions, ConsoleSettings
from console.main import create_app

from shared.http import PROBLEM_JSON
from shared.runtime import CommonSettings
from shared.testing import ActAs, free_port, running_app


def declared(document: dict[str, Any], method: str, path: str, response: httpx.Response) -> bool:
    entry = document["paths"][path][method]["responses"].get(str(response.status_code))
    if entry is None:
        return False
    if response.status_code >= 400:
        return PROBLEM_JSON in entry.get("content", {})
    return True


async def test_what_the_console_answers_is_declared(common_settings: CommonSettings) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    options = ConsoleOptions(
        intake_url=down, routing_url=down, notification_url=down, audit_url=down
    )
    app = create_app(ConsoleSettings(**common_settings.model_dump(), console=options))
    async with running_app(app, ActAs("operations")) as desk:
        document = (await desk.get("/openapi.json")).json()
        answers = {
            ("get", "/api/flows"): await desk.get("/api/flows"),
            ("get", "/api/dossiers/{code}"): await desk.get("/api/dossiers/X-1"),
            ("post", "/api/notifications/{notification_id}/redeliver"): await desk.post(
                "/api/notifications/n-1/redeliver", json={}
            ),
            ("post", "/api/deadletters/replay"): await desk.post(
                "/api/deadletters/replay", json={"positions": ["0:999999"]}
            ),
            ("get", "/login"): await desk.get("/login"),
            ("get", "/auth/callback"): await desk.get("/auth/callback", params={"state": "s"}),
        }
    statuses = {route: answer.status_code for route, answer in answers.items()}
    assert statuses == {
        ("get", "/api/flows"): 502,
        ("get", "/api/dossiers/{code}"): 502,
        ("post", "/api/notifications/{notification_id}/redeliver"): 502,
        ("post", "/api/deadletters/replay"): 404,
        ("get", "/login"): 303,
        ("get", "/auth/callback"): 400,
    }
    undeclared = [
        (method, path, answer.status_code)
        for (method, path), answer in answers.items()
        if not declared(document, method, path, answer)
    ]
    assert not undeclared
