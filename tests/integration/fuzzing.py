"""Fuzzing a service's HTTP API with the cases schemathesis derives from its OpenAPI document.

Every operation (GET, POST, DELETE, with their bodies) is called with cases that follow
the schema and cases that break it (wrong types, missing fields, nested values, unknown
parameters). ``hints`` put values the service knows (an existing dossier's code, a unit
of the catalogue) into the drawn path parameters and top-level body fields half of the
time, so the valid cases reach past the look-ups. Each answer is checked as a careful
client would: below 500 (but a gateway's documented 502), its status documented for the
operation, a refusal a problem document, an answer matching its documented schema; and a
refused request must write nothing to the service's store (a change stream on its
database sees every write).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core import NOT_SET
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode

from shared.http import PROBLEM_JSON
from shared.mongo.client import Database

SKIPPED = frozenset({"/healthz", "/readyz", "/metrics"})
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class Request:
    """One drawn request as it goes on the wire."""

    method: str
    path: str
    query: list[tuple[str, str | int | float | bool | None]]
    headers: dict[str, str]
    content: bytes | None
    case: Case[Any] = field(repr=False)

    def __str__(self) -> str:
        body = self.content.decode(errors="replace")[:300] if self.content else ""
        return f"{self.method} {self.path} {self.query} {self.headers} {body}"


def operations(
    document: dict[str, Any], accept: Callable[[str, str], bool] = lambda m, p: True
) -> list[Any]:
    """The document's operations (health and metrics aside) that ``accept(method, path)``."""
    found = []
    for result in schemathesis.openapi.from_dict(document).get_all_operations():
        assert isinstance(result, Ok), result  # the document itself is valid
        operation = result.ok()
        if operation.path not in SKIPPED and accept(operation.method.upper(), operation.path):
            found.append(operation)
    assert found
    return found


def cases(
    document: dict[str, Any],
    accept: Callable[[str, str], bool] = lambda m, p: True,
    hints: Mapping[str, Sequence[Any]] | None = None,
) -> st.SearchStrategy[Request]:
    """Schemathesis's cases for the accepted operations, valid and invalid, as requests."""
    strategies = [
        op.as_strategy(generation_mode=mode)
        for op in operations(document, accept)
        for mode in GenerationMode
    ]
    return st.builds(_hinted, st.one_of(strategies), st.data(), st.just(dict(hints or {})))


def _hinted(case: Case[Any], data: st.DataObject, hints: dict[str, Sequence[Any]]) -> Request:
    for name, values in hints.items():
        if case.path_parameters and name in case.path_parameters and data.draw(st.booleans()):
            case.path_parameters[name] = data.draw(st.sampled_from(values))
        if isinstance(case.body, dict) and name in case.body and data.draw(st.booleans()):
            case.body[name] = data.draw(st.sampled_from(values))
    headers = {name: str(value) for name, value in (case.headers or {}).items()}
    # A header httpx cannot put on the wire is no request at all.
    assume(all(value.isascii() and value.isprintable() for value in headers.values()))
    content = None
    if case.body is not NOT_SET:
        body = case.body
        content = body if isinstance(body, bytes) else json.dumps(body, default=str).encode()
        headers.setdefault("content-type", case.media_type or "application/json")
    return Request(
        case.method.upper(),
        case.formatted_path,
        query_pairs(case.query or {}),
        headers,
        content,
        case,
    )


def query_pairs(query: dict[str, Any]) -> list[tuple[str, str | int | float | bool | None]]:
    """A generated query as it goes on the wire: lists repeat the name, anything that is
    not text (numbers, nested values) is sent as its JSON text."""
    pairs: list[tuple[str, str | int | float | bool | None]] = []
    for name, value in query.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, item if isinstance(item, str) else json.dumps(item)))
    return pairs


def defects(request: Request, response: httpx.Response) -> list[str]:
    """What is wrong with this answer to this request (nothing, for a good answer)."""
    found = []
    if response.status_code >= 500 and response.status_code != 502:
        found.append(f"server error {response.status_code}: {response.text[:300]}")
    elif response.status_code >= 400:
        if response.headers.get("content-type") != PROBLEM_JSON:
            found.append(f"refusal not a problem: {response.headers.get('content-type')}")
        else:
            try:
                if not response.json().get("code"):
                    found.append("problem without a code")
            except ValueError:
                found.append("problem not JSON")
    try:
        request.case.validate_response(response, checks=CHECKS)
    except FailureGroup as group:
        found += [f"{type(e).__name__}: {getattr(e, 'title', '')}" for e in group.exceptions]
    except AssertionError as error:
        found.append(f"{type(error).__name__}: {str(error)[:300]}")
    return found


# Written by the service's own tasks, never by a request, so they may change while a
# request runs: a consumer's record of the events it handled (``inbox``), a worker's lease
# and its renewals, the lease being the workers' heartbeat (``leases``), the relay's
# copies held for agency feeds the test broker does not have (``feed_backlog``).
BACKGROUND = frozenset({"inbox", "leases", "feed_backlog"})
# The outbox relay marks entries that earlier (accepted) requests wrote as sent, or sets
# aside one the broker refused: updates of these fields only. A request's own entries
# are inserts, which a refused request must never write.
RELAY_FIELDS = {"outbox": frozenset({"status", "sent_at", "quarantined_at", "reason"})}
MARKS = "fuzz_marks"  # the test's own collection: one mark after each request
MARK_WAIT_S = 30.0  # a mark comes within milliseconds; this long only on a loaded machine


class Writes:
    """Every write to a database, in the order the store applied it, from one change stream
    on the whole database: ``since_mark()`` writes a mark and returns what was written
    between the previous mark and this one (writes of ``BACKGROUND`` collections and the
    relay's marks left out). Changes to a document already there count as much as
    inserts and deletes; and the store applies writes in one order, so a write that
    ended before the mark was written is seen before it."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._stream: Any = None

    async def __aenter__(self) -> Writes:
        self._stream = await self._open()
        await self.since_mark()  # what was written before: not this test's business
        return self

    async def _open(self, resume_after: Any = None) -> Any:
        wait_ms = int(MARK_WAIT_S * 1000)
        return await self._db.watch(max_await_time_ms=wait_ms, resume_after=resume_after)

    async def _next_change(self) -> Mapping[str, Any]:
        """The next change. A stream the store ended (seen on a loaded machine: the
        cursor closed, ``StopAsyncIteration``) is opened again after the last change it
        gave, so none is missed; a store that cannot resume there fails the test."""
        while True:
            try:
                return await asyncio.wait_for(self._stream.next(), timeout=MARK_WAIT_S)
            except StopAsyncIteration:
                token = self._stream.resume_token
                await self._stream.close()
                self._stream = await self._open(resume_after=token)

    async def __aexit__(self, *exc: object) -> None:
        await self._stream.close()

    async def since_mark(self) -> list[str]:
        mark = uuid.uuid4().hex
        await self._db[MARKS].insert_one({"_id": mark})
        found: list[str] = []
        while True:
            change = await self._next_change()
            where = change.get("ns", {}).get("coll", "")
            if where == MARKS:
                if change.get("documentKey", {}).get("_id") == mark:
                    return found
            elif not _background(where, change):
                # Where and what, never the values (the failure is printed).
                found.append(f"{change['operationType']} {where} {change.get('documentKey')}")


def _background(collection: str, change: Mapping[str, Any]) -> bool:
    if collection in BACKGROUND:
        return True
    fields = RELAY_FIELDS.get(collection)
    if fields is None or change["operationType"] != "update":
        return False
    described = change.get("updateDescription", {})
    changed = set(described.get("updatedFields", {})) | set(described.get("removedFields", []))
    return changed <= fields


async def fuzz(
    client: httpx.AsyncClient,
    drawn: st.SearchStrategy[Request],
    examples: int,
    store: Database | None = None,
    timeout: float = 30,
) -> list[int]:
    """Draw requests in a worker thread, send them on this loop, assert every answer is
    free of defects and, given the service's ``store``, that a refused request wrote
    nothing there (no insert, update, replace or delete: ``Writes``); return the
    statuses."""
    loop = asyncio.get_running_loop()
    seen: list[int] = []
    writes = Writes(store) if store is not None else None

    async def send(request: Request) -> httpx.Response:
        response = await client.request(
            request.method,
            request.path,
            params=request.query,
            headers=request.headers,
            content=request.content,
        )
        if writes is not None:
            written = await writes.since_mark()
            if response.status_code >= 400:
                assert not written, ("refused, yet written", str(request), written)
        return response

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(request=drawn)
    def call(request: Request) -> None:
        future = asyncio.run_coroutine_threadsafe(send(request), loop)
        response = future.result(timeout=timeout)
        found = defects(request, response)
        assert not found, (str(request), response.status_code, response.text[:500], found)
        seen.append(response.status_code)

    if writes is None:
        await asyncio.to_thread(call)
        return seen
    async with writes:
        await asyncio.to_thread(call)
    return seen
