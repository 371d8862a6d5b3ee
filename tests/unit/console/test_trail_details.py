"""The console says every trail detail routing records: a template for each of
routing's detail codes, in Vietnamese and English, filled with exactly its params."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from routing.domain.history import DETAIL_TEXTS, detail_params_of

I18N = Path(__file__).parents[3] / "services/console/static/i18n.js"


def _console_templates(lang: str) -> dict[str, str]:
    """The console's trail detail templates of ``lang`` (i18n.js, ``trail_details``)."""
    source = I18N.read_text()
    codes = source.index("window.I18N_CODES = {")
    start_at = source.index(f"\n  {lang}: {{", codes)
    block = source[source.index("trail_details: {", start_at) :]
    block = block[: block.index("\n    },")]
    return dict(re.findall(r'(\w+): "((?:[^"\\]|\\.)*)"', block))


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_console_says_every_code_with_exactly_its_params(lang: str) -> None:
    templates = _console_templates(lang)
    assert set(templates) == set(DETAIL_TEXTS)
    for code in DETAIL_TEXTS:
        said = set(re.findall(r"\{(\w+)\}", templates[code]))
        assert said == set(detail_params_of(code)), code
