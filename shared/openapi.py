"""Every status a route can answer, declared in its service's OpenAPI document.

FastAPI documents only what a route returns and its own 422; the shared layer answers
more: 400 for a body that is not JSON, 413 for one too large, 422 (as a problem, not
FastAPI's shape) for a malformed field or parameter, 404 for an unknown path, 503 while
the store is unavailable or the service is overloaded, 401 and 403 on a route that needs
a bearer token. ``declare_problems`` adds each to every route that can give it, with the
problem schema; what a service declares itself (examples, its own codes,
409s and 403s) is kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from shared.http import PROBES, PROBLEM_JSON

STATUS_TEXT = {
    400: "The body is not JSON (`malformed_json`).",
    401: "No valid bearer token (`unauthenticated`).",
    403: "The caller may not do this (see `code`).",
    404: "Nothing matches (`not_found`, or the service's own code).",
    409: "Conflicts with the current state or an earlier request (see `code`).",
    413: "The body is larger than the configured limit (`body_too_large`).",
    422: "A field or parameter is missing, malformed or refused (`invalid_request`, or the "
    "service's own code; `field` names it).",
    502: "A service this one reads did not answer, or answered an error "
    "(`service_unavailable`; `service` names it).",
    503: "The store is unavailable (`store_unavailable`) or the service is handling its "
    "most requests at once (`overloaded`); retry after `Retry-After`.",
}


class Problem(BaseModel):
    """An RFC 9457 problem document: every refusal, with a machine-readable code."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="urn:lienthong:problem:<code>")
    title: str
    status: int
    code: str = Field(description="Machine-readable reason.")
    detail: str
    field: str | None = Field(None, description="The field or parameter at fault, if one.")


# The shared layer's own code for each status, shown as the example of its answer.
SHARED_CODES = {
    400: ("malformed_json", "the body is not JSON"),
    401: ("unauthenticated", "no valid bearer token"),
    403: ("forbidden", "the caller may not do this"),
    404: ("not_found", "nothing matches"),
    409: ("conflict", "conflicts with the current state"),
    413: ("body_too_large", "the body is larger than the configured limit"),
    422: ("invalid_request", "a field or parameter is missing or malformed"),
    502: ("service_unavailable", "routing: ConnectError"),  # a service's own, for a gateway
    503: ("store_unavailable", "the store is unavailable; retry later"),
}


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    """One OpenAPI response entry: problem+json with the shared schema and an example."""
    code, detail = SHARED_CODES.get(status, ("problem", "refused"))
    example = {
        "type": f"urn:lienthong:problem:{code}",
        "title": code.replace("_", " "),
        "status": status,
        "code": code,
        "detail": detail,
    }
    return {
        "description": description or STATUS_TEXT[status],
        "content": {
            PROBLEM_JSON: {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "examples": {code: {"value": example}},
            }
        },
    }


def statuses_of(path: str, operation: Mapping[str, Any]) -> set[int]:
    """What the shared layer can answer for this operation."""
    # A route guarded by shared.auth.allow carries a security requirement.
    guarded = {401, 403} if operation.get("security") else set()
    if path in PROBES:
        return guarded
    statuses = {503} | guarded
    parameters = operation.get("parameters") or []
    if operation.get("requestBody"):
        statuses |= {400, 413, 422}
    if parameters:
        statuses.add(422)
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    return statuses


def _is_fastapi_default(entry: Mapping[str, Any]) -> bool:
    content = entry.get("content") or {}
    schema = (content.get("application/json") or {}).get("schema") or {}
    return str(schema.get("$ref", "")).endswith("/HTTPValidationError")


def declare_problems(app: FastAPI, extra: Callable[[str, str], set[int]] | None = None) -> None:
    """Make ``app.openapi()`` declare every answerable status; ``extra(path, method)`` adds
    the service's own (e.g. 409 on actions that can conflict)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("Problem", Problem.model_json_schema())
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                wanted = statuses_of(path, operation) | (extra(path, method) if extra else set())
                for status in sorted(wanted):
                    current = responses.get(str(status))
                    if current is None or _is_fastapi_default(current):
                        responses[str(status)] = problem_response(status)
        # FastAPI's own 422 shape is never served: drop it once nothing refers to it.
        for unused in ("HTTPValidationError", "ValidationError"):
            if f"#/components/schemas/{unused}" not in json.dumps(schema["paths"]):
                components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
