"""``python -m bench.http_action`` keeps working: a tiny run reports CPU and round trips.

No figure is asserted beyond its presence: CPU seconds depend on the machine. What must
hold is that both phases ran (dossiers submitted, then driven to DONE over routing's
HTTP API) and that each service's CPU and routing's round trips were read.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.http_action import run


async def test_a_tiny_run_reports_cpu_per_action_and_round_trips(tmp_path: Path) -> None:
    result = await run(2, 2, out=tmp_path)

    base = result["variants"]["base"]
    assert base["submit"]["requests"] == 2
    assert base["submit"]["cpu_s_per_submission"]["intake"] > 0
    act = base["act"]
    assert act["gets"] == 2 and act["actions"] >= 2 * 3  # every journey takes a few actions
    assert act["cpu_s_per_action"]["routing"] > 0
    assert act["round_trips_per_action"]["routing dossiers:findAndModify"] == 1.0
    assert json.loads((tmp_path / "result.json").read_text())["journeys"] == 2
