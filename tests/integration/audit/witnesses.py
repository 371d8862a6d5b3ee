"""Witnesses as their own processes, for the audit service's integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from infra.launcher import Fleet, witness_env, witness_vkey
from shared.testing import free_port


@dataclass
class WitnessProcess:
    """A running witness: where it listens, its vkey, its log file."""

    name: str
    url: str
    vkey: str
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text()


@contextmanager
def witness_processes(
    directory: Path, log_vkey: str, names: tuple[str, ...] = ("witness-1", "witness-2")
) -> Iterator[list[WitnessProcess]]:
    """Start one ``python -m witness.main`` per name, following the log; stop them after."""
    fleet = Fleet(directory, append_logs=False, stop_timeout_s=15)
    started: list[WitnessProcess] = []
    try:
        for name in names:
            env = witness_env(f"test.local/{name}", directory / name, free_port(), log_vkey)
            vkey = witness_vkey(env)  # its key file first, so its vkey is known
            witness = fleet.add("witness", int(env["LT_WITNESS_PORT"]), name=name, env=env)
            fleet.start(name)
            started.append(WitnessProcess(name, witness.url, vkey, fleet.log(name)))
        yield started
    finally:
        fleet.stop_all()


async def witness_ready(url: str) -> bool | None:
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            return (await http.get(f"{url}/healthz")).status_code == 200 or None
    except httpx.HTTPError:
        return None
