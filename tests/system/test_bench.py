"""``make bench`` keeps working: a tiny run starts the system, drives journeys, reports.

No timing is asserted: the figures depend on the machine. What must hold is that the
benchmark starts the services, takes journeys to DONE and into audit's log, measures
the raw rates and writes its JSON and plot.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.e2e import Options, run_benchmark


async def test_a_tiny_benchmark_run_reports_every_figure(tmp_path: Path) -> None:
    options = Options(
        rates=[0.5], step_seconds=6, drain_seconds=240, raw_count=40, warmup_seconds=3, out=tmp_path
    )

    result = await run_benchmark(options)

    (step,) = result["steps"]
    # The warm-up's journeys ran first, at the first rate, and are not the step's.
    warmup = result["warmup"]
    assert warmup["rate"] == 0.5 and warmup["seconds"] == 3 and warmup["failed"] == 0
    assert step["journeys_started"] >= 1
    assert step["journeys_audited"] + step["journeys_failed"] == step["journeys_started"]
    assert step["journeys_audited"] >= 1, step["errors"]
    latency = step["latency_ms"]
    assert set(latency) >= {"http_submit", "submit_to_route_planned", "submit_to_audited"}
    assert latency["submit_to_audited"]["n"] == step["journeys_audited"]
    assert {"intake", "routing", "notification", "audit", "bench"} <= set(step["cpu_seconds"])
    assert result["raw"]["store_batch_docs"] > 0 and result["raw"]["broker_produce_msgs"] > 0
    assert all(ms > 0 for ms in result["host"]["reference_ms"].values())
    assert "store_docs_vs_raw_batched" in step["ratios"]
    # Round trips per journey: the server's count and each service's own, by collection.
    assert step["store_operations_per_done_journey"]["insert"] > 0
    commands = step["store_commands_per_done_journey"]
    assert {"intake", "routing", "notification", "audit"} <= set(commands)
    assert commands["audit"]["inbox:insert"] > 0 and commands["audit"]["total"] > 0
    assert result["samples"] and "audit" in result["samples"][-1]["lag"]
    _check_files(tmp_path, result["at"])


def _check_files(out: Path, stamp: str) -> None:
    (run,) = out.glob("run-*")
    assert json.loads((run / "result.json").read_text())["steps"][0]["rate_offered"] == 0.5
    assert (run / "plot.png").stat().st_size > 0
    assert json.loads((out / "latest.json").read_text())["at"] == stamp
