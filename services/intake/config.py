"""Settings of the intake service, composed from the shared settings classes."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.runtime import CommonSettings
from shared.settings import HttpSettings


class IntakeHttp(HttpSettings):
    """Where the intake API listens (LT_INTAKE_HOST, LT_INTAKE_PORT)."""

    model_config = SettingsConfigDict(env_prefix="LT_INTAKE_", extra="ignore")

    port: int = Field(8001, description="Bind port of the intake API.")


class IntakeSettings(CommonSettings):
    """Everything the intake service reads from the environment."""

    http: IntakeHttp = Field(default_factory=IntakeHttp, description="HTTP API.")
