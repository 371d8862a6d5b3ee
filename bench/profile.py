"""Where the CPU goes, per process: py-spy samples of every service during a step.

``py-spy record`` attaches to each running service (no restart, no code change) and
writes collapsed stacks. Idle threads are not sampled, but a thread waiting for a CPU
is, so on a loaded machine the shares, not the sample counts, are the figures to read
(the CPU seconds come from the benchmark's process sampler). The summary gives each
process's share by the package running (the innermost frame: time inside pymongo
called from a handler counts as pymongo), by our own functions (inclusive), and its
hottest functions. The raw stacks stay beside the summary for flame graphs
(speedscope.app or flamegraph.pl read them).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.platform import SERVICES, Platform

OURS = ("intake", "routing", "notification", "audit", "shared", "bench")
ENTRY_POINTS = ("main", "serve", "<module>")  # frames every sample shares


@dataclass
class Recording:
    procs: dict[str, subprocess.Popen[bytes]]
    files: dict[str, Path]


def available() -> bool:
    return shutil.which("py-spy", path=str(Path(sys.executable).parent)) is not None


def start(platform: Platform, folder: Path, seconds: float) -> Recording | None:
    """Start one py-spy recorder per service for ``seconds``; None if py-spy is missing."""
    exe = shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if exe is None:
        print("[bench] py-spy not installed: no profile", flush=True)
        return None
    folder.mkdir(parents=True, exist_ok=True)
    pids = platform.pids()
    procs, files = {}, {}
    for service in SERVICES:
        files[service] = folder / f"{service}.collapsed.txt"
        procs[service] = subprocess.Popen(
            [
                exe,
                "record",
                "--pid",
                str(pids[service]),
                "--duration",
                str(int(seconds)),
                "--rate",
                "50",
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(files[service]),
            ],
            stdout=subprocess.DEVNULL,
            stderr=(folder / f"{service}.py-spy.log").open("wb"),
        )
    return Recording(procs, files)


async def finish(recording: Recording | None) -> dict[str, Any] | None:
    """Wait for the recorders and summarise each process's samples."""
    if recording is None:
        return None
    for proc in recording.procs.values():
        await asyncio.to_thread(proc.wait)
    return {name: summarise(path) for name, path in recording.files.items() if path.exists()}


def _package(frame: str) -> str:
    """The top-level package of a py-spy frame such as ``f (pymongo/pool.py:12)``."""
    inside = frame.rpartition("(")[2]
    return inside.split("/", 1)[0] if "/" in inside else inside.split(".py")[0].split(":")[0]


def _ours(frame: str) -> bool:
    return _package(frame) in OURS and frame.split(" ", 1)[0] not in ENTRY_POINTS


def summarise(path: Path, top: int = 12) -> dict[str, Any]:
    """Shares of samples: by the package running (the innermost frame), by our functions
    (inclusive: the handler with what it calls), and the hottest functions."""
    by_library: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        self_time[frames[-1]] += count
        by_library[_package(frames[-1])] += count
        for frame in {f for f in frames if _ours(f)}:
            ours[frame] += count

    def shares(counter: Counter[str]) -> dict[str, float]:
        return {k: round(100 * v / max(total, 1), 1) for k, v in counter.most_common(top)}

    return {
        "samples": total,
        "percent_by_package": shares(by_library),
        "percent_in_our_functions": shares(ours),
        "percent_self": shares(self_time),
        "stacks": str(path),
    }
