"""The whole system as processes for a benchmark run, started as ``make run`` starts it.

The four services and an SMTP sink run as their own processes on free ports, with a
topic prefix and a database prefix of their own, so a run coexists with other people's
tests on the shared broker and store. Everything started here is stopped here, and the
run's topics and databases are removed afterwards.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from chaos.servers import PrivateInfra
from infra.launcher import SERVICES, Fleet, isolated_fleet
from infra.processes import Process, python_env, python_module, spawn, stop
from shared.catalogue.loading import load_catalogue
from shared.kafka.admin import ensure_topics
from shared.settings import KafkaSettings, MongoSettings
from shared.testing import drop_isolated, free_port, isolated_settings
from shared.topics import ALL_TOPICS, TopicSpec, agency_events

__all__ = ["SERVICES", "Platform", "running_platform"]


@dataclass
class Platform:
    """A running system: its URLs, settings and the processes to watch."""

    urls: dict[str, str]
    kafka: KafkaSettings
    mongo: MongoSettings
    logs: Path
    fleet: Fleet
    mail: Process | None = None

    def pids(self) -> dict[str, int]:
        """Every process whose CPU and memory the run reports, by name.

        The broker and the store are found by the port they listen on; they are shared
        with whatever else uses this machine's stack, so their figures include that load.
        """
        found = self.fleet.pids()
        if self.mail is not None and self.mail.poll() is None:
            found["mail"] = self.mail.pid
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


@asynccontextmanager
async def running_platform(
    work: Path,
    extra_env: dict[str, str] | None = None,
    ready_timeout: float = 120,
    private_store: bool = False,
) -> AsyncIterator[Platform]:
    """Start the SMTP sink and the four services; stop them and drop the run's data after.

    Like the test suite, the run uses the local broker's plaintext listener (the settings
    default to SASL), unless ``LT_KAFKA_SECURITY_PROTOCOL`` says otherwise.
    """
    os.environ.setdefault("LT_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    kafka, mongo = isolated_settings()
    kafka = kafka.model_copy(update={"topic_prefix": f"bench-{kafka.topic_prefix}"})
    mongo = mongo.model_copy(update={"database_prefix": f"bench_{mongo.database_prefix}"})
    async with (
        own_store(work, mongo, private_store) as store,
        _platform(work, kafka, store, extra_env, ready_timeout) as platform,
    ):
        yield platform


@asynccontextmanager
async def own_store(
    work: Path, mongo: MongoSettings, private: bool
) -> AsyncIterator[MongoSettings]:
    """The store the run uses: a fresh one of its own (stopped after), or the shared one.

    A store of its own makes the store's CPU the run's alone (the shared one also serves
    whatever tests run beside it) and starts every run from the same empty state."""
    if not private:
        yield mongo
        return
    data = work / "infra"
    store = PrivateInfra("store", data)
    print(f"[bench] starting a store of its own on port {store.port}", flush=True)
    await store.start()
    try:
        yield mongo.model_copy(
            update={"uri": f"mongodb://127.0.0.1:{store.port}/?directConnection=true"}
        )
    finally:
        await store.stop()
        await asyncio.to_thread(shutil.rmtree, data, True)  # its log files are preallocated


def feeds() -> tuple[TopicSpec, ...]:
    """Every unit's agency feed. The services make them only on an authenticating broker
    (``ensure_agency_topics``); the run makes them on its plaintext one, so the relay
    copies each fact to its audience's feeds as in a deployment, and the run's figures
    include that work. They go with the run's other topics."""
    return tuple(agency_events(unit.code) for unit in load_catalogue().units)


@asynccontextmanager
async def _platform(
    work: Path,
    kafka: KafkaSettings,
    mongo: MongoSettings,
    extra_env: dict[str, str] | None,
    ready_timeout: float,
) -> AsyncIterator[Platform]:
    await asyncio.to_thread(work.mkdir, parents=True, exist_ok=True)
    await ensure_topics(kafka, (*ALL_TOPICS, *feeds()))
    smtp_port = free_port()
    # The services use the run's store (its own, or the shared one).
    env = {"LT_TELEMETRY_LOG_LEVEL": "WARNING", "LT_MONGO_URI": mongo.uri, **(extra_env or {})}
    fleet = isolated_fleet(kafka, mongo, work, smtp_port, env=env, ready_timeout_s=ready_timeout)
    mail = spawn(
        python_module(
            "aiosmtpd", "-n", "-l", f"127.0.0.1:{smtp_port}", "-c", "aiosmtpd.handlers.Sink"
        ),
        work / "mail.log",
        python_env(),
        append=False,
    )
    try:
        async with fleet.running():
            yield Platform(fleet.urls(), kafka, mongo, work, fleet, mail)
    finally:
        await asyncio.to_thread(stop, {"mail": mail})
        await drop_isolated(kafka, mongo)
