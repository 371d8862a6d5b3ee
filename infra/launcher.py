"""Services as real processes: start one with its environment, stop, kill or restart it, and
wait until it answers ready.

The one launcher behind ``make run`` (infra/run.py), the benchmark (bench/platform.py), the
fault matrix (chaos/system.py) and the system tests (tests/system/, and the audit tests'
witnesses). A service runs as ``python -m <service>.main`` in a process group of its own
(infra/processes.py), so a stop or a ``kill -9`` reaches all of it, with the repository
importable, the ports of its fleet's services, the caller's settings and its output in a
log file. What each caller adds (supervision and
Ctrl-C for ``make run``, second instances and kills for the matrix, CPU and memory for the
benchmark) stays with the caller.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.request
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from infra.processes import Process, kill, python_env, python_module, spawn, stop
from shared.keyfile import load_or_create_ed25519_key
from shared.settings import KafkaSettings, MongoSettings
from shared.transparency.note import COSIGNATURE_V1, Signer

SERVICES = ("intake", "routing", "notification", "audit")


def isolated_env(
    kafka: KafkaSettings, mongo: MongoSettings, work: Path, smtp_port: int
) -> dict[str, str]:
    """Settings of a platform that shares the broker and the store with others: its own
    topic and database prefixes; its SMTP sink, and its SMS file and audit key under
    ``work``."""
    return {
        "LT_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "LT_KAFKA_CLIENT_ID": kafka.client_id,
        "LT_MONGO_DATABASE_PREFIX": mongo.database_prefix,
        "LT_NOTIFICATION_SMTP_PORT": str(smtp_port),
        "LT_NOTIFICATION_SMS_PROVIDER": "file",  # local runs: SMS written to a file
        "LT_NOTIFICATION_SMS_FILE": str(work / "sms.log"),
        "LT_AUDIT_SIGNING_KEY_PATH": str(work / "audit-key.pem"),
    }


def isolated_fleet(
    kafka: KafkaSettings,
    mongo: MongoSettings,
    work: Path,
    smtp_port: int,
    *,
    services: Iterable[str] = SERVICES,
    env: Mapping[str, str] | None = None,
    ready_timeout_s: float = 120,
    stop_timeout_s: float = 30,
) -> Fleet:
    """A platform beside other people's runs on the shared broker and store (``isolated_env``
    plus ``env``): each service on a free port, its log written afresh under ``work``."""
    from shared.testing import free_port  # benchmark and test runs only, never make run

    settings = {**isolated_env(kafka, mongo, work, smtp_port), **(env or {})}
    fleet = Fleet(
        work,
        settings,
        append_logs=False,
        ready_timeout_s=ready_timeout_s,
        stop_timeout_s=stop_timeout_s,
    )
    for service in services:
        fleet.add(service, free_port())
    return fleet


def witness_env(name: str, home: Path, port: int, log_vkey: str) -> dict[str, str]:
    """A witness's own settings: its name, its key and state file under ``home``, its port,
    and the audit log it cosigns."""
    return {
        "LT_WITNESS_NAME": name,
        "LT_WITNESS_KEY_PATH": str(home / "key.pem"),
        "LT_WITNESS_STATE_PATH": str(home / "state.json"),
        "LT_WITNESS_PORT": str(port),
        "LT_WITNESS_LOG_VKEYS": json.dumps([log_vkey]),
    }


def witness_vkey(env: Mapping[str, str]) -> str:
    """The vkey of the witness ``witness_env`` describes (its key file is created now if
    absent, so the audit service can pin it before the witness starts)."""
    key = load_or_create_ed25519_key(Path(env["LT_WITNESS_KEY_PATH"]))
    return Signer(env["LT_WITNESS_NAME"], key, COSIGNATURE_V1).verifier.vkey()


async def readiness(client: httpx.AsyncClient, url: str, timeout: float = 8) -> tuple[int, str]:
    """``url``'s ``/readyz`` status code and status word (0 and "down" when it does not
    answer)."""
    try:
        response = await client.get(f"{url}/readyz", timeout=timeout)
    except httpx.HTTPError:
        return 0, "down"
    try:
        return response.status_code, str(response.json().get("status"))
    except ValueError:
        return response.status_code, "?"


@dataclass
class ServiceProcess:
    """One process of a service; a second instance of a service has a name of its own."""

    name: str
    service: str  # it runs ``python -m <service>.main``
    port: int
    env: dict[str, str] = field(default_factory=dict)  # its own settings, over the fleet's
    proc: Process | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


ONE_MACHINE = {
    # A fleet shares its machine with the store: more connections cost the store more CPU
    # per command (a transaction 0.37-0.41 ms over 4 connections, 0.52-0.63 ms over 64),
    # and at 12 journeys/s on two cores 8 per service took 8 % off the store's CPU per
    # journey (README, "Benchmarks"). Settings of the environment win.
    "LT_MONGO_MAX_POOL_SIZE": "8",
}


class Fleet:
    """The service processes of one platform, by name, started with the fleet's settings."""

    def __init__(
        self,
        logs: Path,
        env: Mapping[str, str] | None = None,
        *,
        append_logs: bool = True,
        ready_timeout_s: float = 120,
        stop_timeout_s: float = 30,
    ) -> None:
        self.logs = logs
        self.env = dict(env or {})
        self.append_logs = append_logs
        self.ready_timeout_s = ready_timeout_s  # how long a start may take to be ready
        self.stop_timeout_s = stop_timeout_s  # a graceful stop's bound, then SIGKILL
        self.members: dict[str, ServiceProcess] = {}

    def add(
        self,
        service: str,
        port: int,
        *,
        name: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ServiceProcess:
        """A process of ``service`` on ``port``, not started yet."""
        member = ServiceProcess(name or service, service, port, dict(env or {}))
        self.members[member.name] = member
        return member

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.members[name]

    def urls(self) -> dict[str, str]:
        return {name: member.url for name, member in self.members.items()}

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def environment(self, member: ServiceProcess) -> dict[str, str]:
        """What a member starts with: the repository importable, the port of every service
        (its own for its service), the fleet's settings, then its own."""
        ports = {m.service: m.port for m in self.members.values() if m.name == m.service}
        ports[member.service] = member.port
        port_env = {f"LT_{s.upper()}_PORT": str(port) for s, port in ports.items()}
        unset = {name: value for name, value in ONE_MACHINE.items() if name not in os.environ}
        return python_env({**unset, **port_env, **self.env, **member.env})

    def start(self, name: str) -> Process:
        """Start (or start again, cold) the named process."""
        member = self.members[name]
        member.proc = spawn(
            python_module(f"{member.service}.main"),
            self.log(name),
            self.environment(member),
            append=self.append_logs,
        )
        member.starts += 1
        return member.proc

    def kill(self, name: str) -> None:
        """``kill -9`` the named process, as a crash would."""
        proc = self.members[name].proc
        if proc is not None:
            kill(proc)

    def terminate(self, name: str) -> float:
        """SIGTERM the named process and wait; how long its graceful stop took."""
        proc = self.members[name].proc
        return 0.0 if proc is None else stop({name: proc}, self.stop_timeout_s).get(name, 0.0)

    def stop_all(self) -> dict[str, float]:
        """Stop every process gracefully, all at once; how long each took."""
        procs = {n: m.proc for n, m in self.members.items() if m.proc is not None}
        return stop(procs, self.stop_timeout_s)

    def pids(self) -> dict[str, int]:
        """The running processes' ids, by name."""
        return {n: m.proc.pid for n, m in self.members.items() if m.proc and m.alive()}

    def ready(self, name: str) -> bool:
        """Whether the named process answers ``/readyz`` with 200 now (blocking, 2 s at most)."""
        try:
            with urllib.request.urlopen(f"{self.members[name].url}/readyz", timeout=2) as reply:
                return bool(reply.status == 200)
        except OSError:
            return False

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Fleet]:
        """Start every member and wait until all are ready; stop them all on the way out."""
        try:
            for name in self.members:
                self.start(name)
            await self.wait_ready()
            yield self
        finally:
            await asyncio.to_thread(self.stop_all)

    async def wait_ready(self, names: Iterable[str] | None = None) -> float:
        """Until every named (by default every started) process answers ready; how long that
        took. A process that exits meanwhile fails the wait with its log's name."""
        began, timeout_s = time.monotonic(), self.ready_timeout_s
        started = [n for n, m in self.members.items() if m.proc is not None]
        waiting = set(started if names is None else names)
        async with httpx.AsyncClient() as client:
            while waiting:
                for name in sorted(waiting):
                    if not self.members[name].alive():
                        raise RuntimeError(f"{name} exited; see {self.log(name)}")
                    if (await readiness(client, self.members[name].url))[0] == 200:
                        waiting.discard(name)
                if time.monotonic() - began > timeout_s:
                    raise RuntimeError(f"not ready after {timeout_s:.0f}s: {sorted(waiting)}")
                if waiting:
                    await asyncio.sleep(0.3)
        return time.monotonic() - began
