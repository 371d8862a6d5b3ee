"""Where the CPU goes, per process: py-spy samples of every service during a step.

``py-spy record`` attaches to each running service (no restart, no code change) and
writes collapsed stacks; idle threads are not sampled, so the samples are CPU time.
The summary gives each process's share by library and its hottest functions. A sample
counts for the library of its innermost recognised frame, so time inside pymongo called
from a handler counts as pymongo. The raw stacks stay beside the summary for flame
graphs (speedscope.app or flamegraph.pl read them).
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

LIBRARIES = (  # path fragment -> label, first match from the leaf up wins
    ("/pymongo/", "pymongo"),
    ("/bson/", "bson"),
    ("/aiokafka/", "aiokafka"),
    ("/kafka/", "aiokafka"),
    ("/pydantic", "pydantic"),
    ("/starlette/", "starlette+fastapi"),
    ("/fastapi/", "starlette+fastapi"),
    ("/uvicorn/", "uvicorn"),
    ("/httptools/", "uvicorn"),
    ("/h11/", "uvicorn"),
    ("/opentelemetry/", "opentelemetry"),
    ("/prometheus_client/", "prometheus"),
    ("/pythonjsonlogger/", "logging"),
    ("/logging/", "logging"),
    ("/tenacity/", "tenacity"),
    ("/jinja2/", "jinja2"),
    ("/aiosmtplib/", "aiosmtplib"),
    ("/cryptography/", "cryptography"),
    ("/rfc8785/", "rfc8785"),
    ("/json/", "json"),
    ("/asyncio/", "asyncio"),
    ("/shared/", "shared (ours)"),
    ("/services/", "services (ours)"),
)


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


def _library(frame: str) -> str | None:
    for fragment, label in LIBRARIES:
        if fragment in frame:
            return label
    return None


def summarise(path: Path, top: int = 12) -> dict[str, Any]:
    """Share of samples by library and the hottest functions (self and inclusive)."""
    by_library: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        self_time[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
        label = next((lib for f in reversed(frames) if (lib := _library(f))), "other")
        by_library[label] += count

    def shares(counter: Counter[str]) -> dict[str, float]:
        return {k: round(100 * v / max(total, 1), 1) for k, v in counter.most_common(top)}

    return {
        "samples": total,
        "percent_by_library": shares(by_library),
        "percent_self": shares(self_time),
        "percent_inclusive": shares(inclusive),
        "stacks": str(path),
    }
