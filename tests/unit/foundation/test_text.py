"""Typed text: NFC before every rule, bidirectional controls refused, one document rule."""

from __future__ import annotations

import copy
import unicodedata
from typing import Any

import pytest
from intake.examples import EXAMPLE_APPLICANT, EXAMPLE_DOCUMENTS
from intake.schemas.requests import DenialRequest, SubmissionRequest, WithdrawalRequest
from pydantic import BaseModel, ValidationError
from routing.http_actions import Completion, Refusal, Supplement

from shared.events.commands import CompleteStep, ProvideSupplement, RefuseTransfer
from shared.events.dossier import ApplicantContact, DocumentRef
from shared.text import BIDI_CONTROLS, clean_text

# 159 characters as people see them; decomposed (NFD) it is well over 200 code points.
LONG_NAME = ("Nguyễn Thị Ánh Tuyết " * 8)[:159]
UNIT = "001.21.31.H59"


def submission(name: str) -> dict[str, Any]:
    return {
        "procedure_code": "1.001193",
        "receiving_unit": UNIT,
        "applicant": {**copy.deepcopy(EXAMPLE_APPLICANT), "name": name},
        "documents": copy.deepcopy(EXAMPLE_DOCUMENTS),
    }


def test_a_decomposed_name_is_stored_composed_and_counted_as_people_see_it() -> None:
    decomposed = unicodedata.normalize("NFD", LONG_NAME)
    assert len(LONG_NAME) == 159 and len(decomposed) > 200

    request = SubmissionRequest.model_validate(submission(decomposed))

    assert request.applicant.name == LONG_NAME  # NFC, the same string as typed composed
    contact = ApplicantContact(name=decomposed, identity_hash="h")
    assert contact.name == LONG_NAME


def test_the_bidirectional_controls_are_exactly_the_embedding_override_and_isolates() -> None:
    assert {f"U+{ord(c):04X}" for c in BIDI_CONTROLS} == {
        "U+202A", "U+202B", "U+202C", "U+202D", "U+202E",
        "U+2066", "U+2067", "U+2068", "U+2069",
    }  # fmt: skip
    assert clean_text("Trần\u200fVăn") == "Trần\u200fVăn"  # a plain RLM mark is not a control


@pytest.mark.parametrize("control", sorted(BIDI_CONTROLS))
@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (SubmissionRequest, submission("Trần {}Văn"), "applicant.name"),
        (DenialRequest, {"reason": "thiếu {}giấy tờ", "actor": "desk"}, "reason"),
        (WithdrawalRequest, {"reason": "{}rút hồ sơ"}, "reason"),
        (Refusal, {"unit": UNIT, "reason": "sai {}thẩm quyền"}, "reason"),
        (Completion, {"unit": UNIT, "outcome": "approve", "note": "đã {}xong"}, "note"),
        (RefuseTransfer, {"dossier_code": "D", "unit": UNIT, "reason": "sai{}"}, "reason"),
        (CompleteStep, {"dossier_code": "D", "unit": UNIT, "outcome": "approve", "note": "{}"},
         "note"),
    ],
    ids=["name", "intake-denial", "withdrawal", "routing-refusal", "routing-note",
         "command-reason", "command-note"],
)  # fmt: skip
def test_bidirectional_controls_are_refused_in_names_notes_and_reasons(
    model: type[BaseModel], data: dict[str, Any], field: str, control: str
) -> None:
    poisoned = _format(data, control)
    with pytest.raises(ValidationError) as caught:
        model.model_validate(poisoned)
    errors = [e for e in caught.value.errors() if e["type"] == "bidi_control"]
    assert errors, caught.value.errors()
    assert ".".join(str(p) for p in errors[0]["loc"]) == field


@pytest.mark.parametrize("control", ["\x07", "\x7f", "\x85", "\x9b"])
@pytest.mark.parametrize(
    ("model", "data"),
    [
        (CompleteStep, {"dossier_code": "D", "unit": UNIT, "outcome": "approve", "note": "a{}"}),
        (RefuseTransfer, {"dossier_code": "D", "unit": UNIT, "reason": "sai{}"}),
    ],
    ids=["command-note", "command-reason"],
)
def test_commands_refuse_control_characters_c1_included(
    model: type[BaseModel], data: dict[str, Any], control: str
) -> None:
    """Routing's free text (over HTTP and on the topic) refuses control characters other
    than tab and line breaks: C1 (U+0080-U+009F) too, as intake's requests do."""
    with pytest.raises(ValidationError):
        model.model_validate(_format(data, control))
    model.model_validate(_format(data, "\t\n"))


def _format(value: Any, control: str) -> Any:
    if isinstance(value, str):
        return value.replace("{}", control)
    if isinstance(value, dict):
        return {k: _format(v, control) for k, v in value.items()}
    if isinstance(value, list):
        return [_format(v, control) for v in value]
    return value


DOCUMENT = {"name": "Tờ khai", "type": "registration_form", "sha256": "a" * 64}


@pytest.mark.parametrize(
    "model",
    [DocumentRef, Supplement, ProvideSupplement],
    ids=["contract", "routing-http", "routing-command"],
)
def test_an_empty_document_is_refused_everywhere_as_at_intake(model: type[BaseModel]) -> None:
    document = {**DOCUMENT, "size_bytes": 0}
    data: dict[str, Any] = (
        document
        if model is DocumentRef
        else {"dossier_code": "D", "unit": UNIT, "documents": [document]}
    )
    if model is Supplement:
        data.pop("dossier_code")
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    assert caught.value.errors()[0]["loc"][-1] == "size_bytes"
    assert DocumentRef.model_validate({**DOCUMENT, "size_bytes": 1}).size_bytes == 1
