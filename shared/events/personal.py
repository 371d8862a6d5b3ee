"""Which contract fields hold personal data: marked on the models, found by walking them.

Every string a contract carries is one of

- **personal** (``Personal`` / ``PERSONAL``): personal data, a pseudonym of a person
  (a keyed hash of an identity number, phone or e-mail) or free text, which people type
  and which may name or describe a person (reasons, notes, document names,
  descriptions, payment references, error texts). Whoever keeps events for long must
  be able to erase these: the audit log seals every one under the dossier's key
  (``services/audit/personal.py``, docs/audit.md);
- **in clear** (``InClear("why")``): a code, an identifier, a unit code, a digest, a
  signature, a label from a catalogue; or a string constrained by a ``pattern``, an
  enum or a ``Literal`` (these need no marker).

A marker goes in the type: ``reason: PersonalText``, ``note: PersonalText | None``,
``missing: list[PersonalText]`` (each item), ``unit: UnitCode``; or around a whole field,
``Annotated[list[str], PERSONAL]``. ``personal_paths(model)`` lists where the marked
values are (``applicant.identity_hash``, ``documents.*.name``: ``*`` for each item of a
list); ``unclassified_text(model)`` lists the strings that are neither, which a unit test
requires to be empty for every registered contract, so a field added later cannot be
left in clear by forgetting it.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AwareDatetime, BaseModel


@dataclass(frozen=True)
class Personal:
    """Marks personal data, a pseudonym or free text: sealed wherever it is kept for long."""


@dataclass(frozen=True)
class InClear:
    """Marks a string that is not personal and may be kept in clear, saying why."""

    why: str

    def __post_init__(self) -> None:
        if not self.why.strip():
            raise ValueError("say why the field may stay in clear")


PERSONAL = Personal()
PersonalText = Annotated[str, PERSONAL]
Code = Annotated[str, InClear("a code or identifier, not typed by the public")]
Digest = Annotated[str, InClear("a hash, key or signature of no personal field")]
DocumentsHash = Annotated[
    str,
    InClear(
        "SHA-256 of the document list, names included: binds hand-over receipts; it reads "
        "back nothing, but confirms a guessed list (names, sizes and file hashes)"
    ),
]

ITEM = "*"
"""The path segment standing for every item of a list."""

_NOT_TEXT = (bool, int, float, date, datetime, AwareDatetime, type(None))


def personal_paths(model: type[BaseModel]) -> list[str]:
    """Where the model's personal values are, as dotted paths (``*``: each list item)."""
    found: list[str] = []
    for name, field in model.model_fields.items():
        _walk(field.annotation, list(field.metadata), name, found, [])
    return found


def unclassified_text(model: type[BaseModel]) -> list[str]:
    """Strings of the model that are neither personal nor declared in clear (nor
    constrained by a pattern, an enum or a literal), and values of types the walk does
    not know (a dict, ``Any``): what a contract must classify."""
    missing: list[str] = []
    for name, field in model.model_fields.items():
        _walk(field.annotation, list(field.metadata), name, [], missing)
    return missing


def _walk(
    annotation: Any, metadata: list[Any], path: str, personal: list[str], missing: list[str]
) -> None:
    if any(isinstance(m, Personal) for m in metadata):
        personal.append(path)
        return
    if any(isinstance(m, InClear) for m in metadata):
        return
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *more = get_args(annotation)
        _walk(inner, [*metadata, *more], path, personal, missing)
    elif origin in (Union, types.UnionType):
        for arg in get_args(annotation):
            _walk(arg, metadata, path, personal, missing)
    elif origin in (list, tuple, set, frozenset):
        for arg in get_args(annotation):
            if arg is not Ellipsis:
                _walk(arg, [], f"{path}.{ITEM}", personal, missing)
    elif origin is Literal:
        return
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            _walk(field.annotation, list(field.metadata), f"{path}.{name}", personal, missing)
    elif isinstance(annotation, type) and issubclass(annotation, Enum):
        return
    elif annotation is str:
        if not any(getattr(m, "pattern", None) for m in metadata):
            missing.append(path)
    elif not (isinstance(annotation, type) and issubclass(annotation, _NOT_TEXT)):
        missing.append(f"{path} ({annotation!r}: a type the walk does not know)")
