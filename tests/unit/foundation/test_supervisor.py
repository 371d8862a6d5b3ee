"""make run's supervisor: a crashed process is restarted with backoff and the console says so."""

from __future__ import annotations

import subprocess
import sys

from infra.supervisor import Backoff, Supervisor
from shared.settings_env import SETTINGS_EXIT


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def crashing() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"], start_new_session=True)


def refusing_its_settings() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", f"raise SystemExit({SETTINGS_EXIT})"], start_new_session=True
    )


def lasting() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )


def test_backoff_doubles_for_quick_crashes_and_resets_after_a_stable_run() -> None:
    backoff = Backoff(initial_s=1, max_s=8, stable_s=60)
    assert [backoff.after_exit(2) for _ in range(5)] == [1, 2, 4, 8, 8]
    assert backoff.after_exit(61) == 1


def test_a_crashed_process_is_restarted_after_its_backoff_and_announced() -> None:
    said: list[str] = []
    clock = Clock()
    supervisor = Supervisor(said.append, clock)
    supervisor.start("routing", crashing, Backoff(initial_s=2))
    supervisor._kept["routing"].proc.wait(timeout=30)  # type: ignore[union-attr]

    supervisor.check()
    assert said == ["routing exited with code 3; restarting in 2 s"]
    clock.now += 1
    supervisor.check()
    assert supervisor.restarts("routing") == 0  # not yet: the backoff is 2 s
    clock.now += 1.5
    supervisor.check()
    assert supervisor.restarts("routing") == 1
    assert said[-1] == "routing restarting (restart #1)"
    supervisor.stop_all(timeout_s=5)


def test_stop_all_ends_every_process_it_keeps() -> None:
    supervisor = Supervisor(lambda _: None)
    supervisor.start("intake", lasting)
    supervisor.start("audit", lasting)
    assert supervisor.running("intake") and supervisor.running("audit")
    supervisor.stop_all(timeout_s=10)
    assert not supervisor.running("intake") and not supervisor.running("audit")


def test_a_process_whose_settings_were_refused_is_not_restarted() -> None:
    """The same settings would be refused again: restarting would only loop."""
    said: list[str] = []
    clock = Clock()
    supervisor = Supervisor(said.append, clock)
    supervisor.start("routing", refusing_its_settings, Backoff(initial_s=1))
    supervisor._kept["routing"].proc.wait(timeout=30)  # type: ignore[union-attr]
    supervisor.check()
    clock.now += 60
    supervisor.check()
    assert supervisor.restarts("routing") == 0
    assert supervisor.given_up() == ["routing"]
    assert said == ["routing refused its settings (see its log); not restarting"]
    supervisor.stop_all(timeout_s=5)
