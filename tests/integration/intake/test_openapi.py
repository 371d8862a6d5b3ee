"""Intake's OpenAPI document is complete: summaries, schemas, examples, documented problems."""

from __future__ import annotations

from typing import Any

from tests.integration.intake.helpers import RunningIntake

OPERATIONS = {
    ("get", "/v1/units"),
    ("get", "/v1/units/{code}"),
    ("get", "/v1/procedures"),
    ("get", "/v1/procedures/{code}"),
    ("post", "/v1/dossiers"),
    ("post", "/v1/dossiers/denials"),
    ("post", "/v1/dossiers/{code}/reception"),
    ("post", "/v1/dossiers/{code}/denial"),
    ("post", "/v1/dossiers/supplement-requests"),
    ("post", "/v1/dossiers/{code}/supplement-request"),
    ("post", "/v1/dossiers/{code}/supplement"),
    ("get", "/v1/dossiers/{code}"),
    ("post", "/v1/dossiers/{code}/withdrawal"),
    ("get", "/v1/dossiers/{code}/forms/{number}"),
    ("get", "/v1/units/{unit}/forms/06"),
    ("get", "/v1/dossiers/{code}/applicant-name"),
    ("post", "/v1/subject-access"),
    ("post", "/v1/dossiers/{code}/contact-correction"),
}


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follow a $ref (possibly inside anyOf with null) to the component schema."""
    for option in schema.get("anyOf", [schema]):
        if "$ref" in option:
            resolved: dict[str, Any] = doc["components"]["schemas"][option["$ref"].split("/")[-1]]
            return resolved
    return schema


async def test_every_operation_is_documented_with_schemas_examples_and_problems(
    intake: RunningIntake,
) -> None:
    doc = (await intake.client.get("/openapi.json")).json()
    operations = {
        (method, path): op
        for path, item in doc["paths"].items()
        if path.startswith("/v1/")
        for method, op in item.items()
    }
    assert set(operations) == OPERATIONS
    gaps: list[str] = []
    for (method, path), op in sorted(operations.items()):
        where = f"{method.upper()} {path}"
        for key in ("summary", "description", "tags"):
            if not op.get(key):
                gaps.append(f"{where}: no {key}")
        success = [r for status, r in op["responses"].items() if status.startswith("2")]
        if len(success) != 1:
            gaps.append(f"{where}: {len(success)} success responses")
            continue
        if "text/html" in success[0]["content"]:  # a printable form: HTML, not a schema
            pass
        elif not resolve(doc, success[0]["content"]["application/json"]["schema"]).get("examples"):
            gaps.append(f"{where}: response schema without examples")
        if "requestBody" in op:
            content = op["requestBody"]["content"]["application/json"]
            if not resolve(doc, content["schema"]).get("examples"):
                gaps.append(f"{where}: request body without examples")
        problems = {s: r for s, r in op["responses"].items() if s[0] in "45"}
        if not problems:
            gaps.append(f"{where}: no documented problem")
        for status, response in problems.items():
            media = response.get("content", {}).get("application/problem+json", {})
            if not media.get("schema") or not media.get("examples"):
                gaps.append(f"{where}: {status} without problem schema and examples")
            for example in media.get("examples", {}).values():
                if example["value"]["status"] != int(status):
                    gaps.append(f"{where}: {status} example has another status")
        for parameter in op.get("parameters", []):
            if parameter["in"] != "path" and not parameter.get("description"):
                gaps.append(f"{where}: parameter {parameter['name']} undescribed")
    assert gaps == []


async def test_submission_documents_every_refusal_code(intake: RunningIntake) -> None:
    doc = (await intake.client.get("/openapi.json")).json()
    responses = doc["paths"]["/v1/dossiers"]["post"]["responses"]
    codes = {
        name
        for response in responses.values()
        for name in response.get("content", {})
        .get("application/problem+json", {})
        .get("examples", {})
    }
    assert {"unknown_procedure", "missing_document", "idempotency_key_reused"} <= codes
    assert {"malformed_json", "body_too_large", "unit_not_in_force", "outside_boundary"} <= codes
    headers = {p["name"] for p in doc["paths"]["/v1/dossiers"]["post"]["parameters"]}
    assert "Idempotency-Key" in headers


async def test_the_contact_correction_documents_its_refusals_and_key(intake: RunningIntake) -> None:
    doc = (await intake.client.get("/openapi.json")).json()
    operation = doc["paths"]["/v1/dossiers/{code}/contact-correction"]["post"]
    codes = {
        (status, name)
        for status, response in operation["responses"].items()
        for name in response.get("content", {})
        .get("application/problem+json", {})
        .get("examples", {})
    }
    assert {
        ("404", "not_found"),
        ("409", "idempotency_key_reused"),
        ("410", "personal_data_erased"),
        ("422", "invalid_request"),
        ("422", "nothing_to_correct"),
    } <= codes
    assert "Idempotency-Key" in {p["name"] for p in operation["parameters"]}
