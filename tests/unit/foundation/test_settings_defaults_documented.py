"""The settings tables of README.md and docs/*.md give each setting's default as the code
has it: a table that names a setting the code defaults otherwise is a documented promise
that does not hold. (That every setting is documented, and every documented one read, is
test_settings_documented's and test_settings_env's.)"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import AliasChoices, SecretStr
from pydantic_settings import BaseSettings

from shared.settings_env import _groups, _prefix
from tests.unit.foundation.test_settings_env import ENTRY_POINTS

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("INTAKE", "ROUTING", "NOTIFICATION", "AUDIT", "CONSOLE", "WITNESS")
NAME = re.compile(r"`(LT_[A-Z0-9_<>]*[A-Z0-9])`|`(_[A-Z0-9_]*[A-Z0-9])`")
LITERAL = re.compile(r"`([^`<]*)`|(-?[0-9.]+|true|false)")


@functools.cache
def code_defaults() -> dict[str, dict[str, Any]]:
    """Each variable's default in every entry point that reads it (None: computed)."""
    found: dict[str, dict[str, Any]] = {}
    for entry_point, settings_class in ENTRY_POINTS.items():
        for group in _groups(settings_class):
            for field_name, field in group.model_fields.items():
                annotation = field.annotation
                if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
                    continue
                alias = field.validation_alias
                if isinstance(alias, str):
                    names = [alias]
                elif isinstance(alias, AliasChoices):
                    names = [c for c in alias.choices if isinstance(c, str)]
                else:
                    names = [f"{_prefix(group)}{field_name}"]
                default = field.get_default(call_default_factory=True)
                for name in names:
                    found.setdefault(name.upper(), {})[entry_point] = default
    return found


def documented_defaults() -> list[tuple[str, str, str]]:
    """(variable, default as written, where) of every settings-table row with a literal
    default: `value` or a bare number or boolean; one per name of a row that names
    several (`LT_A` / `_B` | `1` / `2`, or one default for all)."""
    rows = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.startswith("| `LT_"):
                continue
            names_cell, default_cell = (c.strip() for c in line.strip("| ").split("|")[:2])
            names: list[str] = []
            for match in NAME.finditer(names_cell):
                full, tail = match.groups()
                if full:
                    names.append(full)
                else:  # the shorthand of test_settings_documented
                    words = names[-1].split("_")
                    kept = len(words) - min(tail.count("_"), len(words) - 2)
                    names.append("_".join(words[:kept]) + tail)
            separator = " / " if " / " in names_cell else ", "
            defaults = default_cell.split(separator) if len(names) > 1 else [default_cell]
            if len(defaults) == 1:
                defaults *= len(names)  # one default for them all (`_USE_TLS`, `_START_TLS`)
            if len(defaults) != len(names):
                continue
            for name, default in zip(names, defaults, strict=True):
                literal = LITERAL.fullmatch(default.strip())
                if literal is None:
                    continue
                value = literal.group(1) if literal.group(1) is not None else literal.group(2)
                for service in SERVICES if "<SERVICE>" in name else [""]:
                    rows.append(
                        (name.replace("<SERVICE>", service), value, f"{path.name}:{number}")
                    )
    return rows


def same(documented: str, default: Any) -> bool:
    if isinstance(default, SecretStr):
        return True  # a secret's default is not written out
    if isinstance(default, bool):
        return documented == str(default).lower()
    if isinstance(default, int | float):
        try:
            return float(documented) == float(default)
        except ValueError:
            return False
    if isinstance(default, Path):
        shown = default.relative_to(ROOT) if default.is_relative_to(ROOT) else default
        return documented == str(shown)
    if isinstance(default, list | tuple | frozenset | set):
        return bool(json.loads(documented) == list(default))
    return documented == str(default)


def test_the_tables_have_literal_defaults_to_check() -> None:
    assert len(documented_defaults()) > 80


@pytest.mark.parametrize(("name", "documented", "where"), documented_defaults())
def test_a_documented_default_is_the_codes(name: str, documented: str, where: str) -> None:
    defaults = code_defaults().get(name, {})
    wrong = {
        entry_point: default
        for entry_point, default in defaults.items()
        if default is not None and not same(documented, default)
    }
    assert wrong == {}, f"{where}: {name} documented as {documented!r}"
