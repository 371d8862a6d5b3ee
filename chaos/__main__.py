"""``make chaos``: the fault matrix on real processes, a row per scenario.

    .venv/bin/python -m chaos                      # every scenario, 6 dossiers each
    .venv/bin/python -m chaos --dossiers 3         # lighter
    .venv/bin/python -m chaos --only "kill -9 routing, restart"

Prints the table (also saved as .local/chaos/table.md and result.json) and exits 1 if
any dossier was lost or duplicated, or any expectation broke during a fault.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

# The local brokers (the shared one and the harness's own) are plaintext, as for the
# tests; secured brokers have their own tests (tests/integration/kafka_security).
os.environ.setdefault("LT_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")

from chaos.matrix import SCENARIOS, Row, run_matrix

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / ".local" / "chaos"
HEADER = (
    "| scenario | sent | completed | lost | duplicated effects | dead letters "
    "| time to recover (s) | settled after (s) |"
)


def table(rows: list[Row]) -> str:
    lines = [HEADER, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r.scenario} | {r.sent} | {r.completed} | {r.lost} | {r.duplicated} "
            f"| {r.dead_letters} | {r.recover_s} | {r.settle_s} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=6, help="dossiers per scenario")
    parser.add_argument("--only", action="append", help="a scenario name (repeatable)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    unknown = set(args.only or ()) - {s.name for s in SCENARIOS}
    if unknown:
        parser.error(f"unknown scenarios: {sorted(unknown)}")
    logging.basicConfig(level=logging.INFO, format="[chaos] %(message)s", stream=sys.stdout)
    for noisy in ("aiokafka", "httpx", "uvicorn", "mail.log", "pymongo"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    began = time.monotonic()
    work = args.out / time.strftime("run-%Y%m%d-%H%M%S")
    rows = asyncio.run(run_matrix(work, args.dossiers, set(args.only or ()) or None))
    rendered = table(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "table.md").write_text(rendered + "\n")
    (args.out / "result.json").write_text(json.dumps([asdict(r) for r in rows], indent=2))
    print(f"\nFault matrix ({time.monotonic() - began:.0f} s; logs under {work}):\n")
    print(rendered)
    for row in rows:
        for note in row.notes:
            print(f"  {row.scenario}: {note}")
        for finding in row.findings:
            print(f"  FAILED {row.scenario}: {finding}")
    failed = [r.scenario for r in rows if not r.passed]
    verdict = (
        f"all {len(rows)} scenarios held"
        if not failed
        else f"{len(failed)} of {len(rows)} scenarios failed"
    )
    print(f"\nfault matrix: {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
