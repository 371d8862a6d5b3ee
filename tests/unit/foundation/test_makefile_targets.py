"""The Makefile's targets are the ones the docs name, and each phony target has a rule: a
phony name without one makes ``make <name>`` succeed having done nothing."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def rules() -> set[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.MULTILINE))


def test_every_phony_target_has_a_rule() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    (phony,) = re.findall(r"^\.PHONY: (.*)$", makefile, flags=re.MULTILINE)
    assert sorted(set(phony.split()) - rules()) == []


def test_every_make_target_the_docs_name_exists() -> None:
    docs = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
    named = {
        target
        for path in docs
        for target in re.findall(r"`make ([a-z][a-z-]*)", path.read_text(encoding="utf-8"))
    }
    assert len(named) > 5
    assert sorted(named - rules()) == []
