"""Reporting for the in-process scenarios (``python -m bench.audit_log``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Result:
    """One measured figure."""

    scenario: str
    metric: str
    value: float
    unit: str


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)

    def add(self, scenario: str, metric: str, value: float, unit: str) -> None:
        self.results.append(Result(scenario, metric, value, unit))
        print(f"  {scenario:28} {metric:34} {value:12,.1f} {unit}", flush=True)
