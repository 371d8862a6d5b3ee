"""Text that people typed, made comparable and safe before validation and storage.

Vietnamese can be typed composed (``ệ`` as one code point) or decomposed (``e`` plus
two combining marks); both look the same. Every string is normalised to NFC first,
so the same name is the same string and length limits count characters as people
see them. Bidirectional embedding, override and isolate controls (U+202A-U+202E,
U+2066-U+2069) can make a name or a reason display differently from what it says
("Trojan Source"); no field of ours needs them, so they are refused.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from pydantic import BaseModel, field_validator
from pydantic_core import PydanticCustomError

BIDI_CONTROLS = frozenset(chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
# Control characters no typed text holds (tab and line breaks are typed): C0 but those,
# DEL, and C1 (U+0080-U+009F: the 8-bit CSI U+009B of terminal escapes, NEL U+0085).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(value: str) -> str:
    """``value`` in NFC; raises ``ValueError`` if it holds a bidirectional control."""
    if value.isascii():  # most identifiers and codes: nothing to find or normalise
        return value
    if not BIDI_CONTROLS.isdisjoint(value):
        found = next(char for char in value if char in BIDI_CONTROLS)
        raise ValueError(f"bidirectional control character U+{ord(found):04X} is not allowed")
    return unicodedata.normalize("NFC", value)


def _clean(value: Any) -> Any:
    try:
        if isinstance(value, str):
            return clean_text(value)
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return [clean_text(item) for item in value]
    except ValueError as exc:
        raise PydanticCustomError("bidi_control", str(exc)) from exc
    return value


class CleanText(BaseModel):
    """Base of request and contract models: every string field is cleaned first."""

    @field_validator("*", mode="before")
    @classmethod
    def _clean_text(cls, value: Any) -> Any:
        return _clean(value)


def without_controls(value: Any) -> Any:
    """``value`` (a string, or a list of them) if it holds no control character other
    than tab and line breaks; else ``ValueError`` (for a validator)."""
    texts = value if isinstance(value, list) else [value]
    for text in texts:
        if isinstance(text, str) and (found := CONTROL_CHARACTERS.search(text)):
            raise ValueError(f"control character U+{ord(found.group()):04X} is not allowed")
    return value
