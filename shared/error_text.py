"""An error as text an operator may read when it may concern a person.

A handler's exception says whatever its author or a library put in it: pydantic quotes
the value it refused (``input_value='0912…'``), a driver the duplicate key, a handler
the applicant's name. ``error_text`` is the whole text, for messages that carry no
personal data; ``redacted_error_text`` keeps what an operator needs to act and no value:

- a validation error (pydantic's, or one raised from it, like a contract's
  ``InvalidEventData`` or an envelope's ``MalformedMessage``): its class, and for each
  error (the first ``MAX_ERRORS``) where (``loc``), what kind (``type``) and pydantic's
  message when it is made of the schema alone (a pattern, a length, the expected
  values) or the JSON parser's words; never the input, nor a message built from the
  input or from a validator's own words (``ctx`` ``error`` or ``tag``: ``value_error``,
  ``assertion_error``, the date and URL parsing errors, a discriminator's tag; a custom
  error type's);
- a refusal (``Refused``): its class, code and field (its detail is free text);
- an error whose message is in clear (``message_in_clear`` true, on its class when every
  message its code builds holds codes only, like ``MalformedMessage``'s reasons or the
  catalogue's unknown codes; on one error when its maker scrubbed it, like
  notification's delivery errors): the whole text;
- anything else: its class and where it was raised (the innermost frame of the
  project's code: file, line, function), the message withheld. The log line at DEBUG
  of whoever handled it has the whole error.

``masked`` hides what looks like a value in free text (quoted strings, e-mail addresses,
phone numbers, runs of six digits or more); it is applied to a validation error's
location, whose keys may come from the input. Masking is a safety net, not a guarantee
(a name in plain words passes), which is why other exceptions' messages are withheld
rather than masked.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

from pydantic import ValidationError
from pydantic_core.core_schema import ErrorType

from shared.refusals import Refused

MAX_ERRORS = 10
WITHHELD = "<withheld>"
# ctx entries of pydantic errors that come from the input or from a validator's own
# words (the others, like ``pattern`` or ``max_length``, come from the schema).
_CTX_FROM_INPUT = frozenset({"error", "tag"})
_PYDANTIC_TYPES = frozenset(get_args(ErrorType))  # a custom type's message may say anything
_PARSER_WORDS = frozenset({"json_invalid"})  # "Invalid JSON: EOF while parsing a string ..."
_PROJECT = Path(__file__).resolve().parent.parent

_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|“[^”\n]*”|‘[^’\n]*’|`[^`\n]*`")
_EMAIL = re.compile(r"[^\s@'\"<>(),;:]+@[^\s@'\"<>(),;:]+")
# A phone number or identity number, however spaced: +84 912 345 678, 0912.345.678.
_DIGITS = re.compile(r"\+?\d(?:[\s.\-]?\d){5,}")


def error_text(error: BaseException) -> str:
    """The whole error: its class and message."""
    return f"{type(error).__name__}: {error}"


def redacted_error_text(error: BaseException) -> str:
    """The error without any value it may quote (see the module's docstring)."""
    name = type(error).__name__
    invalid = _validation_error(error)
    if invalid is not None:
        return f"{name}: {_describe_validation(invalid)}"
    if isinstance(error, Refused):
        field = f", field {error.field}" if error.field else ""
        return f"{name}: code {error.code}{field}"
    if getattr(error, "message_in_clear", False) is True:
        return error_text(error)
    where = raised_at(error)
    at = f" at {where}" if where else ""
    return f"{name}{at}: message withheld (personal data may be in it)"


def masked(text: str) -> str:
    """The text with quoted strings, e-mail addresses and long digit runs withheld."""
    text = _QUOTED.sub(WITHHELD, text)
    text = _EMAIL.sub(WITHHELD, text)
    return _DIGITS.sub(WITHHELD, text)


def raised_at(error: BaseException) -> str:
    """``path:line in function`` of the innermost frame of the project's own code (the
    handler, not the library it called), or of the innermost frame if none is ours."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return ""
    ours = [f for f in frames if _in_project(f.filename)]
    frame = (ours or frames)[-1]
    path = Path(frame.filename)
    shown = path.relative_to(_PROJECT) if _in_project(frame.filename) else Path(path.name)
    return f"{shown}:{frame.lineno} in {frame.name}"


def _in_project(filename: str) -> bool:
    path = Path(filename).resolve()
    return path.is_relative_to(_PROJECT) and "site-packages" not in path.parts


def _validation_error(error: BaseException) -> ValidationError | None:
    for link in _chain(error):
        if isinstance(link, ValidationError):
            return link
    return None


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        yield current
        current = current.__cause__ or current.__context__


def _describe_validation(error: ValidationError) -> str:
    details = error.errors(include_url=False, include_input=False, include_context=True)
    parts = []
    for detail in details[:MAX_ERRORS]:
        where = ".".join(masked(str(part)) for part in detail["loc"]) or "(root)"
        ctx = detail.get("ctx") or {}
        kind = detail["type"]
        from_input = bool(_CTX_FROM_INPUT & set(ctx)) and kind not in _PARSER_WORDS
        withheld = from_input or kind not in _PYDANTIC_TYPES
        message = "message withheld" if withheld else detail["msg"]
        parts.append(f"{where} [{kind}] {message}")
    more = f"; {len(details) - MAX_ERRORS} more" if len(details) > MAX_ERRORS else ""
    count = f"{len(details)} validation error{'s' if len(details) != 1 else ''}"
    return f"{count} for {error.title}: " + "; ".join(parts) + more


OLD_ERROR_WITHHELD = "message withheld (a letter kept before errors were redacted)"


def letter_error(error: str, personal_data: str, redacted: bool) -> str:
    """A dead letter's error as shown to operators (the console, the dead-letter CLI). Of
    a topic carrying no personal data: as kept. Of one that may: as kept when its writer
    left the quoted values out (``redacted``: the ``dlq_error_redacted`` header, on every
    such letter written since writers do); else, a letter kept from before, its error's
    class alone, for its message may quote anything (a validation error the refused
    value, a handler's exception a name)."""
    if not personal_data or redacted:
        return error
    kind = error.split(":", 1)[0].strip()  # writers put the class first: "ValueError: ..."
    shown = kind if kind.isascii() and kind.isidentifier() else "error"
    return f"{shown}: {OLD_ERROR_WITHHELD}"
