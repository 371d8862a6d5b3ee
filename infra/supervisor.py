"""Keeps the processes ``make run`` started running, as compose's restart policy would.

A process that exits on its own is started again after a backoff that doubles with
each quick crash (1 s, 2 s, 4 s ... at most 30 s) and resets once it has stayed up a
minute; the console says what happened and when it restarts. A process that exits with
``SETTINGS_EXIT`` (78: its settings were refused) is not restarted: the same settings
would be refused again; it is ``given_up`` and the console says why. Stopping is
otherwise the supervisor's own decision only: ``stop_all`` ends every process it keeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from infra.processes import Process, stop
from shared.settings_env import SETTINGS_EXIT

Start = Callable[[], Process]
Say = Callable[[str], None]


@dataclass
class Backoff:
    """Delay before the next restart: doubles per quick crash, resets after a stable run."""

    initial_s: float = 1.0
    max_s: float = 30.0
    stable_s: float = 60.0
    _next_s: float = field(init=False, default=0.0)

    def after_exit(self, ran_for_s: float) -> float:
        if ran_for_s >= self.stable_s or self._next_s == 0.0:
            self._next_s = self.initial_s
        else:
            self._next_s = min(self._next_s * 2, self.max_s)
        return self._next_s


@dataclass
class Kept:
    """One supervised process and its restart history."""

    name: str
    start: Start
    backoff: Backoff
    proc: Process | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    restarts: int = 0
    given_up: bool = False


class Supervisor:
    """Starts processes, restarts those that exit, stops them all on request."""

    def __init__(self, say: Say, clock: Callable[[], float] = time.monotonic) -> None:
        self._say = say
        self._clock = clock
        self._kept: dict[str, Kept] = {}

    def start(self, name: str, start: Start, backoff: Backoff | None = None) -> None:
        kept = Kept(name, start, backoff or Backoff())
        self._kept[name] = kept
        self._launch(kept)

    def running(self, name: str) -> bool:
        proc = self._kept[name].proc
        return proc is not None and proc.poll() is None

    def restarts(self, name: str) -> int:
        return self._kept[name].restarts

    def given_up(self) -> list[str]:
        """The processes that exited with refused settings and are not restarted."""
        return [kept.name for kept in self._kept.values() if kept.given_up]

    def check(self) -> None:
        """Notice exits and restart what is due; call it about twice a second."""
        now = self._clock()
        for kept in self._kept.values():
            if kept.restart_at is not None:
                if now >= kept.restart_at:
                    kept.restarts += 1
                    self._say(f"{kept.name} restarting (restart #{kept.restarts})")
                    self._launch(kept)
                continue
            code = kept.proc.poll() if kept.proc is not None else None
            if code is None or kept.given_up:
                continue
            if code == SETTINGS_EXIT:
                kept.given_up = True
                self._say(f"{kept.name} refused its settings (see its log); not restarting")
                continue
            delay = kept.backoff.after_exit(now - kept.started_at)
            kept.restart_at = now + delay
            self._say(f"{kept.name} exited with code {code}; restarting in {delay:.0f} s")

    def _launch(self, kept: Kept) -> None:
        kept.proc = kept.start()
        kept.started_at = self._clock()
        kept.restart_at = None

    def stop_all(self, timeout_s: float = 30) -> None:
        """SIGTERM every process group, then SIGKILL what is still there after the timeout."""
        for kept in self._kept.values():
            kept.restart_at = None
        stop({k.name: k.proc for k in self._kept.values() if k.proc is not None}, timeout_s)
