"""The whole system as processes for a benchmark run, started as ``make run`` starts it.

The four services and an SMTP sink run as their own processes on free ports, with a
topic prefix and a database prefix of their own, so a run coexists with other people's
tests on the shared broker and store. Everything started here is stopped here, and the
run's topics and databases are removed afterwards.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from shared.kafka.admin import ensure_topics
from shared.settings import KafkaSettings, MongoSettings
from shared.testing import drop_isolated, free_port, isolated_settings

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("intake", "routing", "notification", "audit")


@dataclass
class Platform:
    """A running system: its URLs, settings and the processes to watch."""

    urls: dict[str, str]
    kafka: KafkaSettings
    mongo: MongoSettings
    logs: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def pids(self) -> dict[str, int]:
        """Every process whose CPU and memory the run reports, by name.

        The broker and the store are found by the port they listen on; they are shared
        with whatever else uses this machine's stack, so their figures include that load.
        """
        found = {name: proc.pid for name, proc in self.procs.items() if proc.poll() is None}
        found["bench"] = os.getpid()
        for name, port in (
            ("kafka", _port(self.kafka.bootstrap_servers)),
            ("store", _port(self.mongo.uri.split("//", 1)[1].split("/", 1)[0])),
        ):
            pid = _listening_pid(port)
            if pid is not None:
                found[name] = pid
        return found

    def group_ids(self) -> dict[str, str]:
        """Each service's consumer group (its topic prefix and name)."""
        return {service: f"{self.kafka.topic_prefix}{service}" for service in SERVICES}


def _port(address: str) -> int:
    return int(address.split(",")[0].rsplit(":", 1)[1].split("/")[0].split("?")[0])


def _listening_pid(port: int) -> int | None:
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            return int(conn.pid)
    return None


def service_env(
    kafka: KafkaSettings, mongo: MongoSettings, ports: dict[str, int], work: Path, smtp_port: int
) -> dict[str, str]:
    """The environment every service process gets: isolation, ports, local adapters."""
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'services'}",
        "LT_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "LT_KAFKA_CLIENT_ID": kafka.client_id,
        "LT_MONGO_DATABASE_PREFIX": mongo.database_prefix,
        "LT_NOTIFICATION_SMTP_PORT": str(smtp_port),
        "LT_NOTIFICATION_SMS_FILE": str(work / "sms.log"),
        "LT_AUDIT_SIGNING_KEY_PATH": str(work / "audit-key.pem"),
        "LT_TELEMETRY_LOG_LEVEL": "WARNING",
        **{f"LT_{service.upper()}_PORT": str(port) for service, port in ports.items()},
    }


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def _wait_ready(platform: Platform, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    waiting = set(platform.urls)
    async with httpx.AsyncClient(timeout=2) as client:
        while waiting:
            for service in sorted(waiting):
                if platform.procs[service].poll() is not None:
                    raise RuntimeError(f"{service} exited; see {platform.logs / service}.log")
                try:
                    if (await client.get(f"{platform.urls[service]}/readyz")).status_code == 200:
                        waiting.discard(service)
                except httpx.TransportError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {timeout:.0f}s: {sorted(waiting)}")
            await asyncio.sleep(0.3)


def _stop(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@asynccontextmanager
async def running_platform(
    work: Path, extra_env: dict[str, str] | None = None, ready_timeout: float = 120
) -> AsyncIterator[Platform]:
    """Start the SMTP sink and the four services; stop them and drop the run's data after.

    Like the test suite, the run uses the local broker's plaintext listener (the settings
    default to SASL), unless ``LT_KAFKA_SECURITY_PROTOCOL`` says otherwise.
    """
    os.environ.setdefault("LT_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    kafka, mongo = isolated_settings()
    kafka = kafka.model_copy(update={"topic_prefix": f"bench-{kafka.topic_prefix}"})
    mongo = mongo.model_copy(update={"database_prefix": f"bench_{mongo.database_prefix}"})
    await asyncio.to_thread(work.mkdir, parents=True, exist_ok=True)
    await ensure_topics(kafka)
    ports = {service: free_port() for service in SERVICES}
    smtp_port = free_port()
    env = service_env(kafka, mongo, ports, work, smtp_port) | (extra_env or {})
    platform = Platform(
        urls={s: f"http://127.0.0.1:{p}" for s, p in ports.items()},
        kafka=kafka,
        mongo=mongo,
        logs=work,
    )
    try:
        platform.procs["mail"] = _spawn(
            [
                sys.executable,
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                f"127.0.0.1:{smtp_port}",
                "-c",
                "aiosmtpd.handlers.Sink",
            ],
            env,
            work / "mail.log",
        )
        for service in SERVICES:
            platform.procs[service] = _spawn(
                [sys.executable, "-m", f"{service}.main"], env, work / f"{service}.log"
            )
        await _wait_ready(platform, ready_timeout)
        yield platform
    finally:
        await asyncio.to_thread(_stop, platform.procs)
        await drop_isolated(kafka, mongo)
