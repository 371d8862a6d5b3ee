"""The console's API answers every error as problem+json with a code the page can
translate: an unknown dossier (``dossier_not_found``), a service that does not answer
(502 ``service_unavailable``, naming it), the broker down (503 ``broker_unavailable``),
a replay of nothing or of letters no longer there (``nothing_selected``,
``dead_letter_not_found``). The services are a mock transport; no server."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from aiokafka.errors import KafkaConnectionError
from console import handlers
from console.main import create_app
from console.sources import PAGE_LETTERS

from shared.auth import Principal
from shared.http import PROBLEM_JSON
from shared.kafka.deadletter import DeadLetter
from tests.unit.console.test_service_paths import console


async def test_an_unknown_dossier_is_dossier_not_found() -> None:
    async with console([], lambda request: httpx.Response(404, json={})) as client:
        answer = await client.get("/api/dossiers/NO-SUCH-CODE")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == PROBLEM_JSON
    body = answer.json()
    assert (body["code"], body["field"], body["detail"]) == (
        "dossier_not_found",
        "code",
        "no dossier NO-SUCH-CODE",
    )


async def test_a_service_that_does_not_answer_is_named() -> None:
    async with console([], lambda request: httpx.Response(503, json={})) as client:
        answer = await client.get("/api/overdue")
    assert answer.status_code == 502
    body = answer.json()
    assert (body["code"], body["service"], body["detail"]) == (
        "service_unavailable",
        "routing",
        "routing answered 503",
    )


async def test_the_broker_down_is_broker_unavailable() -> None:
    app = create_app()

    @app.get("/broker")
    async def broker() -> None:
        raise KafkaConnectionError("Unable to bootstrap from [('127.0.0.1', 9092)]")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
        answer = await client.get("/broker")
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert answer.json()["code"] == "broker_unavailable"


class NoLetters:
    async def dead_letters(self, limit: int | None = PAGE_LETTERS) -> list[Any]:
        return []


class OneLetter:
    async def dead_letters(self, limit: int | None = PAGE_LETTERS) -> list[Any]:
        return [
            DeadLetter(
                1, 6, "k", b"x", [], "dossier.events", 0, 63, "routing", "E", "malformed", 1, ""
            )
        ]


async def test_a_letter_there_but_outside_the_filter_is_not_called_absent() -> None:
    """The page sends the positions shown with the filter applied: a letter that no
    longer matches it is refused, saying so, not "no dead letter at" a letter that is."""
    async with console([], kafka_views=OneLetter(), operations=None) as client:
        answer = await client.post(
            "/api/deadletters/replay", json={"positions": ["1:6", "0:9"], "consumer_group": "audit"}
        )
    assert answer.status_code == 404
    assert answer.json()["code"] == "dead_letter_not_found"
    assert answer.json()["detail"] == (
        "no dead letter at ['0:9']; the dead letters at ['1:6'] do not match the filter"
    )


async def test_a_replay_names_what_it_could_not_find() -> None:
    async with console([], kafka_views=NoLetters(), operations=None) as client:
        nothing = await client.post("/api/deadletters/replay", json={})
        missing = await client.post("/api/deadletters/replay", json={"positions": ["0:7"]})
    assert nothing.status_code == 400
    assert (nothing.json()["code"], nothing.json()["field"]) == ("nothing_selected", "positions")
    assert missing.status_code == 404
    assert (missing.json()["code"], missing.json()["field"]) == (
        "dead_letter_not_found",
        "positions",
    )


async def test_a_code_routing_cannot_hold_is_refused_here_not_blamed_on_routing() -> None:
    """Routing takes codes of at most 64 characters and refuses longer ones with 422:
    passed on, that read as "routing did not answer" (502), and the page said so."""
    asked: list[httpx.URL] = []
    async with console(asked, lambda request: httpx.Response(422, json={})) as client:
        answer = await client.get("/api/dossiers/" + "A" * 65)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert (answer.json()["code"], answer.json()["field"]) == ("invalid_request", "path.code")
    assert asked == []


async def test_a_code_with_a_slash_is_one_code_not_found() -> None:
    """A code typed with "/" reaches the dossier route (and routing as one segment),
    and is said as no such dossier, not as no such route."""
    asked: list[httpx.URL] = []
    async with console(asked, lambda request: httpx.Response(404, json={})) as client:
        answer = await client.get("/api/dossiers/a%2Fb")
    assert answer.status_code == 404
    assert (answer.json()["code"], answer.json()["detail"]) == (
        "dossier_not_found",
        "no dossier a/b",
    )
    assert {url.raw_path for url in asked} >= {b"/v1/dossiers/a%2Fb"}


@pytest.mark.parametrize(
    "window",
    [
        {"since": "2026-12-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"},
        {"since": "2026-12-01T00:00:00Z", "until": "2026-12-01T07:00:00+07:00"},
        {"since": "8999-01-01T00:00:00Z"},  # routing's window ends now without until
    ],
)
async def test_a_window_ending_before_it_starts_is_invalid_not_routing_down(
    window: dict[str, str],
) -> None:
    asked: list[httpx.URL] = []
    async with console(asked, lambda request: httpx.Response(422, json={})) as client:
        answer = await client.get("/api/flows", params=window)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM_JSON
    body = answer.json()
    assert (body["code"], body["field"]) == ("invalid_request", "query.since")
    assert asked == []


def letter_at(offset: int) -> DeadLetter:
    return DeadLetter(
        0, offset, "k", b"x", [], "dossier.events", 0, offset, "routing", "E", "malformed", 1, ""
    )


class ManyLetters:
    """More letters retained than a page reads: the page gets its first PAGE_LETTERS."""

    async def dead_letters(self, limit: int | None = PAGE_LETTERS) -> list[Any]:
        letters = [letter_at(offset) for offset in range(PAGE_LETTERS + 5)]
        return letters if limit is None else letters[:limit]


async def test_a_letter_past_the_pages_bound_is_replayed_by_its_position(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A replay by position looks among every retained letter: one past the page's first
    thousand was refused as absent (404 "no dead letter at"), though the topic kept it."""
    replayed: list[str] = []

    async def replay_letter(ops: Any, letter: DeadLetter, caller: Principal) -> dict[str, Any]:
        replayed.append(f"{letter.partition}:{letter.offset}")
        return {"dead_letter": replayed[-1], "status": "done"}

    monkeypatch.setattr(handlers, "replay_letter", replay_letter)
    past = f"0:{PAGE_LETTERS + 3}"
    async with console([], kafka_views=ManyLetters(), operations=None) as client:
        answer = await client.post("/api/deadletters/replay", json={"positions": [past]})
    assert answer.status_code == 200, answer.json()
    assert replayed == [past]
