"""The launcher (infra/launcher.py): what a service process starts with, how it is stopped.

Real child processes (small Python one-liners), no servers: a stop is SIGTERM then
SIGKILL after the bound, a kill is SIGKILL, and waiting for readiness fails at once
when the process has exited.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from infra.launcher import Fleet
from infra.processes import ROOT, Process, kill, spawn, stop

IGNORES_SIGTERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('up', flush=True); time.sleep(60)"
)
SLEEPS = "import time; print('up', flush=True); time.sleep(60)"


def running(code: str, log: Path) -> Process:
    """A child running ``code`` that has printed ``up`` (so its signal handlers are set)."""
    proc = spawn([sys.executable, "-c", code], log)
    deadline = time.monotonic() + 20
    while "up" not in log.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.02)  # polls the child's output, bounded by the deadline
    return proc


def test_a_member_starts_with_every_services_port_the_fleet_settings_then_its_own(
    tmp_path: Path,
) -> None:
    fleet = Fleet(tmp_path, {"LT_SHARED": "fleet", "LT_OWN": "fleet"})
    fleet.add("intake", 7001)
    fleet.add("routing", 7002)
    twin = fleet.add("routing", 7003, name="routing-2", env={"LT_OWN": "twin"})

    env = fleet.environment(twin)

    assert (env["LT_INTAKE_PORT"], env["LT_ROUTING_PORT"]) == ("7001", "7003")
    assert (env["LT_SHARED"], env["LT_OWN"]) == ("fleet", "twin")
    assert env["PYTHONPATH"].split(":") == [str(ROOT), str(ROOT / "services")]
    assert fleet.environment(fleet["routing"])["LT_ROUTING_PORT"] == "7002"
    assert fleet.urls()["routing-2"] == "http://127.0.0.1:7003"


def test_a_fleet_keeps_store_connections_few_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LT_MONGO_MAX_POOL_SIZE", raising=False)
    fleet = Fleet(tmp_path)
    member = fleet.add("intake", 7001)
    assert fleet.environment(member)["LT_MONGO_MAX_POOL_SIZE"] == "8"
    monkeypatch.setenv("LT_MONGO_MAX_POOL_SIZE", "50")  # the caller's environment wins
    assert fleet.environment(member)["LT_MONGO_MAX_POOL_SIZE"] == "50"


def test_stop_asks_first_then_kills_what_ignores_the_request(tmp_path: Path) -> None:
    polite = running(SLEEPS, tmp_path / "polite.log")
    stubborn = running(IGNORES_SIGTERM, tmp_path / "stubborn.log")

    took = stop({"polite": polite, "stubborn": stubborn}, timeout_s=1)

    assert polite.returncode == -signal.SIGTERM
    assert stubborn.returncode == -signal.SIGKILL
    assert took["polite"] < 1 <= took["stubborn"]


def test_kill_is_a_kill_9(tmp_path: Path) -> None:
    proc = running(IGNORES_SIGTERM, tmp_path / "child.log")
    kill(proc)
    assert proc.returncode == -signal.SIGKILL


async def test_waiting_for_a_process_that_exited_fails_with_its_log(tmp_path: Path) -> None:
    fleet = Fleet(tmp_path, ready_timeout_s=60)
    fleet.add("no_such_service", 7009)
    fleet.start("no_such_service")

    with pytest.raises(RuntimeError) as failed:
        await fleet.wait_ready()
    assert str(failed.value) == f"no_such_service exited; see {tmp_path / 'no_such_service.log'}"
    assert "No module named" in fleet.log("no_such_service").read_text()
