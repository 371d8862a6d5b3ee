"""The whole system as real processes, with handles to kill, restart and add instances.

Built on bench.platform's environment (free ports, the run's own topic and database
prefixes, local adapters); each instance is its own process group, so ``kill`` is a
real ``kill -9`` and ``restart`` a cold start, as a crash and a supervisor would do.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.platform import service_env
from shared.settings import KafkaSettings, MongoSettings
from shared.testing import free_port

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("intake", "routing", "notification", "audit")


@dataclass
class Instance:
    """One running (or stopped) process of a service."""

    name: str
    service: str
    port: int
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class System:
    """The four services (and extra instances) of one chaos run."""

    work: Path
    kafka: KafkaSettings
    mongo: MongoSettings  # what the services use (maybe through the latency proxy)
    smtp_port: int
    extra_env: dict[str, str] = field(default_factory=dict)
    instances: dict[str, Instance] = field(default_factory=dict)

    def env(self, instance: Instance) -> dict[str, str]:
        ports = {s: self.instances[s].port for s in SERVICES if s in self.instances}
        ports[instance.service] = instance.port
        return {
            **service_env(self.kafka, self.mongo, ports, self.work, self.smtp_port),
            "LT_KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap_servers,
            "LT_MONGO_URI": self.mongo.uri,
            "LT_TELEMETRY_LOG_LEVEL": "INFO",
            **self.extra_env,
        }

    def url(self, service: str) -> str:
        return self.instances[service].url

    def add(self, service: str, name: str | None = None) -> Instance:
        instance = Instance(name or service, service, free_port())
        self.instances[instance.name] = instance
        return instance

    def start(self, name: str) -> None:
        instance = self.instances[name]
        log = (self.work / f"{name}.log").open("ab")
        instance.proc = subprocess.Popen(
            [sys.executable, "-m", f"{instance.service}.main"],
            cwd=ROOT,
            env=self.env(instance),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        instance.starts += 1

    def kill(self, name: str) -> None:
        """kill -9: no shutdown, no commit, no goodbye."""
        proc = self.instances[name].proc
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def terminate(self, name: str, timeout_s: float = 30) -> float:
        """SIGTERM and wait; returns how long the graceful stop took."""
        proc = self.instances[name].proc
        if proc is None or proc.poll() is not None:
            return 0.0
        began = time.monotonic()
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        return time.monotonic() - began

    def stop_all(self) -> dict[str, float]:
        """Stop every instance gracefully, all at once; how long each took."""
        began = time.monotonic()
        live = {n: i.proc for n, i in self.instances.items() if i.alive() and i.proc}
        for proc in live.values():
            os.killpg(proc.pid, signal.SIGTERM)
        took: dict[str, float] = {}
        for name, proc in live.items():
            try:
                proc.wait(timeout=max(45 - (time.monotonic() - began), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            took[name] = time.monotonic() - began
        return took

    async def readiness(self, client: httpx.AsyncClient, name: str) -> tuple[int, str]:
        """The instance's /readyz status code and status word (0 when it does not answer)."""
        try:
            response = await client.get(f"{self.instances[name].url}/readyz", timeout=8)
        except httpx.HTTPError:
            return 0, "down"
        return response.status_code, str(response.json().get("status"))

    async def wait_ready(self, names: list[str] | None = None, timeout_s: float = 180) -> float:
        """Until every named instance answers ready; returns how long that took."""
        began = time.monotonic()
        waiting = set(names or [n for n, i in self.instances.items() if i.proc is not None])
        async with httpx.AsyncClient() as client:
            while waiting:
                for name in sorted(waiting):
                    if not self.instances[name].alive():
                        log = self.work / f"{name}.log"
                        raise RuntimeError(f"{name} exited; see {log}")
                    if (await self.readiness(client, name))[0] == 200:
                        waiting.discard(name)
                if time.monotonic() - began > timeout_s:
                    raise RuntimeError(f"not ready after {timeout_s:.0f}s: {sorted(waiting)}")
                if waiting:
                    await asyncio.sleep(0.3)
        return time.monotonic() - began
