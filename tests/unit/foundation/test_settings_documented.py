"""Every setting a process reads is documented (README or docs/), and every metric the
services export (traffic and alerting metrics) is in the README's metric list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client.metrics import MetricWrapperBase

import shared.alerting_metrics
import shared.telemetry.metrics
from shared.settings_env import known_names
from tests.unit.foundation.test_settings_env import ENTRY_POINTS

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("INTAKE", "ROUTING", "NOTIFICATION", "AUDIT", "CONSOLE", "WITNESS")
FULL = re.compile(r"`(LT_[A-Z0-9_<>]*[A-Z0-9])`")
TAIL = re.compile(r"`(_[A-Z0-9_]*[A-Z0-9])`")


def documented_names() -> set[str]:
    """The names README.md and docs/*.md give, written out or in their shorthand: on one
    line, `LT_A_B_C` / `_D_E` stands for LT_A_D_E (the tail replaces as many words of the
    name before it, all but its first two at most: `LT_AUTH_ISSUER` / `_JWKS_URL`), and
    `LT_<SERVICE>_X` for each service's LT_<NAME>_X."""
    texts = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    names: set[str] = set()
    for line in "\n".join(path.read_text(encoding="utf-8") for path in texts).splitlines():
        last: str | None = None
        for match in re.finditer(f"{FULL.pattern}|{TAIL.pattern}", line):
            full, tail = match.group(1), match.group(2)
            if full:
                last = full
                names.add(full)
            elif last is not None:
                words = last.split("_")
                replaced = min(tail.count("_"), len(words) - 2)  # LT_ and its group stay
                names.add("_".join(words[: len(words) - replaced]) + tail)
    for name in [n for n in names if "<SERVICE>" in n]:
        names |= {name.replace("<SERVICE>", service) for service in SERVICES}
    return names


@pytest.mark.parametrize("entry_point", sorted(ENTRY_POINTS))
def test_every_setting_is_documented(entry_point: str) -> None:
    undocumented = known_names(ENTRY_POINTS[entry_point]) - documented_names()
    assert sorted(undocumented) == []


def test_the_shorthand_stands_for_the_name_it_shortens_only() -> None:
    names = documented_names()
    assert "LT_KAFKA_OAUTH_CLIENT_ID" in names  # `LT_KAFKA_OAUTH_TOKEN_URL` / `_CLIENT_ID`
    assert "LT_KAFKA_OAUTH_TOKEN_CLIENT_ID" not in names


def test_every_metric_is_in_the_readmes_list() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    metrics = {
        metric._name
        for module in (shared.telemetry.metrics, shared.alerting_metrics)
        for metric in vars(module).values()
        if isinstance(metric, MetricWrapperBase)
    }
    assert len(metrics) > 25
    assert sorted(m for m in metrics if f"`{m}" not in readme) == []
