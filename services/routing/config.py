"""Settings of the routing service, composed from the shared settings classes."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.runtime import CommonSettings
from shared.settings import HttpSettings


class RoutingHttp(HttpSettings):
    """Where the routing API listens (LT_ROUTING_HOST, LT_ROUTING_PORT)."""

    model_config = SettingsConfigDict(env_prefix="LT_ROUTING_", extra="ignore")

    port: int = Field(8002, description="Bind port of the routing API.")


class RoutingSettings(CommonSettings):
    """Everything the routing service reads from the environment."""

    http: RoutingHttp = Field(default_factory=RoutingHttp, description="HTTP API.")
