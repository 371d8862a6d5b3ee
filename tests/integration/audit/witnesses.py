"""Witnesses as their own processes, for the audit service's integration tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from shared.keyfile import load_or_create_ed25519_key
from shared.testing import free_port
from shared.transparency.note import COSIGNATURE_V1, Signer

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class WitnessProcess:
    """A running witness: where it listens, its vkey, its log file."""

    name: str
    url: str
    vkey: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def log_text(self) -> str:
        return self.log_path.read_text()


@contextmanager
def witness_processes(
    directory: Path, log_vkey: str, names: tuple[str, ...] = ("witness-1", "witness-2")
) -> Iterator[list[WitnessProcess]]:
    """Start one ``python -m witness.main`` per name, following the log; stop them after."""
    started: list[WitnessProcess] = []
    try:
        for name in names:
            home = directory / name
            key = load_or_create_ed25519_key(home / "key.pem")  # so its vkey is known first
            port = free_port()
            env = {
                **os.environ,
                "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'services'}",
                "LT_WITNESS_NAME": f"test.local/{name}",
                "LT_WITNESS_KEY_PATH": str(home / "key.pem"),
                "LT_WITNESS_STATE_PATH": str(home / "state.json"),
                "LT_WITNESS_PORT": str(port),
                "LT_WITNESS_LOG_VKEYS": json.dumps([log_vkey]),
            }
            log_path = home / "witness.log"
            with open(log_path, "wb") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "witness.main"],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            vkey = Signer(f"test.local/{name}", key, COSIGNATURE_V1).verifier.vkey()
            started.append(
                WitnessProcess(name, f"http://127.0.0.1:{port}", vkey, log_path, process)
            )
        yield started
    finally:
        for witness in started:
            witness.process.terminate()
        for witness in started:
            try:
                witness.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                witness.process.kill()


async def witness_ready(url: str) -> bool | None:
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            return (await http.get(f"{url}/healthz")).status_code == 200 or None
    except httpx.HTTPError:
        return None
