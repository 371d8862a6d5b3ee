"""Processes of our own: start one detached with its log, stop it (SIGTERM, then SIGKILL
after a bound) or kill it (SIGKILL), always its whole process group.

Standard library only, so the local infrastructure's script (infra/devstack.py) uses it as
well as the service launcher (infra/launcher.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
Process = subprocess.Popen[bytes]


def python_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment with the repository's packages importable, then ``extra``."""
    pythonpath = f"{ROOT}{os.pathsep}{ROOT / 'services'}"
    return {**os.environ, "PYTHONPATH": pythonpath, **(extra or {})}


def python_module(module: str, *args: str) -> list[str]:
    """The command line that runs ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def spawn(
    argv: list[str],
    log: Path,
    env: Mapping[str, str] | None = None,
    *,
    append: bool = True,
    cwd: Path = ROOT,
) -> Process:
    """Start ``argv`` detached: in a session (process group) of its own, no stdin, its output
    in ``log`` (appended to, or a fresh file); ``env`` None inherits this one's."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab" if append else "wb") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill(proc: Process) -> None:
    """``kill -9`` the process's group: no shutdown, no commit, no goodbye."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def stop(procs: Mapping[str, Process], timeout_s: float = 30) -> dict[str, float]:
    """SIGTERM every live process group at once, SIGKILL those still there ``timeout_s``
    later; how long each took to end, counted from the SIGTERM."""
    began = time.monotonic()
    live = {name: proc for name, proc in procs.items() if proc.poll() is None}
    for proc in live.values():
        os.killpg(proc.pid, signal.SIGTERM)
    took: dict[str, float] = {}
    for name, proc in live.items():
        try:
            proc.wait(timeout=max(timeout_s - (time.monotonic() - began), 0.1))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        took[name] = time.monotonic() - began
    return took
