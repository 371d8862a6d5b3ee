"""``make bench``: the system end to end under an open-loop load, step by step.

    .venv/bin/python -m bench                     # rate steps 2, 5, 10, 25, 50/s, 60 s each
    .venv/bin/python -m bench --quick             # about a minute: one short step at 1/s
    .venv/bin/python -m bench --rates 25 --step-seconds 300   # the sustained target
    .venv/bin/python -m bench --profile           # py-spy samples of every service per step
    .venv/bin/python -m bench --warmup-seconds 0  # no unmeasured warm-up before the steps

Results: ``.local/bench/run-<time>/result.json`` and ``plot.png`` (and ``latest.json``).
The in-process audit log figures (proofs, offline verification) are ``python -m
bench.audit_log``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path
from typing import Any

import uvloop

from bench.e2e import OUT, Options, run_benchmark

# What a step flag is worth when not given: for a full run, and for --quick (about a
# minute). A flag given on the command line wins over either.
FULL = {"rates": [2.0, 5.0, 10.0, 25.0, 50.0], "step_seconds": 60.0, "drain_seconds": 60.0,
        "warmup_seconds": 20.0, "raw_count": 2000}  # fmt: skip
QUICK = {"rates": [1.0], "step_seconds": 20.0, "drain_seconds": 40.0, "warmup_seconds": 0.0,
         "raw_count": 300}  # fmt: skip


def rate_list(text: str) -> list[float]:
    """``--rates``: journeys per second, comma-separated, each above zero."""
    try:
        rates = [float(r) for r in text.split(",") if r.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not rates or any(r <= 0 for r in rates):
        raise argparse.ArgumentTypeError(f"rates must be above zero: {text!r}")
    return rates


def options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="about a minute, for a smoke run (one step at 1/s)"
    )
    parser.add_argument("--rates", type=rate_list, help="journeys per second, per step")
    parser.add_argument("--step-seconds", type=float)
    parser.add_argument(
        "--drain-seconds", type=float, help="how long a step's journeys may take to finish after it"
    )
    parser.add_argument(
        "--warmup-seconds",
        type=float,
        help="journeys at the first rate before the steps, not measured (0: none)",
    )
    parser.add_argument("--raw-count", type=int, help="writes per raw store figure")
    parser.add_argument("--profile", action="store_true", help="record py-spy profiles")
    parser.add_argument(
        "--keep-going", action="store_true", help="run every step even after latency broke"
    )
    parser.add_argument(
        "--shared-store",
        action="store_true",
        help="use the development store (make run's) instead of a fresh one of the run's own",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.epilog = f"Defaults: {FULL}; with --quick: {QUICK}."
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else FULL
    given = {name: getattr(args, name) for name in preset}
    chosen: dict[str, Any] = {k: preset[k] if v is None else v for k, v in given.items()}
    return Options(
        **chosen,
        profile=args.profile,
        stop_when_broken=not args.keep_going,
        private_store=not args.shared_store,
        out=args.out,
    )


async def run_until_stopped(opts: Options) -> None:
    """Ctrl-C or SIGTERM ends the run cleanly: services stopped, the run's data dropped."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await run_benchmark(opts)
    except asyncio.CancelledError:
        print("\n[bench] stopped; what it started is stopped too", flush=True)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING)
    # uvloop, as the services run: the driver's own CPU is what it takes from them.
    uvloop.run(run_until_stopped(options(argv)))


if __name__ == "__main__":
    main()
