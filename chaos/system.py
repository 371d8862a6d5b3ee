"""The whole system as real processes, with handles to kill, restart and add instances.

A ``Fleet`` of infra.launcher (free ports, the run's own topic and database prefixes,
local adapters, each instance its own process group, so ``kill`` is a real ``kill -9``
and ``start`` again a cold start, as a crash and a supervisor would do), on the broker
and the store the run names (maybe through the latency proxy), with the matrix's fast
recovery settings.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from infra.launcher import SERVICES, Fleet, ServiceProcess, isolated_env, readiness
from shared.settings import KafkaSettings, MongoSettings
from shared.testing import free_port

__all__ = ["SERVICES", "System"]


class System(Fleet):
    """The four services (and extra instances) of one chaos run."""

    def __init__(
        self,
        work: Path,
        kafka: KafkaSettings,
        mongo: MongoSettings,  # what the services use (maybe through the latency proxy)
        smtp_port: int,
        extra_env: dict[str, str],
    ) -> None:
        env = {
            **isolated_env(kafka, mongo, work, smtp_port),
            "LT_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "LT_MONGO_URI": mongo.uri,
            "LT_TELEMETRY_LOG_LEVEL": "INFO",
            **extra_env,
        }
        super().__init__(work, env, ready_timeout_s=180, stop_timeout_s=45)
        self.kafka, self.mongo = kafka, mongo

    def instance(self, service: str, name: str | None = None) -> ServiceProcess:
        """A process of ``service`` on a free port (named ``name`` for a second one)."""
        return self.add(service, free_port(), name=name)

    def url(self, name: str) -> str:
        return self[name].url

    async def readiness(self, client: httpx.AsyncClient, name: str) -> tuple[int, str]:
        """The instance's /readyz status code and status word (0 when it does not answer)."""
        return await readiness(client, self[name].url)
