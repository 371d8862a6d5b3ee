"""Run every benchmark scenario and print (and save) the figures: ``make bench``."""

from __future__ import annotations

import asyncio
import json
import logging
import platform
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from bench import audit_log, intake, pipeline
from bench.common import Report, peak_rss_mib

RESULTS = Path(__file__).resolve().parent.parent / ".local" / "bench" / "results.json"


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    report = Report()
    print(f"benchmarks on {platform.node()} ({platform.python_version()})", flush=True)
    await pipeline.run(report)
    await intake.run(report)
    await audit_log.run(report)
    report.add("process", "peak RSS of the benchmark process", peak_rss_mib(), "MiB")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {"at": datetime.now(UTC).isoformat(), "results": [asdict(r) for r in report.results]},
            indent=2,
        )
    )
    print(f"saved {RESULTS}")


if __name__ == "__main__":
    asyncio.run(main())
